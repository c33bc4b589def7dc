import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { twinConfigOf } from '../../test/support/twin-config.js';
import { FAILURE_CLASSES } from '../catalog/reliability.js';
import type { SpecIssue } from '../spec/issues.js';
import { loadSpec, validateSpec } from '../spec/load.js';
import { BADPUT_CAUSES, maxOfExponentials, simulateRun } from './run.js';
import { autoSpares, harmonic, poissonPmf, poissonQuantile, type TwinConfig } from './setup.js';
import { describe as describeValues, runStudy } from './study.js';

const llamaText = readFileSync(new URL('../../examples/llama3-405b-54d.yaml', import.meta.url), 'utf8');

function configOf(result: ReturnType<typeof loadSpec>): TwinConfig {
  if (!result.ok) throw new Error(JSON.stringify(result.issues));
  const config = twinConfigOf(result.value);
  if (!config.ok) throw new Error(JSON.stringify(config.issues));
  return config.value;
}

function issuesOf(spec: unknown): SpecIssue[] {
  const result = validateSpec(spec);
  if (!result.ok) return result.issues;
  const config = twinConfigOf(result.value);
  return config.ok ? [] : config.issues;
}

/** A spec document being edited by a test. */
// biome-ignore lint/suspicious/noExplicitAny: fixtures edit parsed YAML documents field by field
type Doc = Record<string, any>;

/** The Llama 3 example as a plain object, to vary. */
function llamaSpec(): Doc {
  return parse(llamaText) as Doc;
}

const llama = configOf(loadSpec(llamaText, 'yaml'));

/** Only the failure classes named keep their rates; stragglers and throttling off. */
function isolate(spec: Doc, rates: Record<string, number>, extra: Record<string, unknown> = {}) {
  const failures = Object.fromEntries(FAILURE_CLASSES.map((c) => [c.id, { ratePerYear: rates[c.id] ?? 0 }]));
  spec.twin = { ...spec.twin, failures, stragglers: { ratePerNodeYear: 0 }, throttling: { diurnalSwing: 0 }, ...extra };
  return spec;
}

describe('Llama 3 405B, 54 days on 16,384 H100 (arXiv 2407.21783, Table 5)', () => {
  const study = runStudy(llama, { replicas: 60, seed: 2024 });
  // Published: 419 unexpected interruptions; by cause (counts, not the misprinted percentages).
  const published: Record<string, number> = {
    gpu: 148 + 19 + 17 + 6 + 6,
    hbm: 72,
    nic: 7,
    host: 32 + 3 + 2 + 2 + 2 + 2,
    psu: 3,
    network: 35,
    software: 54 + 2,
    hang: 7,
  };

  it('has 419 unexpected interruptions in expectation, within 15%', () => {
    const mean = study.figures.unexpectedInterruptions.mean;
    expect(Math.abs(mean / 419 - 1)).toBeLessThan(0.15);
    expect(Math.abs(study.figures.plannedInterruptions.mean / 47 - 1)).toBeLessThan(0.15);
  });

  it('splits them by cause within 2 points of the published counts', () => {
    const total = study.figures.unexpectedInterruptions.mean;
    for (const [cause, count] of Object.entries(published)) {
      const share = (study.interruptionsByCause[cause]?.mean ?? 0) / total;
      expect(Math.abs(share - count / 419), cause).toBeLessThan(0.02);
    }
    // GPU categories: 268 of 419 (64%).
    const gpuShare =
      ((study.interruptionsByCause.gpu?.mean ?? 0) + (study.interruptionsByCause.hbm?.mean ?? 0)) / total;
    expect(Math.abs(gpuShare - 268 / 419)).toBeLessThan(0.02);
  });

  it('keeps effective training time above 90% with the stated restart and checkpoint costs', () => {
    // Stated costs: 30 s to detect a crash, 600 s a hang, 300 s to restart, 180 s to swap a host, a 2.8 s
    // checkpoint (5.7 TB at 2 TB/s) every 4.3 min (Daly), 2.8 s to read it back.
    // The checkpoint is 405.85B parameters × 14 bytes (ZeRO: BF16 weights + FP32 master, momentum, variance).
    expect(llama.checkpoint.writeSeconds).toBeCloseTo((405.85e9 * 14) / 2e12, 1);
    expect(study.figures.ettr.p10).toBeGreaterThan(0.9);
    // Meta: implied mean loss per interruption at ETTR 0.90 is at most 16.7 min.
    const lossHours = ['lostWork', 'detection', 'restart', 'maintenance'] as const;
    const loss = lossHours.reduce((sum, cause) => sum + study.badputHours[cause].mean, 0);
    const interruptions = study.figures.unexpectedInterruptions.mean + study.figures.plannedInterruptions.mean;
    expect((loss * 60) / interruptions).toBeLessThan(16.7);
  });
});

