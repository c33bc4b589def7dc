import { readFile } from 'node:fs/promises';
import { beforeAll, describe, expect, it } from 'vitest';
import { isFitRow } from '../src/perf/calibration.js';
import { summarize, type ValidationReport, validateRuns } from '../src/validation/validate.js';

// The acceptance bar of the performance model against the shipped published runs (docs/validation.md).
let report: ValidationReport;
beforeAll(async () => {
  report = validateRuns(JSON.parse(await readFile('data/calibration/published-runs.calibration.json', 'utf8')));
});

describe('validation against published runs', () => {
  it('predicts most rows and explains every row it skips', () => {
    expect(report.rows.length + report.skipped.length).toBe(343);
    expect(report.rows.length).toBeGreaterThan(250);
    for (const row of report.skipped) expect(row.reason.length).toBeGreaterThan(10);
  });

  it('no run that happened is predicted infeasible (out of memory or otherwise)', () => {
    expect(report.skipped.filter((row) => row.kind === 'infeasible')).toEqual([]);
  });

  it('dense rows: median absolute error at most 10%, P90 at most 25%', () => {
    const dense = report.groups.arch.dense;
    expect(dense?.medianPct).toBeLessThanOrEqual(10);
    expect(dense?.p90Pct).toBeLessThanOrEqual(25);
  });

  it('MoE rows: median absolute error at most 20%', () => {
    expect(report.groups.arch.moe?.medianPct).toBeLessThanOrEqual(20);
  });

  it('rows not used to fit the calibration meet the dense bar too', () => {
    // Held out: every dense row but the H100 rows, GB200's FP4 rows and the GB300 rows paired with GB200 (device-fit.ts).
    const heldOut = report.rows.filter((row) => !isFitRow(row) && row.arch === 'dense');
    expect(heldOut.length).toBeGreaterThanOrEqual(50);
    const summary = summarize(heldOut.map((row) => row.error));
    expect(summary.medianPct).toBeLessThanOrEqual(10);
    expect(summary.p90Pct).toBeLessThanOrEqual(25);
  });

  it('statistics are computed correctly on a hand-made set', () => {
    const s = summarize([0.1, -0.2, 0.3, -0.4, 0.5]);
    expect(s.medianPct).toBeCloseTo(30, 10);
    expect(s.meanPct).toBeCloseTo(30, 10);
    expect(s.p90Pct).toBeCloseTo(46, 10); // linear interpolation between 40 and 50
  });
});

describe('row translation', () => {
  it('Nemotron-4 340B is not mistaken for a hybrid Nemotron 3', () => {
    const row = report.skipped.find((r) => r.model === 'Nemotron-340B');
    if (row) expect(row.reason).not.toMatch(/Mamba/);
  });

  it('Qwen3 rows use 128-dimensional heads: 30B-A3B counts 3.3B active parameters as published', async () => {
    const { scenarioFromRun } = await import('../src/validation/runs.js');
    const { countParameters } = await import('../src/perf/model-size.js');
    const rows = JSON.parse(await readFile('data/calibration/published-runs.calibration.json', 'utf8'));
    const qwen = rows.find((r: { model_name: string }) => r.model_name === 'Qwen3-30B-A3B');
    const scenario = scenarioFromRun(qwen);
    if (!scenario.ok) throw new Error(scenario.reason);
    const counts = countParameters(scenario.spec.workload.model);
    expect(counts.total / 1e9).toBeCloseTo(30.5, 0);
    expect(Math.abs(counts.active / 3.3e9 - 1)).toBeLessThan(0.05);
  });
});
