/**
 * Straggler scores for one synchronous job from per-rank timings: each iteration, every rank's time in a traced
 * section (its compute, NCCL kernels excluded, as NVIDIA's resiliency extension measures it [operate.md §2.1,
 * O20]). In a synchronous job every rank waits for the slowest at the next collective, so a slow rank shows in its
 * own section time, not in the step time.
 *
 * Scores follow the resiliency extension: a rank's *relative* score is the reference rank's time over its own (1:
 * as fast as the reference, 0.5: twice as slow) and its *individual* score is its own best over its current. The
 * reference here is the job's typical rank (the median across ranks) rather than the fastest, so that the score of
 * a healthy rank does not sink with the job's size as the fastest of 16,384 noisy ranks gets faster by chance; the
 * NVRx relative score against the fastest rank is kept in the evidence (`relativeToFastest`).
 *
 * The flag is a per-job noise model rather than NVRx's fixed 0.75 (which cannot see a 10 % straggler):
 * - each iteration's log ratios to the cross-rank median remove what all ranks share (a slow step is slow for all);
 * - every {@link REPORT_SECONDS} the detector averages each rank's log ratios over the iterations of the last
 *   {@link WINDOW_SECONDS} (at least {@link MIN_ITERATIONS}), each clipped at ±6 σ̂ so that one hiccup does not
 *   flag a rank, where σ̂ is 1.4826 × the MAD of every log ratio in the window (the job's rank-to-rank noise);
 * - a rank is flagged when the mean of its newest m iterations (m from {@link MIN_ITERATIONS} to the window's n)
 *   exceeds max(ln(1 + {@link MIN_SHIFT}), z σ̂ / √m) and the same mean less their largest exceeds ln(1 + MIN_SHIFT)
 *   (one hiccup cannot flag alone), with z = Φ⁻¹(1 − α / (ranks · n)), a Bonferroni bound over
 *   ranks and lengths that keeps the chance of any false flag per report near α = {@link FAMILY_ALPHA} whatever the
 *   job's size: a strong straggler is flagged after two iterations, a 10 % one in a noisy job once enough add up;
 *   it is released when no length flags it and its mean is below half the level (hysteresis): one episode, one
 *   detection.
 *
 * Pure: no Node APIs. Memory: ranks × the window's iterations, bounded by {@link MAX_WINDOW_ITERATIONS}.
 * @module
 */
import { probit } from 'simple-statistics';
import { type Detection, keep, MAX_KEPT_DETECTIONS } from './types.js';
import { MAD_TO_SIGMA, sortedMad, sortedMedian } from './window.js';

/** Seconds between two reports (NVRx reports every 60 s by default, `report_time_interval`; here 12× as often, about every iteration of a multi-second step). */
export const REPORT_SECONDS = 5;
/** Seconds of iterations a report averages over. */
export const WINDOW_SECONDS = 40;
/** Fewest iterations a report averages over (a slow job's window reaches further back). */
export const MIN_ITERATIONS = 2;
/** Most iterations kept per rank (a fast job's window holds fewer than its 40 s). */
export const MAX_WINDOW_ITERATIONS = 64;
/** Smallest slowdown flagged: half the 10 % straggler the detector is held to (issue 13). */
export const MIN_SHIFT = 0.05;
/**
 * The floor for a per-GPU signal: 8 %. A healthy GPU's SM clock sits at its boost top, so the GPU-to-GPU spread
 * (and σ̂) can be nil and DVFS steps of a few percent would cross a 5 % floor; a throttled GPU drops 15–40 %
 * (1.98 GHz to 1.14–1.5 GHz at the H100's power cap, ../shared/data/telemetry/h100-power-2026-11-25.csv).
 */
export const MIN_SIGNAL_SHIFT = 0.08;
/** Family-wise chance of a false flag per report, over all ranks. */
export const FAMILY_ALPHA = 0.001;
/** One iteration's log ratio is clipped at this many σ̂ … */
const CLIP_SIGMAS = 6;
/** … or at a 10 % straggler's, whichever is larger: a quiet job's σ̂ must not clip the straggler away. */
const CLIP_FLOOR = Math.log(1.1);
/** Log ratios the noise estimate samples at most (an even stride over the window). */
const SIGMA_SAMPLE = 1 << 16;

/** Reports whose σ̂ the noise estimate pools (a median of them). */
const SIGMA_HISTORY = 20;

/** Jobs with fewer ranks than this hold each rank against the median of the others. */
const LEAVE_ONE_OUT = 32;