describe("Meta's analytical model (Kokolis et al. 2025, arXiv 2410.21680)", () => {
  // RSC-1: r_f = 6.50 failures per 1000 node-days = 2.374 per node-year.
  const rsc1 = (6.5 / 1000) * 365.25;

  it.each([
    [16384, 40],
    [131072, 6],
  ])('simulated mean time to failure at %i GPUs is 1/(nodes × r_f) within 5%%', (gpus, days) => {
    const spec = isolate(llamaSpec(), { host: rsc1 }, { days });
    spec.system.gpuCount = gpus;
    spec.plan.dp = gpus / 128;
    // 131,072 GPUs need 800G NICs (144-port switches) for a three-tier fabric.
    spec.system.scaleOut = { nicBandwidthGbps: 800, topology: 'fat-tree' };
    const config = configOf(validateSpec(spec));
    const nodes = gpus / 8;
    const expectedHours = 1 / ((nodes * rsc1) / 8766);
    let failures = 0;
    let hours = 0;
    // About 4,000 failures: a standard error near 1.6%, so 5% is three of them.
    for (let replica = 0; replica < 8; replica++) {
      const run = simulateRun(config, 99, replica, { detail: false }).summary;
      failures += run.failures;
      hours += run.wallDays * 24;
    }
    // Meta's projections: 1.8 h at 16,384 GPUs and 0.23 h at 131,072.
    expect(expectedHours).toBeCloseTo(gpus === 16384 ? 1.8 : 0.23, 1);
    expect(Math.abs(hours / failures / expectedHours - 1)).toBeLessThan(0.05);
  });

  it('finds the best fixed checkpoint interval within 10% of Young/Daly', () => {
    // One failure class (crashes, M = 2 h), a 60 s blocking write, 5 min restart, a year of wall time.
    const base = isolate(llamaSpec(), { host: 8766 / 2 / 2048 }, { days: 365 });
    base.twin.checkpoint = { storageGBps: 5.68e12 / 60 / 1e9 };
    base.twin.detection = { crashSeconds: 0 };
    base.twin.restart = { seconds: 300, swapSeconds: 0 };
    const reference = configOf(validateSpec(base));
    const write = reference.checkpoint.writeSeconds;
    const mtbf = reference.mtbfSeconds;
    const recovery = reference.meanRecoverySeconds;
    expect(write).toBeCloseTo(60, 0);
    expect(mtbf).toBeCloseTo(7200, -1);
    // Young 1974: sqrt(2 delta M); Daly 2006 first order: sqrt(2 delta (M + R)).
    const young = Math.sqrt(2 * write * mtbf);
    const daly = Math.sqrt(2 * write * (mtbf + recovery));
    // Goodput over a grid of fixed intervals, the same seeds at every interval (common random numbers).
    const intervals = [0.4, 0.55, 0.7, 0.85, 1, 1.2, 1.45, 1.75, 2.1, 2.5].map((f) => f * daly);
    const loss: number[] = [];
    for (const interval of intervals) {
      const spec = structuredClone(base);
      spec.twin.checkpoint.intervalMinutes = interval / 60;
      const config = configOf(validateSpec(spec));
      let goodput = 0;
      for (let replica = 0; replica < 12; replica++)
        goodput += simulateRun(config, 7, replica, { detail: false }).summary.goodput;
      loss.push(1 - goodput / 12);
    }
    // First-order loss is a/τ + bτ + c (write cost plus half an interval lost per failure): fit by least squares
    // and take the minimum at sqrt(a/b).
    const rows = intervals.map((t) => [1 / t, t, 1]);
    const solve = leastSquares(rows, loss);
    const [a = 0, b = 0] = solve;
    const best = Math.sqrt(a / b);
    expect(Math.abs(best / young - 1)).toBeLessThan(0.1);
    expect(Math.abs(best / daly - 1)).toBeLessThan(0.1);
  }, 60_000);
});

