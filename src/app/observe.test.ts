/**
 * Plan versus actual on the one Megatron CI case whose GPU count is known (index.json: the gpt3 weekly TP2 PP2
 * run on 8 H100), read from the team's copy of Megatron-LM's golden values (../shared/data/telemetry/megatron-ci/,
 * BSD-3-Clause NVIDIA; not part of Tokenworks), and a hand-made run whose every figure is set by construction.
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { loadSpec } from '../spec/load.js';
import type { StepPoint } from '../telemetry/megatron-ci.js';
import { readMegatronCiGolden } from '../telemetry/megatron-ci.js';
import { createInlineRunner } from './inline-runner.js';
import { runObserve } from './observe.js';
import { MODEL_ERROR_P90, planVersusActual } from './plan-vs-actual.js';

const CI = fileURLToPath(new URL('../../../shared/data/telemetry/megatron-ci/', import.meta.url));
const WEEKLY = 'gpt3_weekly_mcore_tp2_pp2_current_scaling_native_fp8_tp_pp_sp_tp_overlap@dgx_h100';

function spec(path: string) {
  const result = loadSpec(readFileSync(fileURLToPath(new URL(path, import.meta.url)), 'utf8'), 'yaml');
  if (!result.ok) throw new Error(JSON.stringify(result.issues));
  return result.value;
}

describe('plan versus actual', () => {
  it('reports the estimate’s gap on the 8-GPU H100 gpt3 weekly case', async () => {
    const index = JSON.parse(readFileSync(`${CI}index.json`, 'utf8')) as {
      cases: { id: string; file: string; median_iteration_s: number; gpus: number; tokens_per_step: number }[];
    };
    const entry = index.cases.find((c) => c.id === WEEKLY);
    if (!entry) throw new Error('case missing');
    const golden = readMegatronCiGolden(readFileSync(`${CI}${entry.file}`, 'utf8'));
    if (!golden.ok) throw new Error('unreadable');
    const result = await runObserve(
      { spec: spec('../../examples/gpt3-weekly-h100.yaml'), steps: golden.value.points, replicas: 20, seed: 1 },
      { runner: createInlineRunner() },
    );
    if (!result.ok) throw new Error(JSON.stringify(result.issues));
    const { planVersusActual: rows, predictedStep, facts, kpis } = result.value;
    // The spec is the case's: its GPU count and tokens per step are index.json's.
    expect(facts.gpus).toBe(entry.gpus);
    expect(facts.tokensPerStep).toBe(entry.tokens_per_step);
    const step = rows.find((r) => r.metric === 'stepSeconds');
    if (!step) throw new Error('no step row');
    expect(step.predicted).toBe(predictedStep.seconds);
    // The steady median is within a few ms of index.json's median over all points (1.14005 s; the two warm-up
    // points and the stall are left out of the steady set).
    expect(Math.abs((step.actual as number) - entry.median_iteration_s)).toBeLessThan(0.005);
    expect(step.gap).toBeCloseTo((step.actual as number) / predictedStep.seconds - 1, 12);
    // The model predicts the FLOPs of this tiny model's step: far below the 1.14 s measured, outside the band.
    expect(step.status).toBe('above');
    expect(step.gap).toBeGreaterThan(2);
    expect(step.likelyCause).toMatch(/fixed per-step costs/);
    // The breakdown beside it adds up to the predicted step.
    const parts =
      predictedStep.compute +
      predictedStep.bubble +
      predictedStep.imbalance +
      predictedStep.exposedCommunication +
      predictedStep.optimizer;
    expect(parts).toBeCloseTo(predictedStep.seconds, 9);
    // Tokens/s is tokens per step over the measured median, and far below the prediction.
    const tokens = rows.find((r) => r.metric === 'tokensPerSecond');
    expect(tokens?.actual).toBeCloseTo(entry.tokens_per_step / kpis.run.medianSeconds, 6);
    expect(tokens?.status).toBe('below');
    // 38 minutes of run: too short for the twin's ETTR band, which says so.
    expect(rows.find((r) => r.metric === 'ettr')).toBeUndefined();
    expect(result.value.notes.join(' ')).toMatch(/no twin band/);
  });

  it('keeps a run that matches its prediction inside every band', () => {
    const predicted = 2;
    // 100 steps at exactly the predicted time: every speed figure has gap 0.
    const steps: StepPoint[] = Array.from({ length: 100 }, (_, i) => ({ step: i + 1, iterationSeconds: predicted }));
    void steps;
    const estimate = { step: { seconds: predicted }, tokensPerSecond: 1000 / predicted, mfu: 0.4 } as never;
    const observed = {
      empty: false,
      steady: { count: 100, p10: 2, p50: 2, p90: 2, p99: 2 },
      throughput: { tokensPerSecond: 500, goodputTokensPerSecond: 500, mfu: 0.4 },
      badputSeconds: {},
      wallSeconds: 200,
      ettr: 1,
      goodput: 1,
      restarts: 0,
    } as never;
    const rows = planVersusActual({ estimate, moe: false, observed });
    expect(rows.map((r) => r.status)).toEqual(['within', 'within', 'within']);
    expect(rows[0]?.band.high).toBeCloseTo(predicted * (1 + MODEL_ERROR_P90.dense), 12);
    // 30 % slower with a P90/P50 spread of 1.5: outside the dense band, blamed on variability.
    const slow = planVersusActual({
      estimate,
      moe: false,
      observed: { ...(observed as object), steady: { count: 100, p10: 2.4, p50: 2.6, p90: 3.9, p99: 4 } } as never,
    });
    expect(slow[0]?.status).toBe('above');
    expect(slow[0]?.likelyCause).toMatch(/varies/);
  });
});

describe('the forecast’s observation, read from an emulated log', () => {
  it('counts the unexpected interruptions that struck while training, and the iteration reached', async () => {
    const text = `
name: Llama 3 8B on 64 H100, unreliable fleet
workload:
  model: llama3-8b
  training: { totalTokens: 15T, sequenceLength: 8192, globalBatch: { tokens: 4194304 }, precision: fp8 }
system: { accelerator: h100-sxm, gpuCount: 64, scaleOut: { fabric: ndr-ib } }
plan: { tp: 1, pp: 1, sharding: zero1, microBatch: 1, recomputation: none }
twin: { days: 5, failureScale: 40 }
`;
    const loaded = loadSpec(text, 'yaml');
    if (!loaded.ok) throw new Error(JSON.stringify(loaded.issues));
    const { runEmulate } = await import('./emulate.js');
    const emulated = await runEmulate({ spec: loaded.value, seed: 1 }, { runner: createInlineRunner() });
    if (!emulated.ok) throw new Error(JSON.stringify(emulated.issues));
    const log = emulated.value.files.find((f) => f.name === 'training.log')?.text ?? '';
    const { parseStepLog, toStepPoints } = await import('../telemetry/step-log.js');
    const steps = toStepPoints(parseStepLog(log).samples);
    const result = await runObserve(
      { spec: loaded.value, steps, replicas: 0, seed: 1, forecastReplicas: 20 },
      { runner: createInlineRunner() },
    );
    if (!result.ok) throw new Error(JSON.stringify(result.issues));
    const { truth } = emulated.value;
    const { forecastObservation } = await import('./observe.js');
    const observation = forecastObservation(result.value.kpis.run, steps, undefined);
    // Without the calendar every restart without a rewind counts; with it, the planned stops are taken out.
    expect(truth.interruptionsWhileTraining).toBeGreaterThan(2);
    expect(result.value.forecast?.failureRate.interruptions).toBe(truth.interruptionsWhileTraining);
    expect(observation.interruptions).toBe(truth.interruptionsWhileTraining + truth.plannedInterruptions);
    expect(observation.productiveSteps).toBe(truth.iterations);
    expect(result.value.forecast?.timeToTrainDays.p10).toBeLessThanOrEqual(
      result.value.forecast?.timeToTrainDays.p90 ?? 0,
    );
  }, 60_000);
});
