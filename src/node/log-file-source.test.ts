/**
 * The log-file telemetry source: a log read once; a log followed while it grows, a half-written line taken whole
 * once its newline arrives; a source reopened at a batch's offset reads nothing twice; malformed lines keep their
 * file line numbers.
 */
import { appendFile, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { StepBatch } from '../app/ports.js';
import { createLogFileSource } from './log-file-source.js';

const line = (iteration: number, ms: number) =>
  ` [2026-12-01 10:00:00] iteration ${String(iteration).padStart(8)}/     100 | consumed samples: ${iteration * 128} | ` +
  `elapsed time per iteration (ms): ${ms.toFixed(1)} | learning rate: 1.000000E-04 | global batch size:   128 | ` +
  'lm loss: 2.500000E+00 | loss scale: 1.0 | number of skipped iterations:   0 | number of nan iterations:   0 |\n';

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'tokenworks-log-source-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function all(batches: AsyncIterable<StepBatch>): Promise<StepBatch[]> {
  const out: StepBatch[] = [];
  for await (const batch of batches) out.push(batch);
  return out;
}

describe('log file telemetry source', () => {
  it('reads a log once: every step in order, a last line without a newline included', async () => {
    const path = join(dir, 'once.log');
    await writeFile(path, `${line(1, 1000)}starting...\n${line(2, 1100)}${line(3, 1200).trimEnd()}`);
    const batches = await all(createLogFileSource(path).steps());
    const samples = batches.flatMap((b) => b.samples);
    expect(samples.map((s) => s.step)).toEqual([1, 2, 3]);
    expect(samples.map((s) => s.iterationSeconds)).toEqual([1, 1.1, 1.2]);
    expect(samples.map((s) => s.line)).toEqual([1, 3, 4]);
    expect(batches.reduce((sum, b) => sum + b.ignored, 0)).toBe(1);
  });

  it('follows a growing log, waits for a half-written line, and resumes at an offset without duplicates', async () => {
    const path = join(dir, 'follow.log');
    await writeFile(path, line(1, 1000) + line(2, 1000));
    const controller = new AbortController();
    const seen: StepBatch[] = [];
    const following = (async () => {
      for await (const batch of createLogFileSource(path, { follow: true, pollMs: 20 }).steps({
        signal: controller.signal,
      })) {
        seen.push(batch);
      }
    })();
    const until = async (steps: number) => {
      for (let i = 0; i < 200 && seen.flatMap((b) => b.samples).length < steps; i++) {
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
    };
    await until(2);
    const half = line(3, 1300);
    await appendFile(path, half.slice(0, 40));
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect(seen.flatMap((b) => b.samples).map((s) => s.step)).toEqual([1, 2]);
    await appendFile(path, half.slice(40) + line(4, 1400));
    await until(4);
    controller.abort();
    await following;
    const steps = seen.flatMap((b) => b.samples).map((s) => s.step);
    expect(steps).toEqual([1, 2, 3, 4]);
    expect(seen.flatMap((b) => b.samples)[2]?.iterationSeconds).toBe(1.3);

    // A source reopened where the first batch ended reads only what came after it.
    const first = seen[0] as StepBatch;
    await appendFile(path, line(5, 1500));
    const resumed = await all(
      createLogFileSource(path, { fromOffset: first.offset, fromLine: first.nextLine }).steps(),
    );
    const after = resumed.flatMap((b) => b.samples);
    const firstSteps = first.samples.map((s) => s.step);
    expect(after.map((s) => s.step)).toEqual([1, 2, 3, 4, 5].filter((s) => !firstSteps.includes(s)));
    expect(after.at(-1)?.line).toBe(5);
  });

  it('counts a malformed step line with its file line number, and a missing file is a user error', async () => {
    const path = join(dir, 'bad.log');
    await writeFile(
      path,
      `${line(1, 1000)} [2026-12-01 10:00:00] iteration        2/     100 | elapsed time per iteration (ms): fast |\n`,
    );
    const batches = await all(createLogFileSource(path).steps());
    expect(batches.flatMap((b) => b.samples).map((s) => s.step)).toEqual([1]);
    expect(batches.flatMap((b) => b.malformed).map((m) => m.line)).toEqual([2]);
    await expect(all(createLogFileSource(join(dir, 'missing.log')).steps())).rejects.toThrow(/missing.log/);
  });
});
