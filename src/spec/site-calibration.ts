/**
 * A site calibration: how fast this site runs what the performance model predicts, fitted by
 * `tokenworks calibrate` from observed runs and referenced by a spec as `system.calibration: site.json`.
 *
 * The factor is `siteEfficiency = modelled step time ÷ measured step time`: the next estimate on the site divides
 * every part of its modelled step by it (src/perf/estimate.ts). It is fitted on a set of runs, never one row: the
 * geometric mean of the runs' ratios (the least-squares fit of a single multiplicative factor in log space), with
 * the spread of the ratios kept beside it so that a user sees how well one factor explains the site.
 *
 * Pure: no Node APIs.
 * @module
 */
import { z } from 'zod';
import type { Result, SpecIssue } from './issues.js';
import { MAX_SITE_EFFICIENCY } from './system.js';

/** The `kind` every calibration file carries. */
export const SITE_CALIBRATION_KIND = 'tokenworks-site-calibration';

/**
 * Ratios outside this band are fitted but flagged: a site factor explains clocks, drivers, kernels and fabric
 * tuning of a few tens of percent (perf-anchors: Megatron-Core MFU of comparable H100 runs differs by about
 * ±20 %); a larger gap says the model misses a cost (fixed per-step overheads of a small model, another stack).
 */
export const PLAUSIBLE_SITE_EFFICIENCY = { min: 0.5, max: 1.25 } as const;

const finitePositive = z.number().positive().max(1e12);

/** One observed run the factor was fitted on. */
export const CalibrationRunSchema = z.strictObject({
  run: z.string().min(1).max(1000).describe('The run (its log file) as given to calibrate'),
  spec: z.string().max(1000).optional().describe('The spec the prediction came from'),
  predictedStepSeconds: finitePositive.describe('The model’s step time, without any site factor'),
  observedStepSeconds: finitePositive.describe('Median iteration time over the run’s steady steps'),
  steadySteps: z.number().int().min(1).max(1e12),
  ratio: finitePositive.describe('predicted ÷ observed'),
});

/** A site calibration file. */
export const SiteCalibrationSchema = z.strictObject({
  $schema: z.string().optional(),
  kind: z.literal(SITE_CALIBRATION_KIND),
  version: z.literal(1),
  siteEfficiency: finitePositive.max(MAX_SITE_EFFICIENCY).describe('Modelled ÷ measured step time'),
  accelerator: z.string().min(1).max(200).describe('Accelerator of the runs it was fitted on'),
  method: z.string().max(1000),
  spread: z.strictObject({
    min: finitePositive,
    max: finitePositive,
    /** Geometric standard deviation of the ratios (1 for a single run). */
    geometricSd: z.number().min(1).max(1e6),
  }),
  runs: z.array(CalibrationRunSchema).min(1).max(10_000),
  warnings: z.array(z.string().max(2000)).max(100).default([]),
  createdAt: z.string().max(100).optional(),
});

export type SiteCalibration = z.output<typeof SiteCalibrationSchema>;
export type CalibrationRun = z.output<typeof CalibrationRunSchema>;

/** One run's prediction and measurement, the input of {@link fitSiteCalibration}. */
export interface CalibrationObservation {
  readonly run: string;
  readonly spec?: string;
  readonly accelerator: string;
  readonly predictedStepSeconds: number;
  readonly observedStepSeconds: number;
  readonly steadySteps: number;
}

/**
 * Fits the site factor on `observations`: exp(mean(ln(predicted/observed))), the least-squares single factor in
 * log space. Runs on different accelerators are refused (a factor belongs to one kind of GPU at one site).
 */
