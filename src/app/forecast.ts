/**
 * The forecast of a run in progress: the digital twin re-run from what has been observed so far, for the work
 * that is left (docs/twin.md, "Forecast from an observed run").
 * - Failure rate: a conjugate Gamma–Poisson update. The prior on the run's total unexpected-interruption rate is
 *   Gamma(α0, β0) with mean the twin's own rate (the sum over the unplanned classes, Weibull ones at their mean
 *   rate over the planned run) and α0 = {@link PRIOR_INTERRUPTIONS}; the posterior after n interruptions in an
 *   exposure T is Gamma(α0 + n, β0 + T). Each replica draws a rate from it and scales every unplanned class by
 *   rate / prior mean.
 * - Recovery: the restart overhead shifted by the gap between the (shrunk) observed mean recovery and the twin's.
 * - Step time: the observed median, less the twin's typical throttling and slow hosts it holds, replaces the
 *   planned one.
 * - The twin then runs the remaining work from a fresh launch (less the launch itself), and the elapsed time is
 *   added: P10/P50/P90 of the total days, and the share of replicas that meet the deadline.
 *
 * Pure: no Node APIs. Replicas run inline in batches between which the signal is checked and progress ticks; the
 * same input and seed give the same numbers.
 * @module
 */
import { randomGamma } from 'd3-random';
import { ReplicaStreams } from '../sim/index.js';
import type { Result, SpecIssue } from '../spec/issues.js';
import type { ResolvedSpec } from '../spec/resolve.js';
import type { TwinInput } from '../spec/twin.js';
import { type RunSummary, simulateRun } from '../twin/run.js';
import {
  expectedFailures,
  MAX_EXPECTED_FAILURES,
  type TwinConfig,
  type TwinFailureClass,
  twinConfig,
} from '../twin/setup.js';
import { percentile } from '../twin/study.js';
import { designOf } from './design.js';
import { type Ports, type Progress, SILENT, throwIfAborted, type UseCaseOptions } from './ports.js';
import { eventBudgetIssue } from './simulate.js';

/** Forecast replicas by default, and the most a forecast may run. */
export const DEFAULT_FORECAST_REPLICAS = 200;
export const MAX_FORECAST_REPLICAS = 10_000;

/**
 * Prior strength α0: the prior counts as this many interruptions. Chosen from the spread of unexpected-interruption
 * rates across the modern fleets of reliability-anchors.md §5.3 (RSC-2 2.34, Llama 3 3.79, RSC-1 6.50 per 1,000
 * node-days): coefficient of variation 0.50, and a Gamma prior's CV is 1/√α0, so α0 = 1/0.50² = 4.
 */
export const PRIOR_INTERRUPTIONS = 4;

/**
 * Weight of the twin's mean recovery against the observed ones, in recoveries: one. The twin's recovery times are
 * planner defaults (Meta's 5-minute restart, ByteRobust's detection), not a census, so one observation already
 * weighs as much.
 */
export const PRIOR_RECOVERIES = 1;

/** The random stream of the rate draws ({@link ReplicaStreams} index): past the twin's 0–35, before the emulator's 48. */
const RATE_STREAM = 40;

/** Replicas run between two checks of the signal. */
const BATCH = 8;

const DAY = 86400;

/** What has been observed of the run so far. */
export interface ObservedRun {
  /** Wall-clock seconds since the run started. */
  readonly elapsedSeconds: number;
  /** Training steps done and kept (Megatron's iteration counter, which rewinds with the checkpoint). */
  readonly productiveSteps?: number;
  /** Or tokens done and kept (give one of the two). */
  readonly productiveTokens?: number;
  /** Unexpected interruptions seen (restarts: iteration rewinds, memory resets). */
  readonly interruptions: number;
  /** Observed recovery of each interruption, seconds (from the restart gaps); may be empty or absent. */
  readonly recoverySeconds?: readonly number[];
  /** Steady step time, seconds: the median over the observed steps. */
  readonly stepSeconds: number;
}

