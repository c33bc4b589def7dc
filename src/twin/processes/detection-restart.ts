/**
 * What a failure does to the job: detection, restart, reload and swap. A failure process (failures.ts) reports
 * each component failure to {@link Recovery.strike}, which decides:
 *
 * - Planned maintenance stops the job cleanly (no lost work) and costs one restart; it is skipped while the
 *   job is already down.
 * - An unplanned failure sends its host to repair when it replaces one. During detection or while waiting it
 *   merges into the interruption under way; otherwise it interrupts the job, which loses the work since its
 *   last durable checkpoint and is noticed after `crashSeconds` (a crash) or `hangSeconds` (a hang).
 * - On a shrunk job, failures of per-component classes are thinned by hosts in use / hosts planned, which is
 *   exact for Poisson processes.
 *
 * A restart takes spares (spares.ts), then tears down, reschedules and initialises (`restartSeconds`), reads
 * the checkpoint back (`readSeconds`) and swaps hosts when it took any (`swapSeconds`); with hosts still
 * missing, the job waits.
 * @module
 */
import type { RandomStream } from '../../sim/index.js';
import type { RunContext } from '../context.js';
import type { Job } from '../job.js';
import type { SparePool } from './spares.js';

/** The interruption counts of a run. */
export interface InterruptionCounts {
  readonly unexpected: number;
  readonly planned: number;
  /** Unexpected interruptions by failure class id. */
  readonly byCause: Readonly<Record<string, number>>;
  /** Component failures, including those that struck while the job was already down. */
  readonly failures: number;
}

/** Turns failures into interruptions, detection and restarts. */
export class Recovery {
  private unexpected = 0;
  private planned = 0;
  private failures = 0;
  private readonly byCause: Record<string, number>;

  /** @param thinning the stream that thins failures on a shrunk job. */
  constructor(
    private readonly ctx: RunContext,
    private readonly job: Job,
    private readonly spares: SparePool,
    private readonly thinning: RandomStream,
  ) {
    this.byCause = Object.fromEntries(ctx.config.classes.map((c) => [c.id, 0]));
  }

  /** A component of failure class `classIndex` (an index into `config.classes`) fails now. */
  readonly strike = (classIndex: number): void => {
    const { config } = this.ctx;
    const job = this.job;
    const failureClass = config.classes[classIndex];
    if (!failureClass || job.state === 'done') return;
    // Failures arrive for the full allocation; a shrunk job has fewer hosts, so keep each with that probability.
    if (failureClass.per !== 'job' && job.nodes < config.nodes && !this.thinning.bernoulli(job.nodes / config.nodes))
      return;
    if (failureClass.detection === 'planned') {
      if (job.state !== 'running' && job.state !== 'checkpointing') return;
      this.planned++;
      job.log.add('maintenance');
      job.stop(true);
      job.restartCause = 'maintenance';
      this.restart();
      return;
    }
    this.failures++;
    if (failureClass.replacesNode) {
      job.failedNodes++;
      this.spares.sendToRepair();
    }
    if (job.state === 'detecting' || job.state === 'waiting') return; // one interruption already under way
    this.unexpected++;
    this.byCause[failureClass.id] = (this.byCause[failureClass.id] ?? 0) + 1;
    job.log.add('interruption', failureClass.id);
    job.stop(false);
    const { crashSeconds, hangSeconds } = config.detection;
    job.detect(failureClass.detection === 'hang' ? hangSeconds : crashSeconds, this.restart);
  };

  /** Takes spares for failed hosts (and to regrow a shrunk job), then restarts, waits or shrinks. */
  readonly restart = (): void => {
    const { config } = this.ctx;
    const job = this.job;
    job.advance();
    const swapped = this.spares.refill(job);
    if (job.failedNodes > 0) {
      job.waitForSpares();
      return;
    }
    job.restart(config.restartSeconds + config.checkpoint.readSeconds + (swapped ? config.swapSeconds : 0));
  };

  /** A repaired host is back in the pool: a job waiting for spares tries again. */
  readonly hostReturned = (): void => {
    if (this.job.state === 'waiting') this.restart();
  };

  /** The counts so far. */
  counts(): InterruptionCounts {
    return { unexpected: this.unexpected, planned: this.planned, byCause: this.byCause, failures: this.failures };
  }
}
