import { beforeAll, describe, expect, it } from 'vitest';
import { twinDesignOf } from '../../test/support/twin-config.js';
import { loadSpec } from '../spec/load.js';
import type { ResolvedSpec } from '../spec/resolve.js';
import { emulateRun } from '../telemetry/emulator.js';
import { MIN_RESTART_PAUSE_SECONDS, observedKpis, RESTART_PAUSE_FACTOR } from '../telemetry/kpis.js';
import { parseStepLog, toStepPoints } from '../telemetry/step-log.js';
import { simulateRun } from '../twin/run.js';
import { type TwinConfig, type TwinDesign, twinConfig } from '../twin/setup.js';
import {
  type ForecastOutcome,
  forecastRun,
  gammaPoissonPosterior,
  gammaQuantile,
  type ObservedRun,
  plannedFailureRate,
  rateSummary,
  regularizedGammaP,
  remainingConfig,
  runForecast,
  typicalStepSlowdown,
} from './forecast.js';
import { createInlineRunner } from './inline-runner.js';

const DAY = 86400;

/**
 * Llama 3 405B on 1,024 H100 (Llama 3's layout and 16M-token batch, arXiv 2407.21783 Table 4, on a sixteenth of its
 * GPUs) training 0.5T tokens: about 31 ideal days, 32 with failures. Failure rates × 4: the young or cloud fleets of
 * reliability-anchors.md §5.3 (about 15 per 1,000 node-days against Llama 3's 3.79), about 2 interruptions a day.
 */
const SPEC = `
name: Llama 3 405B on 1,024 H100, a young fleet (failure rates 4x Llama 3's)
workload:
  model: llama3-405b
  training: { totalTokens: 0.5T, sequenceLength: 8192, globalBatch: { sequences: 2048 }, precision: bf16 }
system:
  accelerator: h100-sxm
  gpuCount: 1024
  gpusPerNode: 8
  scaleOut: { fabric: ndr-ib, topology: rail-optimized }
plan: { tp: 8, pp: 16, cp: 1, sequenceParallel: true, sharding: zero1, microBatch: 1, recomputation: selective }
constraints: { deadlineDays: 33 }
twin: { failureScale: 4 }
`;

function specOf(text: string): ResolvedSpec {
  const spec = loadSpec(text, 'yaml');
  if (!spec.ok) throw new Error(JSON.stringify(spec.issues));
  return spec.value;
}

function forecastValue(result: Awaited<ReturnType<typeof forecastRun>>): ForecastOutcome {
  if (!result.ok) throw new Error(JSON.stringify(result.issues));
  return result.value;
}

/** Every number of an object tree is finite. */
function allFinite(value: unknown): boolean {
  if (typeof value === 'number') return Number.isFinite(value);
  if (value !== null && typeof value === 'object') return Object.values(value).every(allFinite);
  return true;
}

let spec: ResolvedSpec;
let design: TwinDesign;
let config: TwinConfig;

beforeAll(() => {
  spec = specOf(SPEC);
  const made = twinDesignOf(spec);
  if (!made.ok) throw new Error(JSON.stringify(made.issues));
  design = made.value;
  const built = twinConfig(design, spec.twin);
  if (!built.ok) throw new Error(JSON.stringify(built.issues));
  config = built.value;
});

/** Ten days of a run going as planned: its rate, its step time, the work of 10 days at 92% goodput. */
function asPlanned(overrides: Partial<ObservedRun> = {}): ObservedRun {
  const elapsedSeconds = 10 * DAY;
  return {
    elapsedSeconds,
    productiveSteps: Math.round((0.92 * elapsedSeconds) / config.stepSeconds),
    interruptions: Math.round(plannedFailureRate(config) * elapsedSeconds),
    recoverySeconds: [],
    stepSeconds: config.stepSeconds,
    ...overrides,
  };
}

