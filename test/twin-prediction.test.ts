/**
 * The failure predictor (twin.mitigation.prediction) held to closed forms. A predicted checkpoint is an extra one:
 * the periodic schedule goes on where it was (job.ts checkpointNow), so a failure `lead` after its prediction loses
 * min(lead − write, time since the last periodic checkpoint), E[min(D, U·τ)] = D − D²/(2τ) for a phase U uniform;
 * and failures are drawn at least a lead ahead (failures.ts), so a 5-hour warning fires 5 hours before its failure
 * even when the class fails hourly: recall × failures predictions, each exactly a lead ahead.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { FAILURE_CLASSES } from '../src/catalog/reliability.js';
import { ReplicaStreams, Simulation } from '../src/sim/index.js';
import { validateSpec } from '../src/spec/load.js';
import { PRIORITY, type RunContext } from '../src/twin/context.js';
import type { Job } from '../src/twin/job.js';
import { Predictor } from '../src/twin/processes/mitigation.js';
import { type FailureProcess, randomFailures, simulateRun } from '../src/twin/run.js';
import type { TwinConfig } from '../src/twin/setup.js';
import { runReplicas } from '../src/twin/study.js';
import { twinConfigOf } from './support/twin-config.js';

const HOUR = 3600;
const DAY = 86400;

// biome-ignore lint/suspicious/noExplicitAny: the fixtures edit a parsed YAML document
type Doc = Record<string, any>;

/** The Llama 3 405B example (16,384 GPUs, 2,048 hosts) with only `twin`'s failures and no other random process. */
function configWith(twin: Doc): TwinConfig {
  const doc = parse(readFileSync('examples/llama3-405b-54d.yaml', 'utf8')) as Doc;
  const off = Object.fromEntries(FAILURE_CLASSES.map((c) => [c.id, { ratePerYear: 0 }]));
  doc.twin = {
    ...doc.twin,
    stragglers: { ratePerNodeYear: 0 },
    throttling: { diurnalSwing: 0 },
    spares: { nodes: 2, policy: 'wait' },
    ...twin,
    failures: { ...off, ...twin.failures },
    checkpoint: { ...doc.twin.checkpoint, ...twin.checkpoint },
  };
  const valid = validateSpec(doc);
  if (!valid.ok) throw new Error(JSON.stringify(valid.issues));
  const config = twinConfigOf(valid.value);
  if (!config.ok) throw new Error(JSON.stringify(config.issues));
  return config.value;
}

/**
 * Software failures (a crash that replaces no host), each placed so that its prediction comes `phases[i]` seconds
 * into a periodic checkpoint cycle: the job resumes `recoverySeconds` after a failure and its periodic cycle starts
 * there, `cycles` whole cycles of `cycleSeconds` pass, then the prediction, then the failure `leadSeconds` later.
 * Every failure is scheduled (and the predictor told) at the start.
 */
function phased(
  phases: readonly number[],
  timing: { launch: number; recovery: number; cycle: number; cycles: number; lead: number },
): FailureProcess {
  return {
    start(ctx) {
      const index = ctx.config.classes.findIndex((c) => c.id === 'software');
      let resume = timing.launch;
      for (const phase of phases) {
        const t = resume + timing.cycles * timing.cycle + phase + timing.lead;
        ctx.sim.at(t, () => ctx.strike(index), PRIORITY.failure);
        ctx.scheduled?.(index, t);
        resume = t + timing.recovery;
      }
    },
  };
}

/**
 * The mean of `lost(phase)` for a phase uniform over [0, width): the midpoint rule on each side of `jump`, where the
 * lost work jumps (a periodic checkpoint becomes durable), each side weighed by its length. The lost work is
 * piecewise linear in the phase, so each side's midpoints are exact to O(1/n²).
 */
function uniformMean(width: number, jump: number, n: number, lost: (phases: number[]) => number): number {
  const side = (from: number, to: number) => Array.from({ length: n }, (_, i) => from + ((i + 0.5) / n) * (to - from));
  return (jump * lost(side(0, jump)) + (width - jump) * lost(side(jump, width))) / width;
}

