/**
 * `tokenworks observe` with GPU samples and a store, end to end on an emulated run: the GPU mean power it reports
 * equals a hand computation over the scrape files (parsed here with the exposition parser and averaged per GPU,
 * then over GPUs); a second observe into the same store reads nothing twice; a followed log that grows while it is
 * observed ends with every line in the store.
 */
import { appendFile, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { GPU_KPI_FIELDS } from '../src/telemetry/gpu-kpis.js';
import { parsePrometheusText } from '../src/telemetry/prometheus-text.js';
import { run } from './run-cli.js';
import { emulateObservedRun } from './support/observed-run.js';

let dir: string;
let dcgm: string[];

beforeAll(async () => {
  const files = await emulateObservedRun();
  dir = files.dir;
  dcgm = files.dcgm;
}, 60_000);

describe('observe with GPU samples and a store', () => {
  it('reports the GPUs’ mean power the scrape files hold, and holds it against the plan', async () => {
    const result = await run(
      'observe',
      join(dir, 'spec.yaml'),
      '--log',
      join(dir, 'run', 'training.log'),
      '--dcgm',
      ...dcgm,
      '--replicas',
      '0',
      '--json',
    );
    expect(result.code, result.stderr).toBe(0);
    const out = JSON.parse(result.stdout);
    // Hand computation: every POWER_USAGE sample of every file, averaged per GPU (UUID), then over the GPUs.
    const perGpu = new Map<string, number[]>();
    for (const file of dcgm) {
      for (const sample of parsePrometheusText(await readFile(file, 'utf8')).samples) {
        if (sample.name !== 'DCGM_FI_DEV_POWER_USAGE') continue;
        const key = `${sample.labels.Hostname}/${sample.labels.UUID}`;
        perGpu.set(key, [...(perGpu.get(key) ?? []), sample.value]);
      }
    }
    const means = [...perGpu.values()].map((v) => v.reduce((a, b) => a + b, 0) / v.length);
    const expected = means.reduce((a, b) => a + b, 0) / means.length;
    expect(perGpu.size).toBe(16);
    expect(out.gpu.kpis.counts.gpus).toBe(16);
    expect(out.gpu.kpis.power.meanPerGpuW).toBeCloseTo(expected, 9);
    const power = out.planVersusActual.find((c: { metric: string }) => c.metric === 'gpuPowerW');
    expect(power.actual).toBeCloseTo(expected, 9);
    expect(power.status).toBe('within');
    expect(out.inputs.skippedGpuSamples).toBe(0);
  });

  it('reads nothing twice when observing into the same store again', async () => {
    const args = [
      'observe',
      join(dir, 'spec.yaml'),
      '--log',
      join(dir, 'run', 'training.log'),
      '--dcgm',
      ...dcgm,
      '--store',
      join(dir, 'store.duckdb'),
      '--replicas',
      '0',
      '--json',
    ];
    const first = JSON.parse((await run(...args)).stdout);
    const again = await run(...args);
    expect(again.code, again.stderr).toBe(0);
    const second = JSON.parse(again.stdout);
    const lines = (await readFile(join(dir, 'run', 'training.log'), 'utf8')).trimEnd().split('\n').length;
    expect(first.kpis.run.points).toBe(lines);
    expect(second.kpis.run.points).toBe(lines);
    expect(second.gpu.kpis.counts.samples).toBe(first.gpu.kpis.counts.samples);
  });

  it('follows a log that grows while it is observed, until it stays idle', async () => {
    const lines = (await readFile(join(dir, 'run', 'training.log'), 'utf8')).trimEnd().split('\n').slice(0, 600);
    const path = join(dir, 'growing.log');
    await writeFile(path, `${lines.slice(0, 200).join('\n')}\n`);
    const observing = run(
      'observe',
      join(dir, 'spec.yaml'),
      '--log',
      path,
      '--follow',
      '--interval',
      '1',
      '--idle-exit',
      '2',
      '--replicas',
      '0',
      '--json',
    );
    // Two more chunks while it follows, the last one ending mid-line and then completed.
    await new Promise((resolve) => setTimeout(resolve, 400));
    await appendFile(path, `${lines.slice(200, 400).join('\n')}\n`);
    await new Promise((resolve) => setTimeout(resolve, 400));
    const rest = `${lines.slice(400).join('\n')}\n`;
    await appendFile(path, rest.slice(0, 100));
    await new Promise((resolve) => setTimeout(resolve, 300));
    await appendFile(path, rest.slice(100));
    const result = await observing;
    expect(result.code, result.stderr).toBe(0);
    expect(result.stderr).toMatch(/following stops/);
    expect(JSON.parse(result.stdout).kpis.run.points).toBe(600);
  }, 30_000);

  it('scrapes a dcgm endpoint at an interval while it follows', async () => {
    const { createServer } = await import('node:http');
    const body = await readFile(dcgm[0] as string, 'utf8');
    // One scrape's samples of the first file (those with its first time stamp), without their stamps: each scrape
    // is stamped when it is taken.
    const first = / (\d{13})$/.exec(body.split('\n').find((l) => l.startsWith('DCGM_FI_')) ?? '')?.[1] ?? '';
    const lines = body.split('\n').filter((l) => l.startsWith('#') || l.endsWith(` ${first}`));
    const text = `${lines.map((l) => l.replace(/ \d{13}$/, '')).join('\n')}\n`;
    let served = 0;
    const server = createServer((_, response) => {
      served += 1;
      response.end(text);
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const { port } = server.address() as { port: number };
    try {
      const result = await run(
        'observe',
        join(dir, 'spec.yaml'),
        '--log',
        join(dir, 'run', 'training.log'),
        '--dcgm',
        `http://127.0.0.1:${port}/metrics`,
        '--follow',
        '--scrape-interval',
        '0.3',
        '--idle-exit',
        '2',
        '--replicas',
        '0',
        '--json',
      );
      expect(result.code, result.stderr).toBe(0);
      const out = JSON.parse(result.stdout);
      const power = text.split('\n').filter((l) => l.startsWith('DCGM_FI_DEV_POWER_USAGE{')).length;
      expect(power).toBe(8);
      expect(served).toBeGreaterThanOrEqual(3);
      // The endpoint's 8 GPUs, and every scrape served before the follow stopped stored (the last may have been
      // cut by the stop): at least (served − 1) power samples per GPU.
      expect(out.gpu.kpis.counts.gpus).toBe(8);
      const perScrape = text
        .split('\n')
        .filter((l) => l.includes('gpu="0"') && GPU_KPI_FIELDS.includes(l.split('{')[0] as string)).length;
      const samplesPerGpu = out.gpu.kpis.perGpu.map((g: { samples: number }) => g.samples);
      expect(perScrape).toBeGreaterThan(0);
      expect(Math.min(...samplesPerGpu)).toBeGreaterThanOrEqual((served - 1) * perScrape);
      expect(out.gpu.kpis.power.gpus).toBe(8);
    } finally {
      server.close();
    }
  }, 30_000);
});