/** The input of {@link forecastRun}. */
export interface ForecastInput {
  /** The planned run's twin configuration (from the spec's design, `twinConfig`); a `twin.days` window is ignored. */
  readonly config: TwinConfig;
  readonly observed: ObservedRun;
  /** The deadline, days from the start (the spec's `constraints.deadlineDays`). */
  readonly deadlineDays?: number;
  /** Replicas, 1 to {@link MAX_FORECAST_REPLICAS}; default {@link DEFAULT_FORECAST_REPLICAS}. */
  readonly replicas?: number;
  /** Seed of the replicas (an integer from −2^31 to 2^31 − 1); default 1. */
  readonly seed?: number;
  /** Prior strength α0 in interruptions; default {@link PRIOR_INTERRUPTIONS}. */
  readonly priorInterruptions?: number;
}

/** A Gamma distribution by shape and rate (its rate β in seconds: the mean is shape / β per second). */
export interface GammaDistribution {
  readonly shape: number;
  readonly rateSeconds: number;
}

/** Mean, P10 and P90 of a failure rate, per day. */
export interface RateSummary {
  readonly mean: number;
  readonly p10: number;
  readonly p90: number;
}

/** P10/P50/P90 and mean of the total time to train, days from the start. */
export interface ForecastDays {
  readonly p10: number;
  readonly p50: number;
  readonly p90: number;
  readonly mean: number;
}

/** What {@link forecastRun} produced. */
export interface ForecastOutcome {
  /** Replicas run (0 when no work is left). */
  readonly replicas: number;
  readonly seed: number;
  readonly elapsedDays: number;
  /** Share of the workload's tokens still to train. */
  readonly remainingShare: number;
  readonly remainingTokens: number;
  /** Total days from the start to the end of training. */
  readonly timeToTrainDays: ForecastDays;
  /** Replicas that trained the remaining work within the twin's safety stop (the rest are projected). */
  readonly finished: number;
  readonly failureRate: {
    /** α0, and the exposure the prior stands for (α0 / prior mean), days. */
    readonly priorInterruptions: number;
    readonly priorExposureDays: number;
    readonly prior: RateSummary;
    readonly posterior: RateSummary;
    readonly interruptions: number;
    /** Observed time the job could be interrupted: elapsed less the recoveries, days. */
    readonly exposureDays: number;
  };
  readonly recoverySeconds: {
    /** The twin's mean recovery (detection, restart, reload, swap). */
    readonly planned: number;
    /** The mean of the observed recoveries; absent when none was given. */
    readonly observed?: number;
    /** The estimate used: (PRIOR_RECOVERIES × planned + Σ observed) / (PRIOR_RECOVERIES + m). */
    readonly used: number;
    /** The restart overhead of the remaining run (the planned one shifted by used − planned). */
    readonly restartSeconds: number;
  };
  readonly stepSeconds: {
    readonly planned: number;
    readonly observed: number;
    /** The median step-time factor of the twin's throttling and slow hosts ({@link typicalStepSlowdown}). */
    readonly typicalSlowdown: number;
    /** The nominal step the remaining run is given: observed / typicalSlowdown (the twin adds the slowdowns). */
    readonly used: number;
  };
  readonly deadlineDays?: number;
  /** Share of replicas that finish by the deadline. */
  readonly meetDeadlineProbability?: number;
}

/** ln Γ(x) for x > 0: Lanczos' approximation, g = 7, n = 9 (Lanczos 1964; coefficients of Numerical Recipes 3rd ed. §6.1). */
export function lnGamma(x: number): number {
  const c = [
    0.9999999999998099, 676.5203681218851, -1259.1392167224028, 771.3234287776531, -176.6150291621406,
    12.507343278686905, -0.13857109526572012, 9.984369578019572e-6, 1.5056327351493116e-7,
  ];
  // Reflection Γ(x)Γ(1−x) = π / sin(πx) below 0.5 (Abramowitz and Stegun 6.1.17).
  if (x < 0.5) return Math.log(Math.PI / Math.abs(Math.sin(Math.PI * x))) - lnGamma(1 - x);
  const z = x - 1;
  let a = c[0] as number;
  const t = z + 7.5;
  for (let i = 1; i < 9; i++) a += (c[i] as number) / (z + i);
  // ln Γ(z+1) = ½ ln 2π + (z + ½) ln t − t + ln A(z) (Lanczos 1964).
  return 0.5 * Math.log(2 * Math.PI) + (z + 0.5) * Math.log(t) - t + Math.log(a);
}

/**
 * The regularised lower incomplete gamma function P(a, x) = γ(a, x)/Γ(a): the series for x < a + 1, the continued
 * fraction of Q = 1 − P by Lentz's method otherwise (Numerical Recipes 3rd ed. §6.2, gser and gcf).
 */