/** Least squares by the normal equations (3 unknowns). */
function leastSquares(rows: number[][], y: number[]): number[] {
  const n = rows[0]?.length ?? 0;
  const ata = Array.from({ length: n }, () => new Array<number>(n).fill(0));
  const aty = new Array<number>(n).fill(0);
  rows.forEach((row, k) => {
    for (let i = 0; i < n; i++) {
      aty[i] = (aty[i] as number) + (row[i] as number) * (y[k] as number);
      for (let j = 0; j < n; j++)
        (ata[i] as number[])[j] = ((ata[i] as number[])[j] as number) + (row[i] as number) * (row[j] as number);
    }
  });
  // Gaussian elimination with partial pivoting.
  const m = ata.map((row, i) => [...row, aty[i] as number]);
  for (let col = 0; col < n; col++) {
    let pivot = col;
    for (let r = col + 1; r < n; r++)
      if (Math.abs((m[r] as number[])[col] as number) > Math.abs((m[pivot] as number[])[col] as number)) pivot = r;
    [m[col], m[pivot]] = [m[pivot] as number[], m[col] as number[]];
    for (let r = 0; r < n; r++) {
      if (r === col) continue;
      const f = ((m[r] as number[])[col] as number) / ((m[col] as number[])[col] as number);
      for (let c = col; c <= n; c++)
        (m[r] as number[])[c] = ((m[r] as number[])[c] as number) - f * ((m[col] as number[])[c] as number);
    }
  }
  return m.map((row, i) => (row[n] as number) / (row[i] as number));
}

describe('lost work per interruption', () => {
  // One crash class (M = 2 h), a checkpoint every τ = 10 min, a 60 s write (and read), no detection or restart
  // delay. A running period lasts L ~ Exp(M); integrate the expected loss over L numerically and compare.
  const [tau, w, m] = [600, 60, 7200];
  const bytes = llama.checkpoint.bytes;
  const expectedLoss = (loss: (l: number) => number) => {
    let sum = 0;
    const dl = 0.5;
    for (let l = dl / 2; l < 20 * m; l += dl) sum += loss(l) * (Math.exp(-l / m) / m) * dl;
    // Interruptions during the 60 s checkpoint read of a restart lose nothing.
    return sum * Math.exp(-w / m);
  };
  const simulated = (mode: 'blocking' | 'async') => {
    const spec = isolate(llamaSpec(), { host: 8766 / 2 / 2048 }, { days: 365 });
    spec.twin.checkpoint = {
      mode,
      intervalMinutes: 10,
      storageGBps: bytes / 60 / 1e9,
      snapshotGBps: bytes / 16384 / 1e9,
    };
    spec.twin.detection = { crashSeconds: 0 };
    spec.twin.restart = { seconds: 0, swapSeconds: 0 };
    const config = configOf(validateSpec(spec));
    let lost = 0;
    let interruptions = 0;
    for (let replica = 0; replica < 10; replica++) {
      const run = simulateRun(config, 5, replica, { detail: false }).summary;
      lost += run.badputHours.lostWork * 3600;
      interruptions += run.unexpectedInterruptions;
    }
    return { config, perInterruption: lost / interruptions };
  };

  it('blocking: the work since the last completed write, min(L mod (τ + w), τ)', () => {
    const { perInterruption } = simulated('blocking');
    const expected = expectedLoss((l) => Math.min(l % (tau + w), tau));
    expect(Math.abs(perInterruption / expected - 1)).toBeLessThan(0.03);
  });

  it('asynchronous: the work since the newest snapshot that finished writing', () => {
    const { config, perInterruption } = simulated('async');
    expect(config.checkpoint.stallSeconds).toBeCloseTo(1, 6);
    // The newest durable snapshot is the largest k ≥ 1 with kτ + w ≤ L; the loss is L − kτ, or all of L.
    const expected = expectedLoss((l) => {
      const k = Math.floor((l - w) / tau);
      return k >= 1 ? l - k * tau : l;
    });
    // Work is counted at the running speed, 1 − stall/τ of nominal.
    expect(Math.abs(perInterruption / (expected * (1 - 1 / tau)) - 1)).toBeLessThan(0.03);
  });
});

