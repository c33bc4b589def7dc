/**
 * Host identities: which hosts the job holds, which are lemons, and how often each has failed, so that a failure
 * strikes a particular host and the same host can strike again. Host i of the fleet (the job's hosts 0 to
 * nodes − 1, then the spares, then hosts the platform sends) is a lemon when ⌊(i + 1)f⌋ > ⌊if⌋, which spreads a
 * share f evenly over any prefix; hosts from the platform are healthy. A lemon weighs `multiplier` in the
 * lemon-weighted classes, a healthy host 1 (AIReSim, arXiv 2603.07041 Table 1: 15% of servers at 5×).
 * @module
 */
import type { RandomStream } from '../../sim/index.js';

/** The job's hosts, by kind, with O(1) joins, leaves and weighted picks. */
export class Fleet {
  /** Next id for a host the platform sends. */
  private nextId: number;
  private readonly lemons: number[] = [];
  private readonly healthy: number[] = [];
  /** Where each member sits in its list. */
  private readonly slot = new Map<number, number>();
  private readonly failureCounts = new Map<number, number>();
  /** Hosts the platform sent (healthy whatever their id). */
  private readonly platform = new Set<number>();

  /**
   * @param nodes the job's hosts (ids 0 to nodes − 1, all members at the start)
   * @param hosts every host of the run at the start (job and spares)
   */
  constructor(
    nodes: number,
    hosts: number,
    private readonly fraction: number,
    private readonly multiplier: number,
  ) {
    this.nextId = hosts;
    for (let id = 0; id < nodes; id++) this.join(id);
  }

  /** Whether host `id` is a lemon: ⌊(id + 1)f⌋ > ⌊id·f⌋ for the original hosts; platform hosts are healthy. */
  isLemon(id: number): boolean {
    return !this.platform.has(id) && Math.floor((id + 1) * this.fraction) > Math.floor(id * this.fraction);
  }

  /** A new healthy host from the platform: an id past every original host, never a lemon. */
  platformHost(): number {
    const id = this.nextId++;
    this.platform.add(id);
    return id;
  }

  /** Members now. */
  get size(): number {
    return this.lemons.length + this.healthy.length;
  }

  /** Lemon members now. */
  get lemonCount(): number {
    return this.lemons.length;
  }

  /** Total weight of the members in the lemon-weighted classes: healthy + m·lemons. */
  weight(): number {
    return this.healthy.length + this.multiplier * this.lemons.length;
  }

  /** Host `id` joins the job. */
  join(id: number): void {
    const list = this.listOf(id);
    this.slot.set(id, list.length);
    list.push(id);
  }

  /** Host `id` leaves the job (swap-remove). */
  leave(id: number): void {
    const list = this.listOf(id);
    const at = this.slot.get(id);
    if (at === undefined) return;
    const last = list.pop() as number;
    if (last !== id) {
      list[at] = last;
      this.slot.set(last, at);
    }
    this.slot.delete(id);
  }

  /** A member drawn uniformly. */
  pickUniform(stream: RandomStream): number {
    const n = this.size;
    const i = Math.min(n - 1, Math.floor(stream.uniform() * n));
    return i < this.lemons.length ? (this.lemons[i] as number) : (this.healthy[i - this.lemons.length] as number);
  }

  /** A member drawn in proportion to its weight: a lemon with probability m·L / (H + m·L). */
  pickWeighted(stream: RandomStream): number {
    const lemonWeight = this.multiplier * this.lemons.length;
    const u = stream.uniform() * (lemonWeight + this.healthy.length);
    if (u < lemonWeight) {
      return this.lemons[Math.min(this.lemons.length - 1, Math.floor(u / this.multiplier))] as number;
    }
    return this.healthy[Math.min(this.healthy.length - 1, Math.floor(u - lemonWeight))] as number;
  }

  /** Counts one failure of host `id`; returns its failures so far. */
  recordFailure(id: number): number {
    const n = (this.failureCounts.get(id) ?? 0) + 1;
    this.failureCounts.set(id, n);
    return n;
  }

  private listOf(id: number): number[] {
    return this.isLemon(id) ? this.lemons : this.healthy;
  }
}
