/**
 * Facility power of one replica, and the shape of the swing inside each step.
 *
 * - A step has three phases (setup.ts, from the estimate's breakdown): compute (forward, backward, recomputation
 *   and the optimizer) at the training level, exposed communication at the communication level, and waiting
 *   (pipeline bubble, stage imbalance) at the idle level. The job's running level is their time-weighted mean;
 *   while its GPUs wait (checkpoint writes, detection, restarts, waiting for spares) it draws the idle level.
 * - The facility overhead (PUE − 1) follows the IT load through the cooling plant's time constant τ: facility(t) =
 *   IT(t) + (PUE − 1)·IT_τ(t), IT_τ the first-order low-pass of the IT load. Its mean is PUE × the mean IT load; a
 *   10-second swing reaches the grid at its IT size, not × PUE.
 * - The swing's spectrum is the Fourier series of the periodic step pattern: a rectangular wave of duty d and height
 *   A has harmonics a_k = 2A·sin(πkd)/(πk) at k × the step frequency.
 *
 * The meter integrates energy exactly over the job's constant-level segments, keeps the peak and the minimum, and
 * counts the drops from the training level to the waiting level.
 * @module
 */

/**
 * Where the communication level sits between the idle and the training level, as a share of the gap. Planner
 * assumption (no measurement of a GPU's draw during collectives was found; see docs/twin.md, Power): NCCL runs its
 * kernels on up to 32 channels, one block each, about 24% of an H100's 132 SMs, while HBM and NVLink stream.
 */
export const COMM_POWER_SHARE = 0.25;

/**
 * Time constant of the cooling plant's power following the IT load, seconds. Planner assumption (docs/twin.md,
 * Power): chilled-water loops and their controllers respond over minutes, far slower than a 10-second step;
 * it changes the transients (peak, minimum, the size of a dip) and never the mean.
 */
export const COOLING_TIME_CONSTANT_SECONDS = 300;

/** Harmonics of the step swing the summary lists, largest first. */
export const TOP_HARMONICS = 5;

/** Harmonics the spectrum sums over (the band share and the largest ones are taken among them). */
export const SPECTRUM_HARMONICS = 200;

/** One phase of the periodic step waveform: a level held for a time. */
export interface PowerPhase {
  readonly name: string;
  readonly seconds: number;
  /** IT MW of the whole job during the phase (the constant rest of the IT load left out: it has no swing). */
  readonly mw: number;
}

/** One harmonic of the step swing. */
export interface Harmonic {
  /** 1 for the step frequency, 2 for twice it, and so on. */
  readonly k: number;
  readonly hz: number;
  /** Amplitude of the sinusoid at that frequency (half its peak-to-peak), facility MW. */
  readonly amplitudeMW: number;
}

/** The spectrum of the step swing. */
export interface StepSpectrum {
  /** The largest harmonics (at most {@link TOP_HARMONICS}), largest first; ties by frequency. */
  readonly harmonics: readonly Harmonic[];
  /** Variance of the step waveform at the facility, MW² (Parseval: Σ a_k²/2 over every harmonic). */
  readonly varianceMW2: number;
  /** Share of that variance at 0.1-20 Hz, the band utilities watch (arXiv 2508.14318), over the harmonics summed. */
  readonly bandShare: number;
}

/** Amplitude of harmonic k of a rectangular wave of height A and duty d: a_k = 2A·sin(πkd)/(πk) (Fourier series). */
export function rectangularHarmonic(heightMW: number, duty: number, k: number): number {
  // Fourier series of a pulse train of height A, duty d: a_k = (2A/(πk))·sin(πkd) (e.g. Oppenheim & Willsky, Ex. 3.5).
  return Math.abs((2 * heightMW * Math.sin(Math.PI * k * duty)) / (Math.PI * k));
}

/**
 * Amplitude of harmonic k of the periodic piecewise-constant waveform `phases` (one period, in order):
 * 2|c_k|, c_k = (1/T) Σ_j L_j ∫ e^{−i2πkt/T} dt over phase j. Two phases give {@link rectangularHarmonic}.
 */