export function regularizedGammaP(a: number, x: number): number {
  if (x <= 0) return 0;
  const front = -x + a * Math.log(x) - lnGamma(a);
  if (x < a + 1) {
    // γ(a, x) = e^{−x} x^a Σ x^n / (a (a+1) … (a+n)) (NR eq. 6.2.5).
    let term = 1 / a;
    let sum = term;
    for (let n = 1; n < 10_000; n++) {
      term *= x / (a + n);
      sum += term;
      if (Math.abs(term) < Math.abs(sum) * 1e-16) break;
    }
    return Math.min(1, sum * Math.exp(front));
  }
  // Γ(a, x) = e^{−x} x^a (1/(x+1−a−) (1·(1−a))/(x+3−a−) …) (NR eq. 6.2.7), evaluated by modified Lentz.
  const tiny = 1e-300;
  let b = x + 1 - a;
  let c = 1 / tiny;
  let d = 1 / b;
  let h = d;
  for (let i = 1; i < 10_000; i++) {
    const an = -i * (i - a);
    b += 2;
    d = an * d + b;
    if (Math.abs(d) < tiny) d = tiny;
    c = b + an / c;
    if (Math.abs(c) < tiny) c = tiny;
    d = 1 / d;
    const delta = d * c;
    h *= delta;
    if (Math.abs(delta - 1) < 1e-16) break;
  }
  return Math.max(0, 1 - Math.exp(front) * h);
}

/** The p-quantile of Gamma(shape, rate): the x with P(shape, rate·x) = p, by bisection on the CDF. */
export function gammaQuantile(distribution: GammaDistribution, p: number): number {
  const { shape, rateSeconds } = distribution;
  if (!(p > 0)) return 0;
  let low = 0;
  let high = Math.max(1, shape);
  while (regularizedGammaP(shape, high) < p && high < 1e300) high *= 2;
  for (let i = 0; i < 200 && high - low > 1e-15 * high; i++) {
    const mid = 0.5 * (low + high);
    if (regularizedGammaP(shape, mid) < p) low = mid;
    else high = mid;
  }
  // Gamma(shape, β) = Gamma(shape, 1) / β (scaling).
  return (0.5 * (low + high)) / rateSeconds;
}

/**
 * The Gamma–Poisson update: a Gamma(α, β) prior on a Poisson rate and n events seen in an exposure T give the
 * posterior Gamma(α + n, β + T) (conjugacy; Gelman et al., Bayesian Data Analysis 3rd ed. §2.6).
 */
export function gammaPoissonPosterior(
  prior: GammaDistribution,
  count: number,
  exposureSeconds: number,
): GammaDistribution {
  return { shape: prior.shape + count, rateSeconds: prior.rateSeconds + exposureSeconds };
}

/** Mean, P10 and P90 of a Gamma distribution, per day. */
export function rateSummary(distribution: GammaDistribution): RateSummary {
  return {
    // Mean of Gamma(α, β) = α / β.
    mean: (distribution.shape / distribution.rateSeconds) * DAY,
    p10: gammaQuantile(distribution, 0.1) * DAY,
    p90: gammaQuantile(distribution, 0.9) * DAY,
  };
}

const unplanned = (c: TwinFailureClass) => c.detection !== 'planned';

/**
 * The median over time of the twin's step-time factor (nominal step × this = the step while running, shrinking
 * aside): what the median of an observed log's steps holds beyond the nominal step, so that the twin, which adds
 * throttling and slow hosts again, is given the nominal one (observed median / this).
 * - Slow hosts: the episodes active at a time are Poisson with mean λ·E[length] (Palm's theorem, M/G/∞), so none is
 *   active a share e^{−λ·E[length]} of the time; an episode's slowdown (median 1.25) lies above any throttling
 *   deficit, so the median step is one of the calm time's while that share exceeds one half.
 * - Throttling: the deficit at the samples' phases t_k over a day is the maximum of n exponentials of mean m(t_k)
 *   (throttling.ts), with CDF (1 − e^{−d/m})^n; the median d solves calm × mean_k (1 − e^{−d/m(t_k)})^n = ½.
 * When episodes cover half the time or more, the median is taken as an episode's median slowdown × (1 + d).
 */
