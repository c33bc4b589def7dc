/**
 * Spare hosts, repairs and the platform's refills. A failure that replaces its host sends the host to repair: an
 * automatic attempt of mean `autoRepairSeconds`, followed with probability `manualShare` by a manual repair of
 * mean `manualRepairSeconds` (exponential times; AIReSim defaults, arXiv 2603.07041 Table 1). The repaired host
 * returns to the pool. With `refillLeadSeconds`, the wider platform also sends a host for each one that left:
 * whichever comes first, the repair or the platform's host after the lead time, refills the slot (the other
 * host goes back to the platform). An excluded host (mitigation) never returns: the platform replaces it after
 * the replacement lead. At each restart the job takes spares for its missing hosts (and to regrow when it ran
 * shrunk); when the pool is short, the policy decides: `wait` for repairs, or `shrink` to the data-parallel
 * replicas the remaining hosts hold.
 * @module
 */
import type { RandomStream } from '../../sim/index.js';
import { PRIORITY, type RunContext } from '../context.js';
import type { Job } from '../job.js';
import type { Fleet } from './hosts.js';

/** The pool of free spare hosts and the repairs and refills that fill it. */
export class SparePool {
  /** Free spare hosts now (ids), and the fewest there were. */
  private readonly freeHosts: number[] = [];
  fewestFree: number;
  /** Slots refilled by the platform before the repair, and hosts excluded for good. */
  refills = 0;
  excluded = 0;

  /**
   * @param stream the repair times' stream.
   * @param onReturn called after a host is back in the pool.
   */
  constructor(
    private readonly ctx: RunContext,
    private readonly fleet: Fleet,
    private readonly stream: RandomStream,
    private readonly onReturn: () => void,
  ) {
    const { nodes, spares } = ctx.config;
    for (let id = nodes + spares.nodes - 1; id >= nodes; id--) this.freeHosts.push(id);
    this.fewestFree = this.free;
  }

  /** Free spare hosts now. */
  get free(): number {
    return this.freeHosts.length;
  }

  /**
   * Sends failed host `id` to repair; it (or the platform's host, when that comes first) comes back to the pool.
   * An `excluded` host never returns: the platform's replacement arrives after the replacement lead.
   */
  sendToRepair(id: number, excluded = false): void {
    const { autoRepairSeconds, manualRepairSeconds, manualShare } = this.ctx.config.spares;
    const repair = this.stream;
    // Drawn whatever happens next, so that a policy leaves the repair stream of every other host as it was.
    const seconds =
      repair.exponential(autoRepairSeconds) +
      (repair.bernoulli(manualShare) ? repair.exponential(manualRepairSeconds) : 0);
    if (excluded) {
      this.excluded++;
      this.fromPlatform(this.ctx.config.mitigation.replacementLeadSeconds);
      return;
    }
    this.returnAfter([id], seconds);
  }

  /** Sends the hosts of a failed domain away together for `seconds` (or until the platform refills them). */
  sendGroupToRepair(ids: readonly number[], seconds: number): void {
    if (ids.length > 0) this.returnAfter(ids, seconds);
  }

  /** Takes one free spare for host `id` leaving the job for `seconds` (a drained slow host); false if none. */
  swapOut(id: number, seconds: number): boolean {
    const spare = this.freeHosts.pop();
    if (spare === undefined) return false;
    this.fleet.leave(id);
    this.fleet.join(spare);
    this.fewestFree = Math.min(this.fewestFree, this.free);
    this.ctx.sim.after(seconds, () => this.hostsReturned([id]), PRIORITY.job);
    return true;
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
      for (let i = 0; i < take; i++) this.fleet.join(this.freeHosts.pop() as number);
      job.failedNodes -= take;
      swapped = true;
    }
    const regrow = Math.min(config.nodes - job.nodes, this.free);
    if (job.failedNodes === 0 && regrow > 0) {
      for (let i = 0; i < regrow; i++) this.fleet.join(this.freeHosts.pop() as number);
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

  /** The hosts are back after `seconds`, or the platform's as many after the lead time when that is sooner. */
  private returnAfter(ids: readonly number[], seconds: number): void {
    const lead = this.ctx.config.spares.refillLeadSeconds;
    if (lead !== undefined && lead < seconds) {
      // The platform's hosts arrive first; the failed ones go back to the platform once repaired.
      this.refills += ids.length;
      this.fromPlatform(lead, ids.length);
      return;
    }
    this.ctx.sim.after(seconds, () => this.hostsReturned(ids), PRIORITY.job);
  }

  /** `count` new healthy hosts from the platform arrive after `seconds`. */
  private fromPlatform(seconds: number, count = 1): void {
    this.ctx.sim.after(
      seconds,
      () => this.hostsReturned(Array.from({ length: count }, () => this.fleet.platformHost())),
      PRIORITY.job,
    );
  }

  private hostsReturned(ids: readonly number[]): void {
    for (const id of ids) this.freeHosts.push(id);
    this.onReturn();
  }
}