/** The median of `sorted` (ascending, at least 2 values) less one copy of `value`, which it holds. */
function medianWithout(sorted: ArrayLike<number>, value: number): number {
  let lo = 0;
  let hi = sorted.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if ((sorted[mid] as number) < value) lo = mid + 1;
    else hi = mid;
  }
  const removed = lo;
  const at = (i: number) => sorted[i < removed ? i : i + 1] as number;
  const n = sorted.length - 1;
  const mid = n >> 1;
  return n % 2 === 1 ? at(mid) : (at(mid - 1) + at(mid)) / 2;
}

/** Options of {@link RankStragglerDetector}. */
export interface RankStragglerOptions {
  /** The host of a rank (default `host-<rank ÷ 8>`, eight GPUs a host). */
  readonly hostOf?: (rank: number) => string;
  /**
   * A per-GPU signal in place of section times (one value per GPU per scrape): its name for the evidence, whether
   * a lower value is the slower GPU (SM clock) or a higher one (temperature), and the GPU's key (its dcgm UUID or
   * host/index) that detections carry in `gpu` instead of a rank.
   */
  readonly signal?: {
    readonly name: string;
    readonly unit: string;
    readonly lowerIsSlower: boolean;
    readonly gpuOf: (index: number) => string;
  };
  readonly reportSeconds?: number;
  readonly windowSeconds?: number;
}

/** Per-rank straggler detection over one job's iterations. */
export class RankStragglerDetector {
  private readonly logs: Float32Array;
  private readonly times = new Float64Array(MAX_WINDOW_ITERATIONS);
  private count = 0;
  private next = 0;
  private lastReport = Number.NEGATIVE_INFINITY;
  private readonly scratch: Float64Array;
  private readonly flagged: Uint8Array;
  /** Each rank's lowest window mean so far (its best), for the individual score. */
  private readonly best: Float32Array;
  private readonly hostOf: (rank: number) => string;
  private readonly signal: RankStragglerOptions['signal'];
  private readonly reportSeconds: number;
  private readonly windowSeconds: number;
  /** The σ̂ of the last reports, oldest first. */
  private readonly sigmas: number[] = [];
  readonly detections: Detection[] = [];
  /** Detections past {@link MAX_KEPT_DETECTIONS}, counted only. */
  dropped = 0;
  /** Reports made. */
  reports = 0;

  constructor(
    readonly ranks: number,
    options: RankStragglerOptions = {},
  ) {
    if (!Number.isInteger(ranks) || ranks < 2 || ranks > 1 << 20) {
      throw new RangeError(`ranks ${ranks}: an integer from 2 to ${1 << 20}`);
    }
    this.logs = new Float32Array(ranks * MAX_WINDOW_ITERATIONS);
    this.scratch = new Float64Array(ranks);
    this.flagged = new Uint8Array(ranks);
    this.best = new Float32Array(ranks).fill(Number.POSITIVE_INFINITY);
    this.hostOf = options.hostOf ?? ((rank) => `host-${Math.floor(rank / 8)}`);
    this.signal = options.signal;
    this.reportSeconds = options.reportSeconds ?? REPORT_SECONDS;
    this.windowSeconds = options.windowSeconds ?? WINDOW_SECONDS;
  }

  /**
   * One iteration: `sections[r]` is rank r's section time (seconds) and `time` when the iteration ended. Returns
   * the detections of the report made now, if one is due. Ranks with a missing or non-positive time count as the
   * median for this iteration.
   */
  pushIteration(time: number, sections: ArrayLike<number>): Detection[] {
    if (sections.length !== this.ranks) {
      throw new RangeError(`${sections.length} section times for ${this.ranks} ranks`);
    }
    const scratch = this.scratch;
    let valid = 0;
    for (let r = 0; r < this.ranks; r++) {
      const s = sections[r] as number;
      if (Number.isFinite(s) && s > 0) scratch[valid++] = s;
    }
    if (valid === 0) return [];
    const sorted = scratch.subarray(0, valid).sort();
    const median = sortedMedian(sorted as unknown as number[]) as number;
    const row = this.next * this.ranks;
    // The slower side is positive: a longer section, or a lower clock.
    const sign = this.signal?.lowerIsSlower === true ? -1 : 1;
    // A small job's median is pulled by each rank itself (the deviations, and σ̂ with them, read low: about 15 %
    // at 8 ranks): below LEAVE_ONE_OUT ranks each rank is held against the median of the others.
    const own = valid < LEAVE_ONE_OUT;
    for (let r = 0; r < this.ranks; r++) {
      const s = sections[r] as number;
      if (!(Number.isFinite(s) && s > 0)) {
        this.logs[row + r] = 0;
        continue;
      }
      const reference = own ? medianWithout(sorted, s) : median;
      this.logs[row + r] = sign * Math.log(s / reference);
    }
    this.times[this.next] = time;
    this.next = (this.next + 1) % MAX_WINDOW_ITERATIONS;
    this.count = Math.min(this.count + 1, MAX_WINDOW_ITERATIONS);
    // A clock that went back (a restarted run's seconds) starts the window afresh.
    if (time < this.lastReport) {
      this.lastReport = Number.NEGATIVE_INFINITY;
      this.count = 1;
    }
    if (time - this.lastReport < this.reportSeconds) return [];
    this.lastReport = time;
    return this.report(time);
  }