export function typicalStepSlowdown(config: TwinConfig): number {
  const { stragglers, throttling } = config;
  // P(no episode active) = e^{−λ·E[length]} (Poisson occupancy of an M/G/∞ queue).
  const calm = stragglers.ratePerSecond > 0 ? Math.exp(-stragglers.ratePerSecond * stragglers.meanSeconds) : 1;
  const inEpisodes = calm <= 0.5;
  const target = inEpisodes ? 0.5 : 0.5 / calm;
  const n = config.nodes * config.gpusPerNode;
  const peak = throttling.peakMeanDeficit;
  let deficit = 0;
  if (peak > 0 && throttling.intervalSeconds > 0) {
    const samples = Math.max(1, Math.ceil(DAY / throttling.intervalSeconds));
    // Mean deficit at 14:00 peak, zero at 02:00 (throttling.ts).
    const means = Array.from(
      { length: samples },
      (_, k) => (peak * (1 + Math.cos((2 * Math.PI * (k * throttling.intervalSeconds - 14 * 3600)) / DAY))) / 2,
    );
    // CDF of the deficit over the day: the mean over phases of the max-of-n CDF (1 − e^{−d/m})^n.
    const cdf = (d: number) =>
      means.reduce((sum, m) => sum + (m > 0 ? Math.exp(n * Math.log(-Math.expm1(-d / m))) : 1), 0) / samples;
    let low = 0;
    // The max of n Exp(m) exceeds m·(ln n + 40) with probability below n·e^{−ln n − 40} = e^{−40}.
    let high = peak * (Math.log(n) + 40);
    for (let i = 0; i < 100; i++) {
      const mid = 0.5 * (low + high);
      if (cdf(mid) < target) low = mid;
      else high = mid;
    }
    deficit = 0.5 * (low + high);
  }
  return (inEpisodes ? stragglers.slowdownMedian : 1) * (1 + deficit);
}

/**
 * The twin's total unexpected-interruption rate over the planned run, per second: Σ over the unplanned classes of
 * their expected failures over the ideal run divided by its length (a Weibull class's mean rate, setup.ts).
 */
export function plannedFailureRate(config: TwinConfig): number {
  const run = config.idealSeconds;
  return config.classes.filter(unplanned).reduce((sum, c) => sum + expectedFailures(c, run) / run, 0);
}

/** How the remaining run differs from the planned one. */
export interface RemainingWork {
  readonly tokens: number;
  readonly stepSeconds: number;
  /** Multiplies every unplanned class's rate. */
  readonly rateFactor: number;
  /** The run's age: Weibull classes continue from it. */
  readonly elapsedSeconds: number;
  readonly restartSeconds: number;
}

/**
 * The twin configuration of the work left: the planned one with `totalTokens` the tokens left, the observed step
 * time (tokens/s = tokens per step / step time), every unplanned class's rate × `rateFactor` and its components
 * `elapsedSeconds` older, the shifted restart, no window, and the derived figures (ideal time, safety stop, MTBF,
 * mean recovery) recomputed as setup.ts computes them.
 */
export function remainingConfig(config: TwinConfig, work: RemainingWork): TwinConfig {
  const tokensPerStep = config.tokensPerSecond * config.stepSeconds;
  // Tokens/s = tokens per step / step time (src/perf/estimate.ts).
  const tokensPerSecond = tokensPerStep / work.stepSeconds;
  const idealSeconds = work.tokens / tokensPerSecond;
  const classes = config.classes.map((c) =>
    unplanned(c)
      ? { ...c, ratePerSecond: c.ratePerSecond * work.rateFactor, ageSeconds: c.ageSeconds + work.elapsedSeconds }
      : c,
  );
  // MTBF = 1 / Σ mean rates of the unplanned classes over the run (setup.ts).
  const meanRates = classes
    .filter(unplanned)
    .map((c) => ({ c, rate: expectedFailures(c, idealSeconds) / idealSeconds }));
  const failureRate = meanRates.reduce((sum, r) => sum + r.rate, 0);
  const meanRecoverySeconds = config.meanRecoverySeconds + (work.restartSeconds - config.restartSeconds);
  const { windowSeconds: _window, ...planned } = config;
  return {
    ...planned,
    stepSeconds: work.stepSeconds,
    tokensPerSecond,
    totalTokens: work.tokens,
    idealSeconds,
    // Safety stop: 10 × ideal + 30 days (setup.ts).
    limitSeconds: 10 * idealSeconds + 30 * DAY,
    classes,
    restartSeconds: work.restartSeconds,
    power: { ...config.power, stepHz: 1 / work.stepSeconds },
    mtbfSeconds: failureRate > 0 ? 1 / failureRate : Number.POSITIVE_INFINITY,
    meanRecoverySeconds,
  };
}

