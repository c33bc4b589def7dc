/**
 * Spare hosts and repairs. A failure that replaces its host sends the host to repair: an automatic attempt of
 * mean `autoRepairSeconds`, followed with probability `manualShare` by a manual repair of mean
 * `manualRepairSeconds` (exponential times; AIReSim defaults, arXiv 2603.07041 Table 1). The repaired host
 * returns to the pool. At each restart the job takes spares for its missing hosts (and to regrow when it ran
 * shrunk); when the pool is short, the policy decides: `wait` for repairs, or `shrink` to the data-parallel
 * replicas the remaining hosts hold.
 * @module
 */
import type { RandomStream } from '../../sim/index.js';
import { PRIORITY, type RunContext } from '../context.js';
import type { Job } from '../job.js';

/** The pool of free spare hosts and the repairs that refill it. */
export class SparePool {
  /** Free spare hosts now, and the fewest there were. */
  free: number;
  fewestFree: number;

  /**
   * @param stream the repair times' stream.
   * @param onReturn called after a repaired host is back in the pool.
   */
  constructor(
    private readonly ctx: RunContext,
    private readonly stream: RandomStream,
    private readonly onReturn: () => void,
  ) {
    this.free = ctx.config.spares.nodes;
    this.fewestFree = this.free;
  }

  /** Sends one failed host to repair; it comes back to the pool when repaired. */
  sendToRepair(): void {
    const { autoRepairSeconds, manualRepairSeconds, manualShare } = this.ctx.config.spares;
    const repair = this.stream;
    const seconds =
      repair.exponential(autoRepairSeconds) +
      (repair.bernoulli(manualShare) ? repair.exponential(manualRepairSeconds) : 0);
    this.ctx.sim.after(seconds, this.hostReturned, PRIORITY.job);
  }

  /**
   * Gives the job spares for its failed hosts, and regrows a shrunk job when none is missing; with hosts still
   * missing and policy `shrink`, shrinks the job to what its remaining hosts hold. Returns whether hosts were
   * swapped in (a restart that swaps costs `swapSeconds`).
   */
  refill(job: Job): boolean {
    const { config } = this.ctx;
    let swapped = false;
    const take = Math.min(job.failedNodes, this.free);
    if (take > 0) {
      this.free -= take;
      job.failedNodes -= take;
      swapped = true;
    }
    const regrow = Math.min(config.nodes - job.nodes, this.free);
    if (job.failedNodes === 0 && regrow > 0) {
      this.free -= regrow;
      job.nodes += regrow;
      swapped = true;
    }
    this.fewestFree = Math.min(this.fewestFree, this.free);
    if (job.failedNodes > 0 && config.spares.policy === 'shrink') {
      const remaining = job.nodes - job.failedNodes;
      const replicas = Math.min(config.dp, Math.floor((remaining * config.gpusPerNode) / config.replicaGpus));
      if (replicas >= 1) job.shrink(replicas);
    }
    return swapped;
  }

  private readonly hostReturned = (): void => {
    this.free++;
    this.onReturn();
  };
}