export function phaseHarmonic(phases: readonly PowerPhase[], k: number): number {
  const period = phases.reduce((sum, p) => sum + p.seconds, 0);
  if (!(period > 0)) return 0;
  const w = (2 * Math.PI * k) / period;
  let re = 0;
  let im = 0;
  let t = 0;
  for (const p of phases) {
    // ∫_{t0}^{t1} e^{−iwt} dt = (sin(w t1) − sin(w t0))/w + i·(cos(w t1) − cos(w t0))/w
    const t1 = t + p.seconds;
    re += (p.mw * (Math.sin(w * t1) - Math.sin(w * t))) / w;
    im += (p.mw * (Math.cos(w * t1) - Math.cos(w * t))) / w;
    t = t1;
  }
  return (2 * Math.hypot(re, im)) / period;
}

/** Time-weighted variance of the periodic waveform `phases`, MW². */
export function phaseVariance(phases: readonly PowerPhase[]): number {
  const period = phases.reduce((sum, p) => sum + p.seconds, 0);
  if (!(period > 0)) return 0;
  const mean = phases.reduce((sum, p) => sum + p.mw * p.seconds, 0) / period;
  return phases.reduce((sum, p) => sum + (p.mw - mean) ** 2 * p.seconds, 0) / period;
}

/**
 * Gain of the facility over the IT load at `hz`: |1 + (PUE − 1)/(1 + i2πfτ)|, the overhead following the IT load
 * through a first-order low-pass of time constant τ (transfer function 1/(1 + iωτ)).
 */
export function facilityGain(hz: number, pue: number, tauSeconds: number): number {
  // 1 + (PUE − 1)/(1 + ix) with x = ωτ: real 1 + (PUE − 1)/(1 + x²), imaginary −(PUE − 1)·x/(1 + x²)
  const x = 2 * Math.PI * hz * tauSeconds;
  const d = 1 + x * x;
  return Math.hypot(1 + (pue - 1) / d, ((pue - 1) * x) / d);
}

/** The spectrum of the step swing `phases` (IT MW) at the facility, over the first `harmonics` harmonics. */
export function stepSpectrum(
  phases: readonly PowerPhase[],
  pue: number,
  tauSeconds: number,
  harmonics = SPECTRUM_HARMONICS,
): StepSpectrum {
  const period = phases.reduce((sum, p) => sum + p.seconds, 0);
  if (!(period > 0)) return { harmonics: [], varianceMW2: 0, bandShare: 0 };
  const list: Harmonic[] = [];
  let total = 0;
  let band = 0;
  for (let k = 1; k <= harmonics; k++) {
    const hz = k / period;
    const amplitudeMW = phaseHarmonic(phases, k) * facilityGain(hz, pue, tauSeconds);
    // Parseval: a sinusoid of amplitude a carries a²/2 of the variance.
    const power = (amplitudeMW * amplitudeMW) / 2;
    total += power;
    if (hz >= 0.1 && hz <= 20) band += power;
    list.push({ k, hz, amplitudeMW });
  }
  const largest = Math.max(0, ...list.map((h) => h.amplitudeMW));
  const top = list
    .filter((h) => h.amplitudeMW > 1e-9 * largest)
    .sort((a, b) => b.amplitudeMW - a.amplitudeMW || a.k - b.k)
    .slice(0, TOP_HARMONICS);
  // The variance is the waveform's at the step frequency's gain (every harmonic sees that gain to within
  // (PUE − 1)/(1 + (2πτ/T)²), under 10^-4 for τ ≫ T); the band share is over the harmonics summed.
  const gain = facilityGain(1 / period, pue, tauSeconds);
  return { harmonics: top, varianceMW2: phaseVariance(phases) * gain * gain, bandShare: total > 0 ? band / total : 0 };
}

/** The power settings of a run (TwinConfig.power, built by setup.ts). */
export interface PowerSettings {
  readonly pue: number;
  /** Facility MW while the job trains (step average), and while its GPUs wait (checkpoint, restart). */
  readonly runningMW: number;
  readonly idleMW: number;
  /** Peak-to-peak swing inside every step between its phases (the IT swing reaches the grid), and its frequency. */
  readonly stepSwingMW: number;
  readonly stepHz: number;
  /**
   * Board power of one training GPU averaged over a step (compute at the training level, exposed communication at
   * the communication level, bubble and imbalance idle), W.
   */
  readonly gpuRunningW: number;
  /** The step's phases in order: seconds and one training GPU's board power, W. */
  readonly phases: readonly { readonly name: string; readonly seconds: number; readonly gpuW: number }[];
  /** The step swing's harmonics at the facility, its variance and its share at 0.1-20 Hz. */
  readonly spectrum: StepSpectrum;
  /** The cooling plant follows the IT load with this time constant; the overhead (PUE − 1) applies to that. */
  readonly coolingTimeConstantSeconds: number;
}

