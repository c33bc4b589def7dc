/**
 * The mitigation policy (spec `twin.mitigation`): what detection plus automation does.
 *
 * - Failure prediction: each unplanned failure is predicted with probability `recall`, `leadSeconds` before it
 *   strikes (failure processes schedule their failures at least that far ahead: `FailureContext.aheadSeconds`);
 *   false alarms arrive as a Poisson process at recall · rate · (1/precision − 1), so that true / all predictions
 *   = precision. Each prediction that finds the job training checkpoints now (Job.checkpointNow), an extra
 *   checkpoint that leaves the periodic schedule where it was: the failure then loses min(lead − write, time
 *   since the last periodic checkpoint) of work.
 * - Slow hosts: each episode is detected `stragglerDetectSeconds` after it starts; the host is drained (a clean
 *   stop that swaps it for a spare) when the expected gain beats the cost (stragglers.ts, {@link drainPays}).
 * - Lemons: a host is excluded after `excludeAfter` failures (detection-restart.ts, spares.ts).
 * - The checkpoint interval for the modelled failure rate (setup.ts).
 * @module
 */
import type { RandomStream } from '../../sim/index.js';
import { PRIORITY, type RunContext } from '../context.js';
import type { Job } from '../job.js';

/** What the policy did in a run. */
export interface MitigationCounts {
  /** Predictions (true and false) that found the job training and checkpointed it. */
  predictedCheckpoints: number;
  /** Predictions not followed by a failure. */
  falseAlarms: number;
  /** Slow hosts drained. */
  drains: number;
}

/** The failure predictor of a run; `scheduled` is the hook failure processes call ahead of each failure. */
export class Predictor {
  readonly counts: MitigationCounts = { predictedCheckpoints: 0, falseAlarms: 0, drains: 0 };

  /**
   * @param hits the stream that decides which failures are predicted.
   * @param alarms the false alarms' stream.
   */
  constructor(
    private readonly ctx: RunContext,
    private readonly job: Job,
    private readonly hits: RandomStream,
    private readonly alarms: RandomStream,
  ) {}

  /** Starts the false alarms (none without prediction or at precision 1). */
  start(): void {
    const prediction = this.ctx.config.mitigation.prediction;
    const { mtbfSeconds } = this.ctx.config;
    if (!prediction || !(prediction.precision < 1) || !Number.isFinite(mtbfSeconds)) return;
    // precision = true / (true + false), true ones at recall/M: false ones at (recall/M)(1/precision − 1).
    const rate = (prediction.recall / mtbfSeconds) * (1 / prediction.precision - 1);
    if (!(rate > 0)) return;
    const { sim, end } = this.ctx;
    const next = () => {
      const t = sim.now + this.alarms.exponential(1 / rate);
      if (t <= end) sim.at(t, alarm, PRIORITY.sampler);
    };
    const alarm = () => {
      this.counts.falseAlarms++;
      this.warn();
      next();
    };
    next();
  }

  /** A failure is due at `t` (planned ones are not predicted: they are planned); one due sooner than the lead warns now. */
  readonly scheduled = (t: number, planned = false): void => {
    const prediction = this.ctx.config.mitigation.prediction;
    if (!prediction || planned || !this.hits.bernoulli(prediction.recall)) return;
    const { sim } = this.ctx;
    sim.at(Math.max(sim.now, t - prediction.leadSeconds), () => this.warn(), PRIORITY.sampler);
  };

  private warn(): void {
    if (this.job.checkpointNow()) this.counts.predictedCheckpoints++;
  }
}

/**
 * Whether draining a slow host pays: the expected slow time it saves, E[remaining] × (1 − slowdown without it /
 * slowdown with it) with E[remaining] = the mean episode (exponential lengths are memoryless), against the cost of
 * the clean stop: write, restart, read and swap.
 */
export function drainPays(meanSeconds: number, withHost: number, without: number, costSeconds: number): boolean {
  return meanSeconds * (1 - without / withHost) > costSeconds;
}