describe('a predicted checkpoint', () => {
  const leadSeconds = 300;
  const twin = {
    days: 10,
    failures: { software: { ratePerYear: 0.01 } },
    checkpoint: { intervalMinutes: 10 },
    mitigation: { prediction: { recall: 1, precision: 1, leadMinutes: leadSeconds / 60 } },
  };

  it('leaves the failure E[min(lead − write, U·τ)] = D − D²/(2τ) of lost work (blocking, phase uniform)', () => {
    const config = configWith(twin);
    const { intervalSeconds: tau, writeSeconds: write, readSeconds } = config.checkpoint;
    const n = 100;
    const recovery = config.detection.crashSeconds + config.restartSeconds + readSeconds;
    // The prediction's phase uniform over the running part of the cycle [0, τ); the write is [τ, τ + w).
    const timing = { launch: config.restartSeconds, recovery, cycle: tau + write, cycles: 2, lead: leadSeconds };
    const d = leadSeconds - write;
    const lostAt = (phases: number[]) => {
      const { summary } = simulateRun(config, 1, 0, { failures: phased(phases, timing) });
      expect(summary.unexpectedInterruptions).toBe(n);
      expect(summary.mitigation.predictedCheckpoints).toBe(n);
      return (summary.badputHours.lostWork * HOUR) / n;
    };
    // The periodic checkpoint after the prediction's becomes durable at phase τ + w − D.
    const lost = uniformMean(tau, tau + write - d, n, lostAt);
    // The work since the prediction's checkpoint, D = lead − write, or less when a periodic one came after it:
    // E[min(D, U·τ)] = D − D²/(2τ) for 2w ≤ lead ≤ τ + w (the write's share cancels: docs/twin.md, Mitigation policy).
    const closedForm = d - (d * d) / (2 * tau);
    expect(lost / closedForm).toBeCloseTo(1, 6);
    // A restarted periodic timer would make every failure lose exactly D: the phase would not matter.
    expect(Math.abs(lost - d)).toBeGreaterThan(0.2 * d);
  });

  it('leaves D − D²/(2τ) + w(D − w/2)/τ running seconds of lost work with asynchronous checkpoints', () => {
    const config = configWith({ ...twin, checkpoint: { ...twin.checkpoint, mode: 'async' } });
    const { intervalSeconds: tau, writeSeconds: write, stallSeconds: stall, readSeconds } = config.checkpoint;
    const n = 100;
    const recovery = config.detection.crashSeconds + config.restartSeconds + readSeconds;
    const timing = { launch: config.restartSeconds, recovery, cycle: tau, cycles: 2, lead: leadSeconds };
    const lostAt = (phases: number[]) => {
      const { summary } = simulateRun(config, 1, 0, { failures: phased(phases, timing) });
      expect(summary.mitigation.predictedCheckpoints).toBe(n);
      return (summary.badputHours.lostWork * HOUR) / n;
    };
    // Running D = lead − stall after the snapshot; a periodic snapshot a after its start counts once durable (a ≥ w):
    // (1/τ)[(τ − D)D + wD + (D² − w²)/2], times the speed 1 − stall/τ (the snapshots' steady overhead).
    const d = leadSeconds - stall;
    const lost = uniformMean(tau, tau + write - d, n, lostAt);
    const closedForm = (1 - stall / tau) * (d - (d * d) / (2 * tau) + (write * (d - write / 2)) / tau);
    expect(lost / closedForm).toBeCloseTo(1, 6);
  });

  it('matches the closed form with Poisson failures too (the phase is then only nearly uniform)', () => {
    // 0.5 software failures per host-year on 2,048 hosts: one every 8.6 h; a 10-minute cycle, a 5-minute lead.
    const config = configWith({ ...twin, failures: { software: { ratePerYear: 0.5 } } });
    const { intervalSeconds: tau, writeSeconds: write } = config.checkpoint;
    const runs = runReplicas(config, 3, 0, 16);
    const predicted = runs.reduce((n, s) => n + s.mitigation.predictedCheckpoints, 0);
    const interruptions = runs.reduce((n, s) => n + s.unexpectedInterruptions, 0);
    const lost = runs.reduce((h, s) => h + s.badputHours.lostWork * HOUR, 0);
    const d = leadSeconds - write;
    // About 450 failures (a standard error of the mean loss near 1.5%); the 2% within a lead of a restart are not
    // checkpointed and lose the work since the restart instead.
    expect(predicted / interruptions).toBeGreaterThan(0.95);
    expect(lost / interruptions / (d - (d * d) / (2 * tau))).toBeGreaterThan(0.94);
    expect(lost / interruptions / (d - (d * d) / (2 * tau))).toBeLessThan(1.05);
  });
});