describe('the Gamma–Poisson update', () => {
  it('gives the closed-form posterior of a hand case', () => {
    // Prior Gamma(2, 10 days): mean 0.2 a day. Five interruptions in 20 days: Gamma(7, 30 days).
    const posterior = gammaPoissonPosterior({ shape: 2, rateSeconds: 10 * DAY }, 5, 20 * DAY);
    expect(posterior).toEqual({ shape: 7, rateSeconds: 30 * DAY });
    const summary = rateSummary(posterior);
    // Mean (α0 + n) / (β0 + T) = 7 / 30 a day.
    expect(summary.mean).toBeCloseTo(7 / 30, 12);
    // Gamma(7, 1) is χ²(14)/2: χ²(14) quantiles 7.78953 (0.10) and 21.06414 (0.90) (Abramowitz and Stegun Table 26.8).
    expect(summary.p10).toBeCloseTo(7.78953 / 2 / 30, 5);
    expect(summary.p90).toBeCloseTo(21.06414 / 2 / 30, 5);
    // Erlang's closed form: P(X ≤ x) = 1 − e^{−x} Σ_{k<7} x^k / k! for X ~ Gamma(7, 1).
    const erlang = (x: number) => {
      let sum = 0;
      let term = 1;
      for (let k = 0; k < 7; k++) {
        sum += term;
        term *= x / (k + 1);
      }
      return 1 - Math.exp(-x) * sum;
    };
    for (const p of [0.01, 0.1, 0.5, 0.9, 0.99]) {
      const x = gammaQuantile({ shape: 7, rateSeconds: 1 }, p);
      expect(erlang(x)).toBeCloseTo(p, 10);
      expect(regularizedGammaP(7, x)).toBeCloseTo(p, 10);
    }
    // Non-integer shapes across the series and continued-fraction branches: P(0.5, x) = erf(√x).
    expect(regularizedGammaP(0.5, 0.25)).toBeCloseTo(0.5204998778130465, 12);
    expect(regularizedGammaP(0.5, 4)).toBeCloseTo(0.9953222650189527, 12);
  });

  it('reports the posterior of a forecast: α0 on the twin rate, n in elapsed less the recoveries', async () => {
    const r0 = plannedFailureRate(config);
    const observed = asPlanned({ interruptions: 12, recoverySeconds: [500, 700, 900] });
    const outcome = forecastValue(await forecastRun({ config, observed, replicas: 4, priorInterruptions: 2, seed: 3 }));
    const recovery = (config.meanRecoverySeconds + 500 + 700 + 900) / 4;
    const exposure = observed.elapsedSeconds - 12 * recovery;
    expect(outcome.recoverySeconds.used).toBeCloseTo(recovery, 9);
    expect(outcome.recoverySeconds.observed).toBeCloseTo(700, 9);
    expect(outcome.recoverySeconds.restartSeconds).toBeCloseTo(
      config.restartSeconds + recovery - config.meanRecoverySeconds,
      9,
    );
    expect(outcome.failureRate.exposureDays).toBeCloseTo(exposure / DAY, 9);
    expect(outcome.failureRate.prior.mean).toBeCloseTo(r0 * DAY, 9);
    expect(outcome.failureRate.priorExposureDays).toBeCloseTo(2 / r0 / DAY, 9);
    expect(outcome.failureRate.posterior.mean).toBeCloseTo(((2 + 12) / (2 / r0 + exposure)) * DAY, 9);
    expect(outcome.failureRate.posterior.p10).toBeLessThan(outcome.failureRate.posterior.mean);
    expect(outcome.failureRate.posterior.p90).toBeGreaterThan(outcome.failureRate.posterior.mean);
  });
});

describe('the typical step slowdown', () => {
  it('is the median over time of the step-time factor of a twin replica (throttling, slow hosts)', () => {
    // 30 simulated days with detail: the time-weighted median of 1 / speed over the speed segments (speed 1 between).
    const run = simulateRun({ ...config, windowSeconds: 30 * DAY }, 3, 0, { detail: true });
    const pieces = run.speedSegments.map((s) => ({ factor: 1 / s.speed, seconds: s.end - s.start }));
    const listed = pieces.reduce((sum, p) => sum + p.seconds, 0);
    pieces.push({ factor: 1, seconds: 30 * DAY - listed });
    pieces.sort((a, b) => a.factor - b.factor);
    let seen = 0;
    const median =
      pieces.find((p) => {
        seen += p.seconds;
        return seen >= 15 * DAY;
      })?.factor ?? Number.NaN;
    const typical = typicalStepSlowdown(config);
    expect(typical).toBeGreaterThan(1.004);
    expect(Math.abs(typical - median)).toBeLessThan(3e-4);
    const calm = {
      ...config,
      throttling: { ...config.throttling, peakMeanDeficit: 0 },
      stragglers: { ...config.stragglers, ratePerSecond: 0 },
    };
    expect(typicalStepSlowdown(calm)).toBe(1);
  });
});