const finiteAtLeast = (x: unknown, min: number): x is number => typeof x === 'number' && Number.isFinite(x) && x >= min;

/** The issues of a forecast input, each naming its field. */
function check(input: ForecastInput): SpecIssue[] {
  const issues: SpecIssue[] = [];
  const { observed, config } = input;
  const bad = (path: string, value: unknown, message: string) =>
    issues.push({ code: 'invalid_value', path, value, message });
  if (!finiteAtLeast(observed.elapsedSeconds, 0) || observed.elapsedSeconds <= 0) {
    bad(
      'observed.elapsedSeconds',
      observed.elapsedSeconds,
      'the elapsed wall time must be a positive number of seconds',
    );
  }
  if (!finiteAtLeast(observed.stepSeconds, 0) || observed.stepSeconds <= 0) {
    bad('observed.stepSeconds', observed.stepSeconds, 'the observed step time must be a positive number of seconds');
  }
  if (!Number.isInteger(observed.interruptions) || observed.interruptions < 0) {
    bad('observed.interruptions', observed.interruptions, 'the interruptions seen must be a whole number ≥ 0');
  }
  const steps = observed.productiveSteps;
  const tokens = observed.productiveTokens;
  if ((steps === undefined) === (tokens === undefined)) {
    bad('observed.productiveSteps', steps, 'give the work done as productiveSteps or productiveTokens (one of them)');
  } else if (steps !== undefined && !finiteAtLeast(steps, 0)) {
    bad('observed.productiveSteps', steps, 'the productive steps must be a number ≥ 0');
  } else if (tokens !== undefined && !finiteAtLeast(tokens, 0)) {
    bad('observed.productiveTokens', tokens, 'the productive tokens must be a number ≥ 0');
  }
  (observed.recoverySeconds ?? []).forEach((r, i) => {
    if (!finiteAtLeast(r, 0)) bad(`observed.recoverySeconds[${i}]`, r, 'a recovery must be a number of seconds ≥ 0');
  });
  if (input.deadlineDays !== undefined && !(finiteAtLeast(input.deadlineDays, 0) && input.deadlineDays > 0)) {
    bad('deadlineDays', input.deadlineDays, 'the deadline must be a positive number of days');
  }
  const replicas = input.replicas ?? DEFAULT_FORECAST_REPLICAS;
  if (!Number.isInteger(replicas) || replicas < 1 || replicas > MAX_FORECAST_REPLICAS) {
    bad('replicas', input.replicas, `replicas must be a whole number from 1 to ${MAX_FORECAST_REPLICAS}`);
  }
  const seed = input.seed ?? 1;
  if (!Number.isInteger(seed) || seed < -(2 ** 31) || seed > 2 ** 31 - 1) {
    bad('seed', input.seed, 'the seed must be an integer from −2^31 to 2^31 − 1');
  }
  const alpha0 = input.priorInterruptions ?? PRIOR_INTERRUPTIONS;
  if (!(finiteAtLeast(alpha0, 0) && alpha0 > 0 && alpha0 <= 1e6)) {
    bad(
      'priorInterruptions',
      input.priorInterruptions,
      'the prior strength must be a number of interruptions in (0, 10^6]',
    );
  }
  if (!(config.stepSeconds > 0 && config.tokensPerSecond > 0 && config.totalTokens > 0 && config.idealSeconds > 0)) {
    bad('config', config.name, 'the planned run has no work, step time or throughput');
  }
  return issues;
}

const later = () => new Promise<void>((resolve) => setTimeout(resolve, 0));