export function fitSiteCalibration(
  observations: readonly CalibrationObservation[],
  createdAt?: string,
): Result<SiteCalibration> {
  const issues: SpecIssue[] = [];
  if (observations.length === 0) {
    return {
      ok: false,
      issues: [{ code: 'missing_value', path: 'runs', message: 'calibrate needs at least one run' }],
    };
  }
  observations.forEach((o, i) => {
    for (const key of ['predictedStepSeconds', 'observedStepSeconds'] as const) {
      if (!(Number.isFinite(o[key]) && o[key] > 0)) {
        issues.push({ code: 'invalid_value', path: `runs.${i}.${key}`, message: `${o.run}: ${key} is not positive` });
      }
    }
  });
  const accelerators = [...new Set(observations.map((o) => o.accelerator))];
  if (accelerators.length > 1) {
    issues.push({
      code: 'invalid_value',
      path: 'runs',
      message: `the runs are on different accelerators (${accelerators.join(', ')}): calibrate each kind separately`,
    });
  }
  if (issues.length > 0) return { ok: false, issues };
  const logs = observations.map((o) => Math.log(o.predictedStepSeconds / o.observedStepSeconds));
  // Geometric mean and geometric standard deviation of the ratios (Kirkwood 1979).
  const meanLog = logs.reduce((a, b) => a + b, 0) / logs.length;
  const varLog = logs.length > 1 ? logs.reduce((a, b) => a + (b - meanLog) ** 2, 0) / (logs.length - 1) : 0;
  const siteEfficiency = Math.exp(meanLog);
  const ratios = logs.map(Math.exp);
  const warnings: string[] = [];
  if (siteEfficiency > MAX_SITE_EFFICIENCY) {
    return {
      ok: false,
      issues: [
        {
          code: 'too_big',
          path: 'siteEfficiency',
          message: `the runs went ${siteEfficiency.toFixed(2)}× faster than the model: check the spec's plan, batch and precision against the run`,
        },
      ],
    };
  }
  if (siteEfficiency < PLAUSIBLE_SITE_EFFICIENCY.min || siteEfficiency > PLAUSIBLE_SITE_EFFICIENCY.max) {
    warnings.push(
      `site efficiency ${siteEfficiency.toFixed(3)} is outside ${PLAUSIBLE_SITE_EFFICIENCY.min}–${PLAUSIBLE_SITE_EFFICIENCY.max}: the gap is more than a site factor explains (a small model's fixed per-step overheads, another software stack, a plan that differs from the run); apply it only to runs like these`,
    );
  }
  if (observations.length === 1) {
    warnings.push('fitted on one run: add runs of other sizes so the factor is a site figure, not one job’s');
  }
  return {
    ok: true,
    value: {
      kind: SITE_CALIBRATION_KIND,
      version: 1,
      siteEfficiency,
      accelerator: accelerators[0] as string,
      method: 'geometric mean over the runs of predicted ÷ observed median steady step time',
      spread: { min: Math.min(...ratios), max: Math.max(...ratios), geometricSd: Math.exp(Math.sqrt(varLog)) },
      runs: observations.map((o, i) => ({
        run: o.run,
        ...(o.spec !== undefined && { spec: o.spec }),
        predictedStepSeconds: o.predictedStepSeconds,
        observedStepSeconds: o.observedStepSeconds,
        steadySteps: o.steadySteps,
        ratio: ratios[i] as number,
      })),
      warnings,
      ...(createdAt !== undefined && { createdAt }),
    },
  };
}

/** Reads a calibration file's text (JSON); issues are under `path` (the spec field that named the file). */
export function parseSiteCalibration(text: string, path = 'system.calibration'): Result<SiteCalibration> {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    const reason = error instanceof Error ? error.message : String(error);
    return {
      ok: false,
      issues: [{ code: 'syntax', path, message: `the calibration file is not JSON (${reason.slice(0, 120)})` }],
    };
  }
  const parsed = SiteCalibrationSchema.safeParse(value);
  if (!parsed.success) {
    return {
      ok: false,
      issues: parsed.error.issues.slice(0, 20).map((issue) => ({
        code: 'invalid_value',
        path: [path, ...issue.path.map(String)].join('.'),
        message: `${issue.message} (write the file with \`tokenworks calibrate\`)`,
      })),
    };
  }
  return { ok: true, value: parsed.data };
}