/** The power figures of one run. */
export interface PowerSummary {
  /** Mean facility power, MW (PUE × the mean IT load, up to the cooling lag at the run's ends). */
  readonly meanMW: number;
  readonly peakMW: number;
  readonly minimumMW: number;
  readonly energyMWh: number;
  /** Peak-to-peak swing inside each step at the facility (the IT swing: the cooling overhead does not follow it). */
  readonly stepSwingMW: number;
  readonly stepHz: number;
  /** The step's phases: seconds and the board power of one training GPU in each. */
  readonly phases: readonly { readonly name: string; readonly seconds: number; readonly gpuW: number }[];
  /** The largest harmonics of the step swing (frequency, amplitude), its variance and its share at 0.1-20 Hz. */
  readonly spectrum: StepSpectrum;
  readonly coolingTimeConstantSeconds: number;
  /** Drops from the training level to the waiting level (failures, blocking checkpoints), per day. */
  readonly dipsPerDay: number;
  /** Size of each drop as it happens (the IT drop; the cooling overhead follows over τ). */
  readonly dipMW: number;
}

/** Integrates the facility power of the job's segments, the overhead through the cooling time constant. */
export class PowerMeter {
  /** Facility MW (PUE × IT) of the job's levels while it trains and while its GPUs wait: what the job feeds. */
  readonly runningMW: number;
  readonly idleMW: number;
  private readonly pue: number;
  private readonly tau: number;
  /** IT MW averaged over the cooling time constant; NaN before the first segment. */
  private cooled = Number.NaN;
  private energyMWs = 0;
  private peakMW = 0;
  private minimumMW = Number.POSITIVE_INFINITY;
  private dips = 0;

  constructor(private readonly power: PowerSettings) {
    this.runningMW = power.runningMW;
    this.idleMW = power.idleMW;
    this.pue = power.pue > 0 ? power.pue : 1;
    this.tau = Math.max(0, power.coolingTimeConstantSeconds);
  }

  /** Adds the segment [t0, t1) at `mw` facility MW (PUE × its IT load). */
  record(t0: number, t1: number, mw: number): void {
    const dt = t1 - t0;
    const it = mw / this.pue;
    const overhead = this.pue - 1;
    if (Number.isNaN(this.cooled)) this.cooled = it; // the cooling plant starts settled on the first level
    const start = this.cooled;
    // First-order low-pass over a constant input x: s(t) = x + (s0 − x)e^{−t/τ}; ∫s = xΔ + (s0 − x)τ(1 − e^{−Δ/τ}).
    const decay = this.tau > 0 ? Math.exp(-dt / this.tau) : 0;
    const cooledIntegral = it * dt + (this.tau > 0 ? (start - it) * this.tau * (1 - decay) : 0);
    const end = it + (start - it) * decay;
    this.cooled = end;
    this.energyMWs += it * dt + overhead * cooledIntegral;
    // s is monotone within a segment, so the facility level's extremes are at its ends.
    const first = it + overhead * (this.tau > 0 ? start : it);
    const last = it + overhead * end;
    const high = Math.max(first, last);
    const low = Math.min(first, last);
    if (high > this.peakMW) this.peakMW = high;
    if (low < this.minimumMW) this.minimumMW = low;
  }

  /** Counts one drop from the training level to the waiting level. */
  dip(): void {
    this.dips++;
  }

  /** The figures over a run of `wallSeconds`. */
  summary(wallSeconds: number): PowerSummary {
    const { power } = this;
    const drop = power.runningMW - power.idleMW;
    return {
      meanMW: this.energyMWs / wallSeconds,
      peakMW: this.peakMW,
      minimumMW: Number.isFinite(this.minimumMW) ? this.minimumMW : 0,
      energyMWh: this.energyMWs / 3600,
      stepSwingMW: power.stepSwingMW,
      stepHz: power.stepHz,
      phases: power.phases.map((p) => ({ name: p.name, seconds: p.seconds, gpuW: p.gpuW })),
      spectrum: power.spectrum,
      coolingTimeConstantSeconds: this.tau,
      dipsPerDay: this.dips / (wallSeconds / 86400),
      dipMW: this.tau > 0 ? drop / this.pue : drop,
    };
  }
}