/** Forecasts the run `input.config` describes from what `input.observed` says of it so far. */
export async function forecastRun(
  input: ForecastInput,
  ports: { readonly progress?: Progress } = {},
  { signal }: UseCaseOptions = {},
): Promise<Result<ForecastOutcome>> {
  const issues = check(input);
  if (issues.length > 0) return { ok: false, issues };
  throwIfAborted(signal);
  const { config, observed } = input;
  const progress = ports.progress ?? SILENT;
  const replicas = input.replicas ?? DEFAULT_FORECAST_REPLICAS;
  const seed = input.seed ?? 1;
  const alpha0 = input.priorInterruptions ?? PRIOR_INTERRUPTIONS;
  const elapsed = observed.elapsedSeconds;

  // (b) Recovery: the shrunk mean (k0·R0 + Σ r) / (k0 + m), the posterior mean of a normal mean with the twin's
  // value as k0 pseudo-observations (Gelman et al. BDA3 §2.5); the restart overhead shifts by its gap to R0.
  const recoveries = observed.recoverySeconds ?? [];
  const planned = config.meanRecoverySeconds;
  const observedRecovery =
    recoveries.length > 0 ? recoveries.reduce((sum, r) => sum + r, 0) / recoveries.length : undefined;
  const usedRecovery =
    (PRIOR_RECOVERIES * planned + recoveries.reduce((sum, r) => sum + r, 0)) / (PRIOR_RECOVERIES + recoveries.length);
  const restartSeconds = Math.max(0, config.restartSeconds + usedRecovery - planned);

  // (a) Failure rate: prior Gamma(α0, α0 / r0), so its mean is the twin's rate r0.
  const r0 = plannedFailureRate(config);
  // The log sees an interruption only while the job trains: exposure = elapsed − n × recovery. A Weibull class's
  // exposure is its expected count over [0, elapsed] over r0 (= the time itself for Poisson classes).
  const hazardShare =
    r0 > 0
      ? config.classes.filter(unplanned).reduce((sum, c) => sum + expectedFailures(c, elapsed), 0) / (r0 * elapsed)
      : 1;
  const upSeconds = Math.max(0, elapsed - observed.interruptions * usedRecovery);
  const exposure = upSeconds * hazardShare;
  const prior: GammaDistribution = { shape: alpha0, rateSeconds: r0 > 0 ? alpha0 / r0 : Number.POSITIVE_INFINITY };
  const posterior = r0 > 0 ? gammaPoissonPosterior(prior, observed.interruptions, exposure) : prior;
  const none: RateSummary = { mean: 0, p10: 0, p90: 0 };

  // (c) Step time and the work left. The observed median holds the typical throttling and slow hosts, which the
  // twin adds again: nominal step = observed median / the twin's median step-time factor.
  const typicalSlowdown = typicalStepSlowdown(config);
  const usedStep = observed.stepSeconds / typicalSlowdown;
  const tokensPerStep = config.tokensPerSecond * config.stepSeconds;
  const done = observed.productiveTokens ?? (observed.productiveSteps ?? 0) * tokensPerStep;
  const remainingTokens = Math.max(0, config.totalTokens - done);
  const elapsedDays = elapsed / DAY;
  const base = {
    seed,
    elapsedDays,
    remainingShare: remainingTokens / config.totalTokens,
    remainingTokens,
    failureRate: {
      priorInterruptions: alpha0,
      priorExposureDays: r0 > 0 ? prior.rateSeconds / DAY : 0,
      prior: r0 > 0 ? rateSummary(prior) : none,
      posterior: r0 > 0 ? rateSummary(posterior) : none,
      interruptions: observed.interruptions,
      exposureDays: exposure / DAY,
    },
    recoverySeconds: {
      planned,
      ...(observedRecovery !== undefined && { observed: observedRecovery }),
      used: usedRecovery,
      restartSeconds,
    },
    stepSeconds: { planned: config.stepSeconds, observed: observed.stepSeconds, typicalSlowdown, used: usedStep },
    ...(input.deadlineDays !== undefined && { deadlineDays: input.deadlineDays }),
  };
  if (remainingTokens < tokensPerStep) {
    // Trained (less than one step left): the forecast is the elapsed time.
    return {
      ok: true,
      value: {
        ...base,
        replicas: 0,
        timeToTrainDays: { p10: elapsedDays, p50: elapsedDays, p90: elapsedDays, mean: elapsedDays },
        finished: 0,
        ...(input.deadlineDays !== undefined && { meetDeadlineProbability: elapsedDays <= input.deadlineDays ? 1 : 0 }),
      },
    };
  }
  const work = { tokens: remainingTokens, stepSeconds: usedStep, elapsedSeconds: elapsed, restartSeconds };
  // Guard as setup.ts does: the posterior's P99 rate over the safety stop must stay under the failure bound.
  const horizon = remainingConfig(config, { ...work, rateFactor: 1 }).limitSeconds;
  const p99 = r0 > 0 ? gammaQuantile(posterior, 0.99) : 0;
  if (p99 * horizon > MAX_EXPECTED_FAILURES) {
    return {
      ok: false,
      issues: [
        {
          code: 'too_big',
          path: 'observed.interruptions',
          value: observed.interruptions,
          message: `${observed.interruptions} interruptions in ${significantDays(elapsedDays)} days give a failure rate (P99 ${(p99 * DAY).toPrecision(3)} a day) that would not let the remaining run finish: check the count`,
        },
      ],
    };
  }

  progress.start('forecast replicas', replicas);
  const totals = new Float64Array(replicas);
  let finished = 0;
  try {
    for (let from = 0; from < replicas; from += BATCH) {
      throwIfAborted(signal);
      const to = Math.min(replicas, from + BATCH);
      for (let replica = from; replica < to; replica++) {
        // A rate from the posterior, drawn from the replica's own stream (d3-random's Marsaglia–Tsang sampler).
        const uniform = new ReplicaStreams(seed, replica).stream(RATE_STREAM).uniform;
        const rate = r0 > 0 ? randomGamma.source(uniform)(posterior.shape, 1 / posterior.rateSeconds)() : 0;
        const replicaConfig = remainingConfig(config, { ...work, rateFactor: r0 > 0 ? rate / r0 : 1 });
        const summary: RunSummary = simulateRun(replicaConfig, seed, replica, { detail: false }).summary;
        if (summary.finished) finished += 1;
        // Total = elapsed + the remaining run's time to train less its launch (the observed job is already up).
        const rest = Math.max(0, summary.timeToTrainDays * DAY - replicaConfig.restartSeconds);
        totals[replica] = (elapsed + (Number.isFinite(rest) ? rest : replicaConfig.limitSeconds)) / DAY;
      }
      progress.tick(to - from);
      if (to < replicas) await later();
    }
  } catch (error) {
    progress.done();
    return { ok: false, issues: eventBudgetIssue(error, 'check the observed interruptions and step time') };
  }
  progress.done();
  const sorted = totals.slice().sort();
  const mean = sorted.reduce((sum, x) => sum + x, 0) / replicas;
  const deadline = input.deadlineDays;
  return {
    ok: true,
    value: {
      ...base,
      replicas,
      timeToTrainDays: {
        p10: percentile(sorted, 0.1),
        p50: percentile(sorted, 0.5),
        p90: percentile(sorted, 0.9),
        mean,
      },
      finished,
      ...(deadline !== undefined && {
        meetDeadlineProbability: sorted.reduce((n, x) => n + (x <= deadline ? 1 : 0), 0) / replicas,
      }),
    },
  };
}

