/**
 * The golden-values reader and the restart/stall detectors, on hand-made series and on the team's copy of
 * Megatron-LM's CI golden values (../shared/data/telemetry/megatron-ci/, BSD-3-Clause NVIDIA; not part of
 * Tokenworks): the median and the stalls must be those of index.json and the README's table.
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { detectRestarts, medianIterationSeconds, readMegatronCiGolden, type StepPoint, stalls } from './megatron-ci.js';

const CI = fileURLToPath(new URL('../../../shared/data/telemetry/megatron-ci/', import.meta.url));

interface IndexCase {
  id: string;
  file: string;
  numeric_points: number;
  nan_points: number;
  median_iteration_s: number;
  stalls: { step: number; seconds: number; peak_mem_reset: boolean | null }[];
}
const index = JSON.parse(readFileSync(`${CI}index.json`, 'utf8')) as { cases: IndexCase[] };

const read = (file: string) => {
  const result = readMegatronCiGolden(readFileSync(`${CI}${file}`, 'utf8'));
  if (!result.ok) throw new Error(JSON.stringify(result.issues));
  return result.value;
};

describe('readMegatronCiGolden', () => {
  it('maps the metrics per step, skips and counts "nan" points', () => {
    const text = JSON.stringify({
      'lm loss': { start_step: 1, end_step: 10, step_interval: 5, values: { '1': 10.5, '5': 'nan', '10': 9.25 } },
      'iteration-time': { start_step: 1, end_step: 10, step_interval: 5, values: { '1': 30, '5': 'nan', '10': 2 } },
      'mem-max-allocated-bytes': { start_step: 1, end_step: 10, step_interval: 5, values: { '1': 7, '5': 'nan' } },
      'num-zeros': { start_step: 1, end_step: 10, step_interval: 5, values: { '1': 0 } },
    });
    const result = readMegatronCiGolden(text);
    expect(result.ok).toBe(true);
    if (!result.ok) return;
    expect(result.value.points).toEqual([
      { step: 1, loss: 10.5, iterationSeconds: 30, memMaxAllocatedBytes: 7 },
      { step: 10, loss: 9.25, iterationSeconds: 2 },
    ]);
    expect(result.value.nanPoints).toEqual({ 'lm loss': 1, 'iteration-time': 1, 'mem-max-allocated-bytes': 1 });
    expect(result.value.emptySteps).toBe(1); // step 5: nan everywhere
    expect(result.value.stepInterval).toBe(5);
    expect(result.value.otherMetrics).toEqual(['num-zeros']);
  });

  it('reports bad documents as issues instead of throwing', () => {
    expect(readMegatronCiGolden('{')).toMatchObject({ ok: false });
    expect(readMegatronCiGolden([])).toMatchObject({ ok: false });
    expect(readMegatronCiGolden({ 'lm loss': { values: { x: 1 } } })).toEqual({
      ok: false,
      issues: [{ path: 'lm loss.values.x', message: 'step key is not an integer' }],
    });
    expect(readMegatronCiGolden({ 'lm loss': { values: { '3': 'oops' } } })).toMatchObject({
      ok: false,
      issues: [{ path: 'lm loss.values.3' }],
    });
    expect(readMegatronCiGolden({ 'lm loss': 3 })).toMatchObject({ ok: false, issues: [{ path: 'lm loss' }] });
  });
});

describe('detectRestarts and stalls on hand-made series', () => {
  // Hand computation: iteration times 1, 1, 1, 9, 1, 1.2 -> sorted 1, 1, 1, 1, 1.2, 9 -> median (1 + 1) / 2 = 1;
  // 5 x 1 = 5, so only the 9 s point (step 4) is a stall, ratio 9.
  const series: StepPoint[] = [
    { step: 1, iterationSeconds: 1, memMaxAllocatedBytes: 100 },
    { step: 2, iterationSeconds: 1, memMaxAllocatedBytes: 120 },
    { step: 3, iterationSeconds: 1 }, // peak not logged: the comparison carries 120 over
    { step: 2, iterationSeconds: 9, memMaxAllocatedBytes: 90 }, // rewind and reset
    { step: 3, iterationSeconds: 1, memMaxAllocatedBytes: 95 },
    { step: 4, iterationSeconds: 1.2, memMaxAllocatedBytes: 80 }, // reset only
  ];

  it('finds rewinds and memory resets', () => {
    expect(detectRestarts(series)).toEqual([
      { step: 2, index: 3, rewind: true, memoryReset: true },
      { step: 4, index: 5, rewind: false, memoryReset: true },
    ]);
  });

  it('finds steps above factor x median', () => {
    expect(medianIterationSeconds(series)).toBe(1);
    expect(stalls(series)).toEqual([{ step: 2, seconds: 9, ratio: 9 }]);
    // factor 1: everything above 1 s, i.e. the 9 s and the 1.2 s points.
    expect(stalls(series, 1).map((stall) => stall.seconds)).toEqual([9, 1.2]);
    expect(stalls([])).toEqual([]);
    expect(detectRestarts([])).toEqual([]);
  });
});

describe('the shared Megatron CI series', () => {
  it('lists eight series', () => {
    expect(index.cases).toHaveLength(8);
  });

  for (const entry of index.cases) {
    it(`${entry.id}: points, median and stalls match index.json`, () => {
      const series = read(entry.file);
      const timed = series.points.filter((point) => point.iterationSeconds !== undefined);
      expect(timed).toHaveLength(entry.numeric_points);
      expect(series.nanPoints['iteration-time']).toBe(entry.nan_points);
      expect(medianIterationSeconds(series.points)).toBeCloseTo(entry.median_iteration_s, 9);
      const found = stalls(series.points, 5);
      expect(found.map((stall) => stall.step)).toEqual(entry.stalls.map((stall) => stall.step));
      expect(found.map((stall) => stall.seconds)).toEqual(entry.stalls.map((stall) => stall.seconds));
      // The README's "R": a stall at which the peak-memory counter dropped, i.e. a new process.
      const resets = new Set(detectRestarts(series.points).map((restart) => restart.step));
      const marked = entry.stalls.filter((stall) => stall.peak_mem_reset === true).map((stall) => stall.step);
      expect(found.filter((stall) => resets.has(stall.step)).map((stall) => stall.step)).toEqual(marked);
    });
  }

  it('README table, Mixtral 8x7B on H100: median 8.961 s, stalls 1, 9870, 11285, 14145, 19855 (all but 1 are R)', () => {
    const { points } = read('mixtral_8x7b_alltoall_tp2pp4ep4_release/golden_values_dev_dgx_h100.json');
    expect(medianIterationSeconds(points)).toBeCloseTo(8.961, 3);
    const found = stalls(points);
    expect(found.map((stall) => stall.step)).toEqual([1, 9870, 11285, 14145, 19855]);
    // 92.35132 s at step 1 over the 8.96102 s median: about 10.3x.
    expect(found[0]?.ratio).toBeCloseTo(92.35132 / 8.96102, 9);
    const resets = detectRestarts(points);
    expect(resets.every((restart) => restart.memoryReset && !restart.rewind)).toBe(true);
    const resetSteps = new Set(resets.map((restart) => restart.step));
    expect(found.filter((stall) => resetSteps.has(stall.step)).map((stall) => stall.step)).toEqual([
      9870, 11285, 14145, 19855,
    ]);
    // Most restarts fall between the every-5th-step samples of the slow first iteration: 17 resets, 4 seen as stalls.
    expect(resets).toHaveLength(17);
  });

  it('README table, DeepSeek-V3 proxy on H100: median 12.030 s, eight stalls, all R', () => {
    const { points } = read('deepseekv3_proxy_flex_tp1pp4emp16etp1cp1_release/golden_values_dev_dgx_h100.json');
    expect(medianIterationSeconds(points)).toBeCloseTo(12.03, 3);
    const R = [4480, 7410, 12305, 13280, 18190, 31625, 40430, 46295];
    expect(stalls(points).map((stall) => stall.step)).toEqual(R);
    const resetSteps = new Set(detectRestarts(points).map((restart) => restart.step));
    expect(R.every((step) => resetSteps.has(step))).toBe(true);
  });

  it('README table, 15B dense with log-interval 100: no stall visible, 9,694 nan points skipped', () => {
    const series = read('gpt3_15b_8t_release/golden_values_dev_dgx_h100.json');
    expect(series.nanPoints['iteration-time']).toBe(9694);
    expect(stalls(series.points)).toEqual([]);
  });
});
