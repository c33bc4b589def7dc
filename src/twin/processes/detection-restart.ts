/**
 * What a failure does to the job: detection, restart, reload and swap. A failure process (failures.ts) reports
 * each component failure to {@link Recovery.strike}, a domain process (domains.ts) each domain event to
 * {@link Recovery.strikeDomain}, which decide:
 *
 * - Planned maintenance stops the job cleanly (no lost work) and costs one restart; it is skipped while the
 *   job is already down.
 * - An unplanned failure sends its host to repair when it replaces one: a host of the job drawn in proportion to
 *   its weight (a lemon weighs more, hosts.ts), so the same host can fail again; after `excludeAfter` failures
 *   (mitigation) it is excluded for good. During detection or while waiting it merges into the interruption
 *   under way; otherwise it interrupts the job, which loses the work since its last durable checkpoint and is
 *   noticed after `crashSeconds` (a crash) or `hangSeconds` (a hang). A domain event takes all its hosts at once.
 * - On a shrunk job, failures of per-component classes are thinned by hosts in use / hosts planned, which is
 *   exact for Poisson processes; lemon-weighted classes are thinned by the weight of the job's hosts now over
 *   their bound instead.
 *
 * A restart takes spares (spares.ts), then tears down, reschedules and initialises (`restartSeconds`), reads
 * the checkpoint back (`readSeconds`) and swaps hosts when it took any (`swapSeconds`); with hosts still
 * missing, the job waits.
 * @module
 */
import type { RandomStream } from '../../sim/index.js';
import type { RunContext } from '../context.js';
import type { Job } from '../job.js';
import type { Fleet } from './hosts.js';
import type { SparePool } from './spares.js';

/** The interruption counts of a run. */
export interface InterruptionCounts {
  readonly unexpected: number;
  readonly planned: number;
  /** Unexpected interruptions by failure class (or domain) id. */
  readonly byCause: Readonly<Record<string, number>>;
  /** Component failures (a domain event counts once), including those that struck while the job was down. */
  readonly failures: number;
}

/** Turns failures into interruptions, detection and restarts. */
export class Recovery {
  private unexpected = 0;
  private planned = 0;
  private failures = 0;
  private readonly byCause: Record<string, number>;
  /** Weight bound of the lemon-weighted classes: the job's host count × the rate factor. */
  private readonly heaviest: number;

  /**
   * @param thinning the stream that thins failures on a shrunk job.
   * @param hosts the stream that picks the failing host (and thins the lemon-weighted classes).
   */
  constructor(
    private readonly ctx: RunContext,
    private readonly job: Job,
    private readonly spares: SparePool,
    private readonly fleet: Fleet,
    private readonly thinning: RandomStream,
    private readonly hosts: RandomStream,
  ) {
    this.byCause = Object.fromEntries([...ctx.config.classes, ...ctx.config.domains].map((c) => [c.id, 0]));
    this.heaviest = ctx.config.nodes * (ctx.config.lemons?.rateFactor ?? 1);
  }

  /** A component of failure class `classIndex` (an index into `config.classes`) fails now. */
  readonly strike = (classIndex: number): void => {
    const { config } = this.ctx;
    const job = this.job;
    const failureClass = config.classes[classIndex];
    if (!failureClass || job.state === 'done') return;
    if (failureClass.lemonWeighted) {
      // Arrivals come at the bound; keep each with (weight of the job's hosts now) / bound (Lewis-Shedler thinning).
      if (!this.hosts.bernoulli(Math.min(1, this.fleet.weight() / this.heaviest))) return;
    } else if (
      // Failures arrive for the full allocation; a shrunk job has fewer hosts, so keep each with that probability.
      failureClass.per !== 'job' &&
      job.nodes < config.nodes &&
      !this.thinning.bernoulli(job.nodes / config.nodes)
    ) {
      return;
    }
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
      const fleet = this.fleet;
      // With every host already out (a run far past its rates), the failure still costs a repair: a stand-in id.
      const id =
        fleet.size === 0
          ? fleet.platformHost()
          : failureClass.lemonWeighted
            ? fleet.pickWeighted(this.hosts)
            : fleet.pickUniform(this.hosts);
      fleet.leave(id);
      job.failedNodes++;
      const excludeAfter = config.mitigation.excludeAfter;
      this.spares.sendToRepair(id, excludeAfter !== undefined && fleet.recordFailure(id) >= excludeAfter);
    }
    this.interrupt(failureClass.id, failureClass.detection === 'hang');
  };

  /**
   * A domain event of `config.domains[domainIndex]` now: `hosts` hosts of the job (drawn from `stream`) go down
   * together and come back together after the domain's repair (or the platform's refill).
   */
  strikeDomain(domainIndex: number, stream: RandomStream): void {
    const { config } = this.ctx;
    const job = this.job;
    const domain = config.domains[domainIndex];
    if (!domain || job.state === 'done') return;
    // Domains the shrunk job no longer uses: keep the event with hosts in use / hosts planned.
    if (job.nodes < config.nodes && !stream.bernoulli(job.nodes / config.nodes)) return;
    const seconds = stream.exponential(domain.repairSeconds);
    const down: number[] = [];
    const count = Math.min(domain.hosts, this.fleet.size);
    for (let i = 0; i < count; i++) {
      const id = this.fleet.pickUniform(stream);
      this.fleet.leave(id);
      down.push(id);
    }
    this.failures++;
    job.failedNodes += down.length;
    this.spares.sendGroupToRepair(down, seconds);
    this.interrupt(domain.id, domain.detection === 'hang');
  }

  /** An unplanned failure of `cause`: merged into one under way, or a new interruption noticed after detection. */
  private interrupt(cause: string, hang: boolean): void {
    const job = this.job;
    if (job.state === 'detecting' || job.state === 'waiting') return; // one interruption already under way
    this.unexpected++;
    this.byCause[cause] = (this.byCause[cause] ?? 0) + 1;
    job.log.add('interruption', cause);
    job.stop(false);
    const { crashSeconds, hangSeconds } = this.ctx.config.detection;
    job.detect(hang ? hangSeconds : crashSeconds, this.restart);
  }

  /**
   * Drains a slow host (mitigation): the job writes a checkpoint and stops cleanly, the host leaves for
   * `awaySeconds` in exchange for a spare, and the job restarts with the swap (counted as maintenance).
   * Returns false when no spare is free or the job is not training.
   */
  drain(awaySeconds: number, stream: RandomStream): boolean {
    const job = this.job;
    if (job.state !== 'running' || this.spares.free === 0 || this.fleet.size === 0) return false;
    const { config } = this.ctx;
    const id = this.fleet.pickUniform(stream);
    if (!this.spares.swapOut(id, awaySeconds)) return false;
    job.log.add('maintenance', 'drain');
    const write =
      config.checkpoint.writeSeconds + (config.checkpoint.mode === 'async' ? config.checkpoint.stallSeconds : 0);
    job.writeThen(write, () => {
      job.stop(true);
      job.restartCause = 'maintenance';
      job.restart(config.restartSeconds + config.checkpoint.readSeconds + config.swapSeconds);
    });
    return true;
  }

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

  /** A host is back in the pool: a job waiting for spares tries again. */
  readonly hostReturned = (): void => {
    if (this.job.state === 'waiting') this.restart();
  };

  /** The counts so far. */
  counts(): InterruptionCounts {
    return { unexpected: this.unexpected, planned: this.planned, byCause: this.byCause, failures: this.failures };
  }
}