describe('forecastRun', () => {
  it('builds the remaining run through the config: fewer tokens, the observed step, scaled and aged classes', () => {
    const rest = remainingConfig(config, {
      tokens: config.totalTokens / 4,
      stepSeconds: config.stepSeconds * 1.1,
      rateFactor: 2,
      elapsedSeconds: 10 * DAY,
      restartSeconds: 400,
    });
    expect(rest.totalTokens).toBe(config.totalTokens / 4);
    expect(rest.idealSeconds).toBeCloseTo((config.idealSeconds / 4) * 1.1, 3);
    expect(rest.windowSeconds).toBeUndefined();
    expect(rest.restartSeconds).toBe(400);
    rest.classes.forEach((c, i) => {
      const planned = config.classes[i];
      if (!planned) throw new Error('class');
      expect(c.ratePerSecond).toBeCloseTo(planned.ratePerSecond * (c.detection === 'planned' ? 1 : 2), 15);
    });
    expect(rest.mtbfSeconds).toBeCloseTo(config.mtbfSeconds / 2, 3);
  });

  it('projects later finishes from more interruptions seen (the same seed)', async () => {
    const p50 = async (interruptions: number) =>
      forecastValue(await forecastRun({ config, observed: asPlanned({ interruptions }), replicas: 40, seed: 11 }))
        .timeToTrainDays.p50;
    const few = await p50(5);
    const some = await p50(30);
    const many = await p50(90);
    expect(some).toBeGreaterThan(few);
    expect(many).toBeGreaterThan(some);
  });

  it('is reproducible, finite, reports progress and the deadline', async () => {
    const ticks: number[] = [];
    const progress = { start: () => {}, tick: (n = 1) => ticks.push(n), done: () => {} };
    const input = { config, observed: asPlanned(), replicas: 20, seed: 5, deadlineDays: 33 };
    const a = forecastValue(await forecastRun(input, { progress }));
    const b = forecastValue(await forecastRun(input));
    expect(b).toEqual(a);
    expect(ticks.reduce((sum, n) => sum + n, 0)).toBe(20);
    expect(allFinite(a)).toBe(true);
    expect(a.replicas).toBe(20);
    expect(a.timeToTrainDays.p10).toBeLessThanOrEqual(a.timeToTrainDays.p50);
    expect(a.timeToTrainDays.p50).toBeLessThanOrEqual(a.timeToTrainDays.p90);
    expect(a.timeToTrainDays.p10).toBeGreaterThan(a.elapsedDays);
    expect(a.meetDeadlineProbability).toBeGreaterThanOrEqual(0);
    expect(a.meetDeadlineProbability).toBeLessThanOrEqual(1);
    const later = forecastValue(await forecastRun({ ...input, deadlineDays: 60 }));
    expect(later.meetDeadlineProbability).toBe(1);
    const other = forecastValue(await forecastRun({ ...input, seed: 6 }));
    expect(other.timeToTrainDays).not.toEqual(a.timeToTrainDays);
  });

  it('gives the elapsed time when no work is left', async () => {
    const steps = config.totalTokens / (config.tokensPerSecond * config.stepSeconds);
    const done = forecastValue(
      await forecastRun({ config, observed: asPlanned({ productiveSteps: steps }), deadlineDays: 5 }),
    );
    expect(done.replicas).toBe(0);
    expect(done.timeToTrainDays.p50).toBe(10);
    expect(done.meetDeadlineProbability).toBe(0);
  });

  it('returns issues naming the field, and rejects when aborted', async () => {
    const bad = await forecastRun({
      config,
      observed: {
        elapsedSeconds: -1,
        productiveSteps: 10,
        productiveTokens: 10,
        interruptions: 1.5,
        recoverySeconds: [Number.NaN],
        stepSeconds: 0,
      },
      replicas: 0,
      seed: 0.5,
      deadlineDays: -2,
    });
    expect(bad.ok).toBe(false);
    const paths = bad.ok ? [] : bad.issues.map((issue) => issue.path);
    expect(paths).toEqual(
      expect.arrayContaining([
        'observed.elapsedSeconds',
        'observed.stepSeconds',
        'observed.interruptions',
        'observed.productiveSteps',
        'observed.recoverySeconds[0]',
        'deadlineDays',
        'replicas',
        'seed',
      ]),
    );
    const flood = await forecastRun({ config, observed: asPlanned({ interruptions: 1e9 }) });
    expect(flood.ok ? [] : flood.issues.map((issue) => issue.path)).toEqual(['observed.interruptions']);
    const controller = new AbortController();
    controller.abort();
    await expect(
      forecastRun({ config, observed: asPlanned() }, {}, { signal: controller.signal }),
    ).rejects.toMatchObject({ name: 'AbortError' });
  });

  it('runs from a spec: its design, its twin settings and its deadline', async () => {
    const runner = createInlineRunner();
    const result = await runForecast({ spec, observed: asPlanned(), replicas: 8, seed: 2 }, { runner });
    await runner.close();
    if (!result.ok) throw new Error(JSON.stringify(result.issues));
    expect(result.value.deadlineDays).toBe(33);
    expect(result.value.stepSeconds.planned).toBeCloseTo(config.stepSeconds, 9);
    expect(result.value.meetDeadlineProbability).toBeDefined();
  });
});

/** Where the emulator's clock starts (its default), Unix seconds. */
const START = Date.UTC(2026, 0, 1) / 1000;