describe('studies', () => {
  it("puts the P50 of the failure count inside the exact 99% interval of a Poisson sample's median", () => {
    // Component failures arrive whatever the job does, so each replica's count is Poisson with mean
    // Λ = Σ rate × count × window (419 for the Llama defaults). For n replicas (odd), the sample median is the
    // (n+1)/2-th order statistic: P(median ≤ x) = P(Binomial(n, F(x)) ≥ (n+1)/2).
    const n = 101;
    const lambda = llama.classes
      .filter((c) => c.detection !== 'planned')
      .reduce((sum, c) => sum + c.ratePerSecond * (llama.windowSeconds ?? 0), 0);
    expect(lambda).toBeCloseTo(419, 6);
    const study = runStudy(llama, { replicas: n, seed: 11 });
    const poissonCdf = (x: number) => {
      let term = Math.exp(-lambda);
      let cdf = term;
      for (let k = 1; k <= x; k++) {
        term *= lambda / k;
        cdf += term;
      }
      return cdf;
    };
    const binomialAtLeast = (p: number, k: number) => {
      let sum = 0;
      for (let i = k; i <= n; i++) sum += Math.exp(logChoose(n, i) + i * Math.log(p) + (n - i) * Math.log1p(-p));
      return sum;
    };
    const medianCdf = (x: number) => binomialAtLeast(poissonCdf(x), (n + 1) / 2);
    let low = 0;
    while (medianCdf(low) < 0.005) low++;
    let high = low;
    while (medianCdf(high) < 0.995) high++;
    expect(low).toBeGreaterThan(400);
    expect(high).toBeLessThan(440);
    expect(study.figures.failures.p50).toBeGreaterThanOrEqual(low);
    expect(study.figures.failures.p50).toBeLessThanOrEqual(high);
    // The mean too: within 3 standard errors of Λ.
    expect(Math.abs(study.figures.failures.mean - lambda)).toBeLessThan(3 * Math.sqrt(lambda / n));
  });

  it('gives byte-identical results for one seed and different ones for another', () => {
    const a = JSON.stringify(simulateRun(llama, 5, 0));
    expect(JSON.stringify(simulateRun(llama, 5, 0))).toBe(a);
    expect(JSON.stringify(simulateRun(llama, 6, 0))).not.toBe(a);
    // A replica's figures do not depend on whether its log is kept.
    expect(simulateRun(llama, 5, 3, { detail: false }).summary).toEqual(simulateRun(llama, 5, 3).summary);
  });
});

function logChoose(n: number, k: number): number {
  let sum = 0;
  for (let i = 1; i <= k; i++) sum += Math.log((n - k + i) / i);
  return sum;
}

describe('run accounting', () => {
  it('accounts every second: wall time = useful work + all badput', () => {
    const variants: Doc[] = [
      { spares: { nodes: 2, policy: 'wait' } },
      { spares: { nodes: 2, policy: 'shrink' } },
      { checkpoint: { mode: 'async', storageGBps: 2000 } },
      { failures: { maintenance: { ratePerYear: 365 * 20 } }, checkpoint: { intervalMinutes: 30 } },
      { days: undefined, checkpoint: { mode: 'async', storageGBps: 500 }, spares: { nodes: 0, policy: 'shrink' } },
    ];
    for (const variant of variants) {
      const spec = llamaSpec();
      spec.twin = { ...spec.twin, failureScale: 4, ...variant };
      if (variant.days === undefined) delete spec.twin.days;
      const config = configOf(validateSpec(spec));
      const { summary } = simulateRun(config, 3, 0);
      const badput = BADPUT_CAUSES.reduce((sum, cause) => sum + summary.badputHours[cause], 0);
      const useful = summary.goodput * summary.wallDays * 24;
      expect(useful + badput).toBeCloseTo(summary.wallDays * 24, 6);
    }
  });

  it('shrinks data parallelism instead of waiting when spares run out and the policy says so', () => {
    const spec = llamaSpec();
    spec.twin.failureScale = 4;
    spec.twin.spares = { nodes: 0, policy: 'shrink' };
    const { summary } = simulateRun(configOf(validateSpec(spec)), 1, 0);
    expect(summary.spares.shrinks).toBeGreaterThan(0);
    expect(summary.badputHours.shrink).toBeGreaterThan(0);
    expect(summary.badputHours.spares).toBe(0);
    // Waiting with one spare instead: the job stops for repairs.
    spec.twin.spares = { nodes: 1, policy: 'wait' };
    const waiting = simulateRun(configOf(validateSpec(spec)), 1, 0).summary;
    expect(waiting.badputHours.spares).toBeGreaterThan(0);
    expect(waiting.badputHours.shrink).toBe(0);
  });

  it('draws the slowest of n GPUs directly: the mean of the maximum of n exponentials is m·H_n', () => {
    // Rényi: E[max of n Exp(mean m)] = m·H_n. Check the inverse-CDF sampler by quadrature over u.
    for (const n of [1, 8, 16384, 131072]) {
      const steps = 200_000;
      let sum = 0;
      for (let i = 0; i < steps; i++) sum += maxOfExponentials((i + 0.5) / steps, 2, n);
      expect(sum / steps / (2 * harmonic(n))).toBeCloseTo(1, 3);
    }
  });

  it('follows a Weibull early-life hazard: expected failures N((a+T)/λ)^k − N(a/λ)^k', () => {
    const k = 0.7;
    const rate = 0.5; // per node-year in the first year of life
    const spec = isolate(llamaSpec(), {}, { days: 30 });
    spec.twin.failures.software = { ratePerYear: rate, weibullShape: k, ageHours: 24 * 10 };
    const config = configOf(validateSpec(spec));
    const year = 8766;
    const scale = year / rate ** (1 / k);
    const expected = 2048 * (((240 + 30 * 24) / scale) ** k - (240 / scale) ** k);
    let total = 0;
    const replicas = 40;
    for (let replica = 0; replica < replicas; replica++)
      total += simulateRun(config, 4, replica, { detail: false }).summary.failures;
    expect(Math.abs(total / replicas - expected)).toBeLessThan(4 * Math.sqrt(expected / replicas));
    // Early life fails more than the yearly average would say.
    expect(expected).toBeGreaterThan(2048 * rate * (30 / 365.25));
  });
});