  /** The slots (ring indices) of the iterations in the window ending at `time`, newest first. */
  private windowSlots(time: number): number[] {
    const slots: number[] = [];
    for (let k = 1; k <= this.count; k++) {
      const slot = (this.next - k + MAX_WINDOW_ITERATIONS) % MAX_WINDOW_ITERATIONS;
      if (slots.length >= MIN_ITERATIONS && time - (this.times[slot] as number) > this.windowSeconds) break;
      slots.push(slot);
    }
    return slots;
  }

  private report(time: number): Detection[] {
    const slots = this.windowSlots(time);
    const n = slots.length;
    if (n < MIN_ITERATIONS) return [];
    this.reports++;
    // σ̂: 1.4826 × MAD of the window's log ratios (an even sample of them for a large job).
    const total = n * this.ranks;
    const stride = Math.max(1, Math.floor(total / SIGMA_SAMPLE));
    const sample: number[] = [];
    for (let k = 0; k < total; k += stride) {
      const slot = slots[Math.floor(k / this.ranks)] as number;
      sample.push(this.logs[slot * this.ranks + (k % this.ranks)] as number);
    }
    sample.sort((a, b) => a - b);
    const centre = sortedMedian(sample) as number;
    // The job's noise: this window's σ̂ pooled with the last reports' (a median of up to SIGMA_HISTORY of them), so
    // that a small job's few values do not make the level itself noisy.
    this.sigmas.push(Math.max(MAD_TO_SIGMA * sortedMad(sample, centre), 1e-6));
    if (this.sigmas.length > SIGMA_HISTORY) this.sigmas.shift();
    const sigma = sortedMedian([...this.sigmas].sort((a, b) => a - b)) as number;
    const clip = Math.max(CLIP_SIGMAS * sigma, CLIP_FLOOR);
    // The flag level of a mean over the newest m iterations: max(ln 1.05, z σ̂ / √m), Bonferroni over the ranks
    // and the window's lengths (z is Φ⁻¹(1 − α / (ranks · window))). A strong straggler is flagged after two
    // iterations, a 10 % one in a noisy job once enough of them add up.
    const z = probit(1 - FAMILY_ALPHA / (this.ranks * n));
    const floor = Math.log1p(this.signal === undefined ? MIN_SHIFT : MIN_SIGNAL_SHIFT);
    const levels = Array.from({ length: n + 1 }, (_, m) =>
      m === 0 ? Infinity : Math.max(floor, (z * sigma) / Math.sqrt(m)),
    );
    const level = levels[n] as number;
    const means = this.scratch;
    const lengths = new Uint8Array(this.ranks);
    const magnitudes = new Map<number, number>();
    let fastest = Number.POSITIVE_INFINITY;
    for (let r = 0; r < this.ranks; r++) {
      let sum = 0;
      let largest = Number.NEGATIVE_INFINITY;
      let flaggedAt = 0;
      let flaggedMean = 0;
      for (let m = 1; m <= n; m++) {
        const x = Math.min(clip, Math.max(this.logs[(slots[m - 1] as number) * this.ranks + r] as number, -clip));
        sum += x;
        if (x > largest) largest = x;
        // The mean of the newest m iterations against its level, and the same less their largest against the
        // floor: one hiccup, however large, cannot flag a rank alone.
        const trimmed = (sum - largest) / (m - 1);
        if (flaggedAt === 0 && m >= MIN_ITERATIONS && sum / m > (levels[m] as number) && trimmed > floor) {
          flaggedAt = m;
          flaggedMean = sum / m;
        }
      }
      const mean = sum / n;
      means[r] = flaggedAt > 0 ? flaggedMean : mean;
      // The score of a flagged rank: the median of its unclipped log ratios over the flagged iterations.
      if (flaggedAt > 0) {
        const values: number[] = [];
        for (let m = 0; m < flaggedAt; m++) values.push(this.logs[(slots[m] as number) * this.ranks + r] as number);
        values.sort((a, b) => a - b);
        magnitudes.set(r, sortedMedian(values) as number);
      }
      lengths[r] = flaggedAt;
      if (mean < fastest) fastest = mean;
    }
    const out: Detection[] = [];
    for (let r = 0; r < this.ranks; r++) {
      const mean = means[r] as number;
      if (mean < (this.best[r] as number)) this.best[r] = mean;
      if (this.flagged[r] === 1) {
        if (lengths[r] === 0 && mean < level / 2) this.flagged[r] = 0;
        continue;
      }
      if (lengths[r] === 0) continue;
      const m = lengths[r] as number;
      // The larger of the flagged statistic and the median unclipped ratio: the score sits below its threshold.
      const slowdown = Math.max(magnitudes.get(r) ?? mean, mean);
      this.flagged[r] = 1;
      const score = Math.exp(-slowdown);
      const host = this.hostOf(r);
      const signal = this.signal;
      const gpu = signal?.gpuOf(r);
      const flagLevel = Math.exp(-(levels[m] as number));
      const noise = `the job's ${signal === undefined ? 'rank-to-rank' : 'GPU-to-GPU'} noise σ̂ = ${(sigma * 100).toFixed(2)} %`;
      const detection: Detection = {
        kind: 'straggler',
        time,
        ...(signal === undefined ? { rank: r } : { gpu: gpu as string }),
        host,
        score,
        threshold: flagLevel,
        severity: score < 0.75 ? 'critical' : 'warning',
        evidence:
          signal === undefined
            ? `rank ${r} on ${host} spent ${((Math.exp(slowdown) - 1) * 100).toFixed(1)} % longer in its section than the job's typical rank over the last ${m} iterations (relative score ${score.toFixed(3)}, flagged below ${flagLevel.toFixed(3)}: ${noise})`
            : `GPU ${gpu} on ${host}: ${signal.name} ${((signal.lowerIsSlower ? 1 - Math.exp(-slowdown) : Math.exp(slowdown) - 1) * 100).toFixed(1)} % ${signal.lowerIsSlower ? 'below' : 'above'} the job's typical GPU over the last ${m} scrapes (score ${score.toFixed(3)}, flagged below ${flagLevel.toFixed(3)}: ${noise})`,
        signals: {
          relativeScore: score,
          relativeToFastest: Math.min(1, Math.exp(fastest - slowdown)),
          individualScore: Math.min(1, Math.exp((this.best[r] as number) - slowdown)),
          windowIterations: m,
          sigma,
          // 1 for a GPU that runs hot (the temperature signal): the action is a power cap, not a drain.
          ...(signal !== undefined && !signal.lowerIsSlower && { hot: 1 }),
        },
      };
      out.push(detection);
      if (!keep(this.detections, detection)) this.dropped++;
    }
    return out;
  }
}

/** The per-GPU signals a straggler shows in dcgm-exporter data: a throttled SM clock, a hot GPU. */
export const GPU_STRAGGLER_SIGNALS = {
  smClock: { name: 'SM clock', unit: 'MHz', lowerIsSlower: true },
  temperature: { name: 'GPU temperature', unit: '°C', lowerIsSlower: false },
} as const;

/**
 * A straggler detector over one per-GPU signal of a synchronous job's GPUs (one value per GPU per scrape, in the
 * order of `gpus`): a GPU whose SM clock sits below the job's typical GPU (throttling) or whose temperature sits
 * above it, by more than the job's GPU-to-GPU noise allows.
 */
export function gpuSignalDetector(
  gpus: readonly { readonly gpu: string; readonly host: string }[],
  signal: keyof typeof GPU_STRAGGLER_SIGNALS,
): RankStragglerDetector {
  return new RankStragglerDetector(gpus.length, {
    hostOf: (index) => (gpus[index] as { host: string }).host,
    signal: { ...GPU_STRAGGLER_SIGNALS[signal], gpuOf: (index) => (gpus[index] as { gpu: string }).gpu },
  });
}