/**
 * What a user reads off a Megatron log (one line per iteration) of the run so far, with the planned stops of the
 * operator's calendar (Unix seconds):
 * - the step time: the median iteration time (kpis.ts); the work done: the last iteration logged (Megatron's
 *   counter rewinds to the checkpoint, so it counts kept steps);
 * - unexpected interruptions: every rewind of the counter, and every long pause without one (a failure right after
 *   a checkpoint resumes at the iteration already logged) that holds no planned stop; long is kpis.ts's rule for a
 *   restart, over RESTART_PAUSE_FACTOR × the typical pause (the checkpoint save) and MIN_RESTART_PAUSE_SECONDS;
 * - each one's recovery: the clock time between the two lines less the restarted line's median iteration, half a
 *   step for the iteration the failure interrupted (lost work, as kpis.ts counts it) and, after a checkpoint, the
 *   save.
 */
function observeLog(text: string, plannedStops: readonly number[], elapsedSeconds: number): ObservedRun {
  const samples = parseStepLog(text).samples;
  const points = toStepPoints(samples);
  const m = observedKpis(points).medianSeconds;
  const lines = points.flatMap((p, j) => {
    const before = points[j - 1];
    if (before?.time === undefined || p.time === undefined) return [];
    const clock = p.time - before.time;
    return [
      { from: before.time, to: p.time, clock, rewind: p.step <= before.step, pause: clock - (p.iterationSeconds ?? m) },
    ];
  });
  const saves = Float64Array.from(lines.filter((l) => !l.rewind && l.pause > 2).map((l) => l.pause)).sort();
  const save = saves.length > 0 ? (saves[Math.floor(saves.length / 2)] as number) : 0;
  const long = Math.max(RESTART_PAUSE_FACTOR * save, MIN_RESTART_PAUSE_SECONDS);
  const recoverySeconds: number[] = [];
  for (const line of lines) {
    if (line.rewind) recoverySeconds.push(line.clock - 1.5 * m);
    else if (line.pause > long && !plannedStops.some((t) => t > line.from && t <= line.to)) {
      recoverySeconds.push(line.clock - 1.5 * m - save);
    }
  }
  return {
    elapsedSeconds,
    productiveSteps: samples[samples.length - 1]?.step ?? 0,
    interruptions: recoverySeconds.length,
    recoverySeconds,
    stepSeconds: m,
  };
}

describe('forecast calibration', () => {
  /**
   * The acceptance of issue 12: 50 emulated runs of one spec (seeds 1000–1049). The truth of each is its twin
   * replica run to the end; the forecast sees only the first 10 days of its emulated Megatron log, read as a user
   * would ({@link observeLog}).
   */
  it('covers the true finish with its P10–P90 interval in at least 35 of 50 runs', async () => {
    const observe = 10 * DAY;
    const windowed: TwinConfig = { ...config, windowSeconds: observe };
    const { training } = design.workload;
    let covered = 0;
    let early = 0;
    let late = 0;
    let bias = 0;
    const runs = 50;
    for (let i = 0; i < runs; i++) {
      const seed = 1000 + i;
      // The truth: the replica run to the end. The same replica stopped at 10 days is identical up to then (its
      // processes draw from their own streams; only the window's end differs), and the emulator writes its log.
      const truth = simulateRun(config, seed, 0, { detail: false }).summary.timeToTrainDays;
      const run = simulateRun(windowed, seed, 0, { detail: true });
      if (i === 0) {
        const upTo = (events: readonly { t: number }[]) => JSON.stringify(events.filter((e) => e.t <= observe));
        expect(upTo(run.events)).toBe(upTo(simulateRun(config, seed, 0, { detail: true }).events));
      }
      const emulated = emulateRun({
        run,
        config: windowed,
        globalBatchSequences: training.globalBatchSequences,
        sequenceLength: training.sequenceLength,
      });
      // The operator's calendar: the planned stops of the window (the emulator's events file holds them).
      const planned = emulated.eventList.filter((e) => e.kind === 'maintenance').map((e) => START + e.t);
      const observed = observeLog(emulated.log, planned, observe);
      const forecast = forecastValue(await forecastRun({ config, observed, replicas: 100, seed: seed + 7919 }));
      const { p10, p50, p90 } = forecast.timeToTrainDays;
      if (truth < p10) early += 1;
      else if (truth > p90) late += 1;
      else covered += 1;
      bias += (truth - p50) / runs;
    }
    console.log(
      `forecast calibration: P10–P90 covers the true finish in ${covered}/${runs} runs (${early} earlier, ${late} later; mean truth − P50 ${(bias * 24).toFixed(2)} h)`,
    );
    expect(covered).toBeGreaterThanOrEqual(35);
  }, 120_000);
});
