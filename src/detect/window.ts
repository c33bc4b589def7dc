/**
 * A rolling window of the last `capacity` values kept in arrival order and in sorted order, so that its median and
 * median absolute deviation cost O(capacity) per update rather than a sort. The robust centre and spread of the
 * detectors' noise models (Hampel's median/MAD; 1.4826 × MAD estimates σ of a normal core, Rousseeuw & Croux 1993).
 *
 * Pure: no Node APIs.
 * @module
 */

/** MAD → σ of a normal distribution: 1 / Φ⁻¹(3/4) (Rousseeuw & Croux 1993). */
export const MAD_TO_SIGMA = 1.4826;

/** Index of the first element of `sorted` that is ≥ `value` (binary search). */
function lowerBound(sorted: readonly number[], value: number): number {
  let lo = 0;
  let hi = sorted.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if ((sorted[mid] as number) < value) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/** The median of values sorted ascending (undefined when empty). */
export function sortedMedian(sorted: readonly number[]): number | undefined {
  const n = sorted.length;
  if (n === 0) return undefined;
  const mid = n >> 1;
  return n % 2 === 1 ? (sorted[mid] as number) : ((sorted[mid - 1] as number) + (sorted[mid] as number)) / 2;
}

/** The median absolute deviation from `centre` of values sorted ascending, in O(n) by merging both sides. */
export function sortedMad(sorted: readonly number[], centre: number): number {
  const n = sorted.length;
  if (n === 0) return 0;
  // Deviations below the centre grow leftwards, those above grow rightwards: merge the two runs to the middle one.
  let right = lowerBound(sorted, centre);
  let left = right - 1;
  const target = n >> 1;
  let previous = 0;
  for (let k = 0; k <= target; k++) {
    const dl = left >= 0 ? centre - (sorted[left] as number) : Number.POSITIVE_INFINITY;
    const dr = right < n ? (sorted[right] as number) - centre : Number.POSITIVE_INFINITY;
    const d = Math.min(dl, dr);
    if (dl <= dr) left--;
    else right++;
    if (n % 2 === 0 && k === target - 1) previous = d;
    if (k === target) return n % 2 === 1 ? d : (previous + d) / 2;
  }
  return 0;
}

/** The last `capacity` values, with their median and MAD. */
export class RollingWindow {
  private readonly ring: Float64Array;
  private readonly sorted: number[] = [];
  private next = 0;

  constructor(readonly capacity: number) {
    if (!Number.isInteger(capacity) || capacity < 1)
      throw new RangeError(`window capacity ${capacity}: a positive integer`);
    this.ring = new Float64Array(capacity);
  }

  get size(): number {
    return this.sorted.length;
  }

  /** Adds a finite value, dropping the oldest one when full. */
  push(value: number): void {
    if (!Number.isFinite(value)) return;
    if (this.sorted.length === this.capacity) {
      const old = this.ring[this.next] as number;
      this.sorted.splice(lowerBound(this.sorted, old), 1);
    }
    this.ring[this.next] = value;
    this.next = (this.next + 1) % this.capacity;
    this.sorted.splice(lowerBound(this.sorted, value), 0, value);
  }

  /** Empties the window. */
  clear(): void {
    this.sorted.length = 0;
    this.next = 0;
  }

  median(): number | undefined {
    return sortedMedian(this.sorted);
  }

  /** σ of the window's normal core: 1.4826 × MAD around the median (0 when empty). */
  sigma(): number {
    const centre = this.median();
    return centre === undefined ? 0 : MAD_TO_SIGMA * sortedMad(this.sorted, centre);
  }
}