describe('a lead longer than the time between failures', () => {
  // One software failure an hour on 2,048 hosts, warned 5 hours ahead (docs/operate.md's detectors' lead).
  const leadSeconds = 5 * HOUR;
  const prediction = (recall: number) => ({ prediction: { recall, precision: 1, leadMinutes: leadSeconds / 60 } });
  const hourly = { days: 20, failures: { software: { ratePerYear: 4.28 } } };

  /** The predictor and the random failures on their own, the job always training: when each warning comes. */
  function warnings(recall: number, ahead: number, replica: number) {
    const config = configWith({ ...hourly, mitigation: prediction(recall) });
    const sim = new Simulation();
    const ctx: RunContext = { sim, config, end: 20 * DAY };
    const streams = new ReplicaStreams(1, replica);
    const warned: number[] = [];
    const job = { checkpointNow: () => warned.push(sim.now) > 0 } as unknown as Job;
    const predictor = new Predictor(ctx, job, streams.stream(41), streams.stream(42));
    const strikes: number[] = [];
    randomFailures.start({
      ...ctx,
      stream: (i) => streams.stream(i),
      strike: () => strikes.push(sim.now),
      scheduled: (_i, t) => predictor.scheduled(t),
      aheadSeconds: ahead,
    });
    sim.run(ctx.end);
    return { warned, strikes };
  }

  it('warns exactly a lead before every failure: recall 1 gives one warning at t − lead for each failure t', () => {
    const { warned, strikes } = warnings(1, leadSeconds, 0);
    expect(strikes.length).toBeGreaterThan(400); // 20 days of hourly failures
    const expected = strikes.map((t) => Math.max(0, t - leadSeconds));
    expect(warned).toEqual(expected);
  });

  it('fires recall × failures predictions (binomial, within 4σ)', () => {
    let fired = 0;
    let failures = 0;
    for (let replica = 0; replica < 4; replica++) {
      const { warned, strikes } = warnings(0.41, leadSeconds, replica);
      fired += warned.length;
      failures += strikes.length;
    }
    const sigma = Math.sqrt(failures * 0.41 * 0.59);
    expect(Math.abs(fired - 0.41 * failures)).toBeLessThan(4 * sigma);
  });

  it('drawn one at a time, most warnings would come late: at the previous failure, not a lead ahead', () => {
    const { warned, strikes } = warnings(1, 0, 0);
    const onTime = warned.filter((t, i) => t === Math.max(0, (strikes[i] as number) - leadSeconds)).length;
    expect(onTime / strikes.length).toBeLessThan(0.05);
  });

  it('checkpoints at recall × rate × the time the job trains, in a whole run', () => {
    const config = configWith({ ...hourly, mitigation: prediction(0.41) });
    const rate = config.classes.find((c) => c.id === 'software')?.ratePerSecond ?? 0;
    const runs = runReplicas(config, 5, 0, 6);
    const checkpoints = runs.reduce((n, s) => n + s.mitigation.predictedCheckpoints, 0);
    // A failure at t is predicted at t − lead and checkpoints if the job trains then; Poisson arrivals after t − lead
    // are independent of the job's state at t − lead, so E[checkpoints] = recall × rate × E[time training in
    // [0, end − lead]] (Campbell's theorem).
    const expected = runs.reduce((sum, s) => {
      const h = s.badputHours;
      const down = h.detection + h.restart + h.checkpoint + h.maintenance + h.spares;
      const trainingShare = 1 - down / (s.wallDays * 24);
      return sum + 0.41 * rate * trainingShare * (s.wallDays * DAY - leadSeconds);
    }, 0);
    // About 2,000 checkpoints over 6 replicas: a Poisson standard error of 2.2%.
    expect(checkpoints / expected).toBeGreaterThan(0.92);
    expect(checkpoints / expected).toBeLessThan(1.08);
  });
});