function significantDays(days: number): string {
  return days.toPrecision(3);
}

/** The spec's `twin` settings without a `days` window: a forecast runs to the end of training. */
function twinToEnd(twin: TwinInput | undefined): TwinInput | undefined {
  if (twin === undefined) return undefined;
  const { days: _days, ...rest } = twin;
  return rest;
}

/** The input of {@link runForecast}: the spec of the planned run and what has been observed. */
export interface RunForecastInput {
  readonly spec: ResolvedSpec;
  readonly observed: ObservedRun;
  readonly replicas?: number;
  readonly seed?: number;
  /** Overrides the spec's `constraints.deadlineDays`. */
  readonly deadlineDays?: number;
}

/** The forecast of the run `spec` plans (its design and `twin` settings, its deadline) from what was observed. */
export async function runForecast(
  input: RunForecastInput,
  ports: Ports,
  options: UseCaseOptions = {},
): Promise<Result<ForecastOutcome>> {
  const { spec } = input;
  const design = await designOf(spec, ports.runner, {
    ...(options.signal && { signal: options.signal }),
    ...(ports.progress && { progress: ports.progress }),
  });
  if (!design.ok) return design;
  const config = twinConfig(design.value, twinToEnd(spec.twin));
  if (!config.ok) return config;
  const deadlineDays = input.deadlineDays ?? spec.constraints?.deadlineDays;
  return forecastRun(
    {
      config: config.value,
      observed: input.observed,
      ...(deadlineDays !== undefined && { deadlineDays }),
      ...(input.replicas !== undefined && { replicas: input.replicas }),
      ...(input.seed !== undefined && { seed: input.seed }),
    },
    ports,
    options,
  );
}