describe('bad twin settings', () => {
  it('rejects negative rates, intervals longer than the run and no spares without shrinking', () => {
    const negative = llamaSpec();
    negative.twin.failures = { gpu: { ratePerYear: -1 } };
    expect(issuesOf(negative).map((i) => i.path)).toContain('twin.failures.gpu.ratePerYear');

    const long = llamaSpec();
    long.twin.checkpoint = { intervalMinutes: 60 * 24 * 60 };
    const longIssues = issuesOf(long);
    expect(longIssues[0]?.path).toBe('twin.checkpoint.intervalMinutes');
    expect(longIssues[0]?.message).toMatch(/longer than the run \(77760 min simulated\)/);

    const stall = llamaSpec();
    stall.twin.checkpoint = { mode: 'async', intervalMinutes: 1, storageGBps: 100000, snapshotGBps: 0.005 };
    const stallIssues = issuesOf(stall);
    expect(stallIssues[0]?.path).toBe('twin.checkpoint.intervalMinutes');
    expect(stallIssues[0]?.message).toMatch(/raise snapshotGBps/);

    const flood = llamaSpec();
    flood.twin.failures = { gpu: { weibullShape: 10, ageHours: 87660 } };
    expect(issuesOf(flood)[0]?.path).toBe('twin.failures.gpu');

    const none = llamaSpec();
    none.twin.spares = { nodes: 0 };
    const noneIssues = issuesOf(none);
    expect(noneIssues[0]?.path).toBe('twin.spares.nodes');
    expect(noneIssues[0]?.message).toMatch(/policy: shrink/);
  });
});

describe('study statistics', () => {
  it('interpolate percentiles between order statistics (R type 7) and keep infinite values finite-safe', () => {
    // R: quantile(c(1, 2, 3, 4, 10), c(.1, .5, .9)) = 1.4, 3, 7.6
    const stat = describeValues([10, 1, 4, 2, 3]);
    expect(stat.p10).toBeCloseTo(1.4, 12);
    expect(stat.p50).toBe(3);
    expect(stat.p90).toBeCloseTo(7.6, 12);
    expect(stat.mean).toBe(4);
    const infinite = describeValues([Number.POSITIVE_INFINITY, 5, Number.POSITIVE_INFINITY]);
    expect(infinite.p50).toBe(Number.POSITIVE_INFINITY);
    expect(infinite.p90).toBe(Number.POSITIVE_INFINITY);
    expect(infinite.p10).toBeGreaterThan(5);
  });

  it('size spares so that the run expects at most 0.1 empty-pool failures (Palm: Poisson in repair)', () => {
    // 5.94 host failures a day, 40.4 h in repair: mean 10 in repair; 54-day run: 321 failures.
    const rate = 321 / (54 * 86400);
    const repair = 40.4 * 3600;
    const k = autoSpares(rate, repair, 54 * 86400);
    const mean = rate * repair;
    const tail = (n: number) => 1 - Array.from({ length: n }, (_, i) => poissonPmf(i, mean)).reduce((a, b) => a + b, 0);
    expect(321 * tail(k)).toBeLessThanOrEqual(0.1);
    expect(321 * tail(k - 1)).toBeGreaterThan(0.1);
    // Means beyond exp() underflow (e^-800 = 0) still work.
    expect(poissonQuantile(800, 0.5)).toBeGreaterThanOrEqual(799);
    expect(poissonQuantile(800, 0.5)).toBeLessThanOrEqual(800);
  });
});
