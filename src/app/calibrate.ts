/**
 * The `calibrate` use case: a site efficiency factor fitted from observed runs of a spec (and the runs of an
 * earlier calibration, so a site's set grows run by run), for `system.calibration` to reference
 * (src/spec/site-calibration.ts). The prediction is the model's own, without any site factor the spec carries.
 * @module
 */
import type { Result } from '../spec/issues.js';
import type { ResolvedSpec } from '../spec/resolve.js';
import { type CalibrationObservation, fitSiteCalibration, type SiteCalibration } from '../spec/site-calibration.js';
import { modeInterval, observedKpis } from '../telemetry/kpis.js';
import type { StepPoint } from '../telemetry/megatron-ci.js';
import { designOf } from './design.js';

export { parseSiteCalibration, type SiteCalibration } from '../spec/site-calibration.js';

import type { Ports, UseCaseOptions } from './ports.js';

/** One observed run: its name (a log file) and its steps. */
export interface ObservedRun {
  readonly name: string;
  readonly steps: readonly StepPoint[];
}

/** The input of {@link runCalibrate}. */
export interface CalibrateInput {
  readonly spec: ResolvedSpec;
  readonly specName?: string;
  readonly runs: readonly ObservedRun[];
  /** A calibration whose runs are fitted together with these. */
  readonly previous?: SiteCalibration;
  /** When the fit was made (ISO 8601), recorded in the file. */
  readonly createdAt?: string;
}

/** Fits the site factor of the spec's accelerator from the runs (and the previous calibration's). */
export async function runCalibrate(
  input: CalibrateInput,
  ports: Ports,
  options: UseCaseOptions = {},
): Promise<Result<SiteCalibration>> {
  const { spec } = input;
  // The model's own prediction: a site factor already in the spec would be fitted twice.
  const bare: ResolvedSpec = spec.system
    ? { ...spec, system: { ...spec.system, siteEfficiency: undefined, calibration: undefined } }
    : spec;
  const design = await designOf(bare, ports.runner, {
    ...(options.signal && { signal: options.signal }),
    ...(ports.progress && { progress: ports.progress }),
  });
  if (!design.ok) return design;
  const accelerator = design.value.system.accelerator.id ?? design.value.system.accelerator.name;
  const observations: CalibrationObservation[] = [];
  for (const run of input.runs) {
    const timed = run.steps.filter((p) => p.iterationSeconds !== undefined);
    const kpis = observedKpis(run.steps, { logInterval: modeInterval(timed.map((p) => p.step)) });
    if (kpis.empty || kpis.steady.count === 0) {
      return {
        ok: false,
        issues: [
          {
            code: 'empty',
            path: 'runs',
            message: `${run.name}: ${kpis.reason ?? 'no steady steps'}; give a log with timed iterations`,
          },
        ],
      };
    }
    observations.push({
      run: run.name,
      ...(input.specName !== undefined && { spec: input.specName }),
      accelerator,
      predictedStepSeconds: design.value.estimate.step.seconds,
      observedStepSeconds: kpis.steady.p50,
      steadySteps: kpis.steady.count,
    });
  }
  const previous: CalibrationObservation[] = (input.previous?.runs ?? []).map((r) => ({
    run: r.run,
    ...(r.spec !== undefined && { spec: r.spec }),
    accelerator: input.previous?.accelerator ?? accelerator,
    predictedStepSeconds: r.predictedStepSeconds,
    observedStepSeconds: r.observedStepSeconds,
    steadySteps: r.steadySteps,
  }));
  // A run given again replaces its earlier row (the same log fitted twice is one run, not two).
  const again = new Set(observations.map((o) => o.run));
  return fitSiteCalibration([...previous.filter((p) => !again.has(p.run)), ...observations], input.createdAt);
}
