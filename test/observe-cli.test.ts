/**
 * `tokenworks observe` on hand-made logs: malformed lines are counted and named by file and line, never a crash;
 * bad flags are usage errors (exit 2) naming the flag, the value and what is valid.
 */
import { mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { run } from './run-cli.js';

const megatron = (iteration: number, ms: string, stamp: string) =>
  ` [${stamp}] iteration ${String(iteration).padStart(8)}/    1000 | consumed samples: ${iteration * 128} | elapsed time per iteration (ms): ${ms} | learning rate: 3.000000E-04 | global batch size:   128 | lm loss: 7.000000E+00 | loss scale: 1.0 |`;

describe('observe', () => {
  it('counts malformed lines, names their file and line, and reads the rest', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'tw-observe-'));
    const lines = [
      'INFO: starting',
      ...Array.from({ length: 40 }, (_, i) =>
        megatron(i + 1, '1140.0', `2026-01-01 00:00:${String(i).padStart(2, '0')}.000`),
      ),
    ];
    lines[11] = megatron(11, 'fast', '2026-01-01 00:00:10.000'); // line 12: a bad number
    lines[21] = ' [2026-01-01 00:00:20.000] iteration       21/'; // line 22: cut off
    const first = join(dir, 'segment-1.log');
    await writeFile(first, `${lines.join('\n')}\n`);
    const result = await run('observe', 'examples/gpt3-weekly-h100.yaml', '--log', first, '--replicas', '0', '--json');
    expect(result.code, result.stderr).toBe(0);
    expect(result.stderr).toContain('2 malformed lines skipped');
    expect(result.stderr).toContain(`${first}:12:`);
    const out = JSON.parse(result.stdout);
    expect(out.inputs.malformedLines).toBe(2);
    expect(out.inputs.malformed.map((m: { file: string; line: number }) => `${m.file}:${m.line}`)).toEqual([
      `${first}:12`,
      `${first}:22`,
    ]);
    expect(out.inputs.ignoredLines).toBe(1);
    // 38 good lines of 1.14 s: the median is 1.14 s, the gpt3 weekly case's.
    expect(out.kpis.run.timedPoints).toBe(38);
    expect(out.kpis.run.medianSeconds).toBeCloseTo(1.14, 12);
  });

  it('reads Megatron’s straggler lines and names the slowest rank as the likely cause of slow steps', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'tw-observe-'));
    const straggler = (i: number) =>
      ` 0: INFO:megatron.core.utils:[2026-01-01 00:00:${String(i).padStart(2, '0')}] | MnRtt/Rnk: 1000.00ms/2 | MxRtt/Rnk: ${i % 4 === 0 ? '1200.00ms/6' : '1300.00ms/5'} | MnPwr/Rnk: 601796W/8 | MxPwr/Rnk: 683801W/5 | MnClk/Rnk: 1950MHz/5 | MxClk/Rnk: 1980MHz/0`;
    const lines = Array.from({ length: 40 }, (_, i) => [
      megatron(i + 1, '1140.0', `2026-01-01 00:00:${String(i).padStart(2, '0')}.000`),
      straggler(i),
    ]).flat();
    const path = join(dir, 'run.log');
    await writeFile(path, `${lines.join('\n')}\n`);
    const result = await run('observe', 'examples/gpt3-weekly-h100.yaml', '--log', path, '--replicas', '0', '--json');
    expect(result.code, result.stderr).toBe(0);
    const out = JSON.parse(result.stdout);
    // 40 lines: rank 5 slowest in the 30 with i mod 4 ≠ 0, rank 6 in 10; spreads 1.3 (30) and 1.2 (10): median 1.3.
    expect(out.stragglers.reports).toBe(40);
    expect(out.stragglers.slowestRanks).toEqual([
      { rank: 5, reports: 30 },
      { rank: 6, reports: 10 },
    ]);
    expect(out.stragglers.rttSpread.median).toBeCloseTo(1.3, 12);
    expect(out.stragglers.powerW.max).toBeCloseTo(683.801, 9);
    const step = out.planVersusActual.find((c: { metric: string }) => c.metric === 'stepSeconds');
    expect(step.status).toBe('above');
    expect(step.likelyCause).toMatch(/rank 5 slowest in 30/);
  });

  it('summarises the GPU samples it leaves out by metric name', async () => {
    // DataDog's dcgm fixture (../shared/data/telemetry/dcgm/datadog/metrics.txt, BSD-3-Clause) ends with dummy
    // series that carry no labels, so they name no GPU: the test counts them straight from the file.
    const fixture = '../shared/data/telemetry/dcgm/datadog/metrics.txt';
    const dummies = (await readFile(fixture, 'utf8'))
      .split('\n')
      .filter((l) => /^[A-Za-z_:][A-Za-z0-9_:]* /.test(l))
      .map((l) => l.split(' ')[0] as string);
    expect(dummies.length).toBe(14);
    const result = await run(
      'observe',
      'examples/gpt3-weekly-h100.yaml',
      '--log',
      '../shared/data/telemetry/megatron-ci/gpt3_weekly_mcore_tp2_pp2_current_scaling_native_fp8_tp_pp_sp_tp_overlap/golden_values_dev_dgx_h100.json',
      '--dcgm',
      fixture,
      '--replicas',
      '0',
      '--json',
    );
    expect(result.code, result.stderr).toBe(0);
    const out = JSON.parse(result.stdout);
    expect(out.inputs.skippedGpuSamples).toBe(14);
    const note = out.notes.find((n: string) => n.includes('left out')) as string;
    expect(note).toMatch(/^14 GPU samples/);
    for (const name of dummies.slice(0, 8)) expect(note).toContain(`${name} × 1`);
    expect(note).toContain('and 6 more metrics');
  });

  it('refuses bad flags with exit 2, naming the flag and what is valid', async () => {
    const none = await run('observe', 'examples/gpt3-weekly-h100.yaml');
    expect(none.code).toBe(2);
    expect(none.stderr).toMatch(/--log FILE/);
    const window = await run('observe', 'examples/gpt3-weekly-h100.yaml', '--log', 'x.log', '--window', '9:3');
    expect(window.code).toBe(2);
    expect(window.stderr).toMatch(/--window must be FROM:TO.*"9:3"/);
    const missing = await run('observe', 'examples/gpt3-weekly-h100.yaml', '--log', 'no-such.log');
    expect(missing.code).toBe(2);
    expect(missing.stderr).toMatch(/no-such\.log/);
    const replicas = await run('observe', 'examples/gpt3-weekly-h100.yaml', '--log', 'x.log', '--replicas', '-3');
    expect(replicas.code).toBe(2);
    expect(replicas.stderr).toMatch(/--replicas must be an integer/);
  });
});
