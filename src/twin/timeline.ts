/**
 * The timeline of one replica: per bucket of `bucketSeconds`, the tokens per second produced and the facility
 * power (time-weighted mean, minimum and maximum level). The job feeds it one constant-rate segment at a time;
 * studies keep it only for replica 0.
 * @module
 */

/** The timeline: per bucket, tokens per second produced and facility power (average, minimum, maximum). */
export interface Timeline {
  readonly bucketSeconds: number;
  readonly tokensPerSecond: number[];
  readonly powerMW: { readonly mean: number[]; readonly min: number[]; readonly max: number[] };
}

/** Records constant-rate segments into buckets. */
export class TimelineRecorder {
  private readonly tokensRate: number[] = [];
  private readonly powerMean: number[] = [];
  private readonly powerMin: number[] = [];
  private readonly powerMax: number[] = [];

  /** @param bucketSeconds the width of a bucket. */
  constructor(readonly bucketSeconds: number) {}

  /** Adds the segment [t0, t1) at `tokensPerSecond` and `mw` to every bucket it overlaps. */
  record(t0: number, t1: number, tokensPerSecond: number, mw: number): void {
    if (!(t1 > t0)) return;
    const bucket = this.bucketSeconds;
    const { tokensRate, powerMean, powerMin, powerMax } = this;
    // Walk the buckets by index, not by float time: t = (i + 1)·bucket can round back into bucket i and stall.
    const last = Math.floor(t1 / bucket);
    for (let index = Math.floor(t0 / bucket); index <= last; index++) {
      const from = Math.max(t0, index * bucket);
      const until = Math.min(t1, (index + 1) * bucket);
      if (!(until > from)) continue;
      while (tokensRate.length <= index) {
        tokensRate.push(0);
        powerMean.push(0);
        powerMin.push(Number.POSITIVE_INFINITY);
        powerMax.push(0);
      }
      const share = (until - from) / bucket;
      tokensRate[index] = (tokensRate[index] as number) + tokensPerSecond * share;
      powerMean[index] = (powerMean[index] as number) + mw * share;
      if (mw < (powerMin[index] as number)) powerMin[index] = mw;
      if (mw > (powerMax[index] as number)) powerMax[index] = mw;
    }
  }

  /** The buckets recorded so far (a bucket no segment reached reads 0). */
  timeline(): Timeline {
    return {
      bucketSeconds: this.bucketSeconds,
      tokensPerSecond: this.tokensRate,
      powerMW: {
        mean: this.powerMean,
        min: this.powerMin.map((v) => (Number.isFinite(v) ? v : 0)),
        max: this.powerMax,
      },
    };
  }
}
