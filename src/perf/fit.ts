/**
 * Fits of the compute-rate model to microbenchmarks: Hockney's two-parameter model for GEMMs and a saturating
 * rate for attention. Pure functions, used by scripts/fit-compute-rates.ts and by the test that checks the
 * constants in h100-fit.ts are what the data gives.
 * @module
 */

/** A timed kernel: its FLOPs and measured seconds. */
export interface TimedKernel {
  readonly flops: number;
  readonly seconds: number;
}

/** Hockney's model: t = overhead + F / rate (Hockney 1991, "r∞ and n½"). */
export interface HockneyFit {
  readonly overheadSeconds: number;
  readonly tflops: number;
}

/**
 * Least-squares fit of t = t0 + F·u minimising relative error: minimise Σ((t0 + F·u − t)/t)², a linear problem
 * in (t0, u) solved by its 2×2 normal equations.
 */
export function fitHockney(kernels: readonly TimedKernel[]): HockneyFit {
  let s11 = 0;
  let s12 = 0;
  let s22 = 0;
  let r1 = 0;
  let r2 = 0;
  for (const { flops, seconds } of kernels) {
    const w = 1 / (seconds * seconds);
    s11 += w;
    s12 += w * flops;
    s22 += w * flops * flops;
    r1 += w * seconds;
    r2 += w * flops * seconds;
  }
  const det = s11 * s22 - s12 * s12;
  const overheadSeconds = (r1 * s22 - r2 * s12) / det;
  const secondsPerFlop = (s11 * r2 - s12 * r1) / det;
  return { overheadSeconds, tflops: 1 / secondsPerFlop / 1e12 };
}

/** A saturating rate: rate(x) = peak · x / (x + half), half the peak at x = half. */
export interface SaturatingFit {
  readonly tflops: number;
  readonly half: number;
}

/** Fits rate(x) = peak·x/(x + half) through 1/rate = 1/peak + (half/peak)·(1/x), by least squares on 1/rate. */
export function fitSaturating(points: readonly { readonly x: number; readonly tflops: number }[]): SaturatingFit {
  const n = points.length;
  let sx = 0;
  let sy = 0;
  let sxx = 0;
  let sxy = 0;
  for (const { x, tflops } of points) {
    const u = 1 / x;
    const y = 1 / tflops;
    sx += u;
    sy += y;
    sxx += u * u;
    sxy += u * y;
  }
  const slope = (n * sxy - sx * sy) / (n * sxx - sx * sx);
  const intercept = (sy - slope * sx) / n;
  return { tflops: 1 / intercept, half: slope / intercept };
}

/** Median and 90th percentile of absolute values. */
export function errorStats(errors: readonly number[]): { median: number; p90: number; max: number } {
  const sorted = errors.map(Math.abs).sort((a, b) => a - b);
  const at = (q: number) => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? 0;
  return { median: at(0.5), p90: at(0.9), max: sorted[sorted.length - 1] ?? 0 };
}
