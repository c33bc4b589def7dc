/**
 * The `simulate` use case: the digital twin of the whole training run on the design a spec describes (or the
 * design document `plan --json` wrote), over seeded replicas spread on the runner. The same seed gives the same
 * outcome on any runner.
 * @module
 */
import { planLayout } from '../plan/layout.js';
import { isEventBudgetError } from '../sim/index.js';
import type { Result, SpecIssue } from '../spec/issues.js';
import type { ResolvedSpec } from '../spec/resolve.js';
import { TWIN_DEFAULTS, type TwinInput, withoutMitigation } from '../spec/twin.js';
import { type TwinConfig, type TwinDesign, type TwinWarning, twinConfig } from '../twin/setup.js';
import { compareMitigation, type MitigationComparison, type StudyResult } from '../twin/study.js';
import { designOf } from './design.js';
import { runStudyWith } from './fan-out.js';
import type { Ports, UseCaseOptions } from './ports.js';

/** What `tokenworks simulate` produced. */
export interface SimulateOutcome {
  readonly title: string;
  readonly design: {
    readonly gpus: number;
    readonly accelerator: string;
    readonly layout: string;
    readonly tokensPerSecond: number;
    readonly stepSeconds: number;
  };
  readonly config: TwinConfig;
  readonly study: StudyResult;
  /** Settings far from an observed or stated reliability (TwinConfig.warnings), for the front-end to show. */
  readonly warnings: readonly TwinWarning[];
  /** With `mitigation`: ETTR without and with the spec's `twin.mitigation` on the same seeds, and the gain by cause. */
  readonly mitigation?: MitigationComparison;
}

/** How many replicas and from which seed. */
export interface StudySettings {
  readonly replicas: number;
  readonly seed: number;
}

/** The input of {@link runSimulate}. */
export interface SimulateInput extends StudySettings {
  readonly spec: ResolvedSpec;
  /** Simulate this many wall-clock days (overrides `twin.days`). */
  readonly days?: number;
  /** Also compare the run without and with the spec's `twin.mitigation` (an issue when it has none). */
  readonly mitigation?: boolean;
}

/** Simulates the design `spec` describes with its `twin` settings. */
export async function runSimulate(
  input: SimulateInput,
  ports: Ports,
  options: UseCaseOptions = {},
): Promise<Result<SimulateOutcome>> {
  const { spec, days } = input;
  const design = await designOf(spec, ports.runner, {
    ...(options.signal && { signal: options.signal }),
    ...(ports.progress && { progress: ports.progress }),
  });
  if (!design.ok) return design;
  const twin = twinWithDays(spec, days);
  if (input.mitigation && twin?.mitigation === undefined) {
    return {
      ok: false,
      issues: [
        {
          code: 'missing_mitigation',
          path: 'twin.mitigation',
          message:
            'the spec has no twin.mitigation policy to compare; add one (e.g. examples/llama3-405b-54d-mitigation.yaml) or drop --mitigation',
        },
      ],
    };
  }
  const outcome = await simulateDesign(design.value, twin, input, ports, options);
  if (!outcome.ok || !input.mitigation) return outcome;
  const baseline = twinConfig(design.value, withoutMitigation(twin));
  if (!baseline.ok) return baseline;
  options.signal?.throwIfAborted();
  ports.progress?.start('mitigation: without and with the policy on the same seeds', 1);
  let mitigation: MitigationComparison;
  try {
    // On the calling thread: compareMitigation pairs each replica of both configs (common random numbers).
    mitigation = compareMitigation(baseline.value, outcome.value.config, {
      replicas: input.replicas,
      seed: input.seed,
    });
    ports.progress?.tick();
    ports.progress?.done();
  } catch (error) {
    return {
      ok: false,
      issues: eventBudgetIssue(error, 'lower the failure or straggler rates, or simulate fewer days'),
    };
  }
  return { ok: true, value: { ...outcome.value, mitigation } };
}

/** The spec's `twin` settings, with `days` (a `--days` flag) in place of `twin.days` when given. */
export function twinWithDays(spec: ResolvedSpec, days: number | undefined): TwinInput | undefined {
  return days === undefined ? spec.twin : { ...(spec.twin ?? TWIN_DEFAULTS), days };
}

/** The issues a run past the kernel's event budget becomes: a setting to change, not a fault (others rethrow). */
export function eventBudgetIssue(error: unknown, fix: string): SpecIssue[] {
  if (!isEventBudgetError(error)) throw error;
  return [{ code: 'too_big', path: 'twin', message: `${error.message}: ${fix}` }];
}

/** Simulates `design` with the `twin` settings (what `plan --simulate` runs on the design it chose). */
export async function simulateDesign(
  design: TwinDesign,
  twin: TwinInput | undefined,
  { replicas, seed }: StudySettings,
  ports: Ports,
  { signal }: UseCaseOptions = {},
): Promise<Result<SimulateOutcome>> {
  const config = twinConfig(design, twin);
  if (!config.ok) return config;
  let study: StudyResult;
  try {
    study = await runStudyWith(
      ports.runner,
      config.value,
      { replicas, seed },
      { ...(signal && { signal }), ...(ports.progress && { progress: ports.progress }) },
    );
  } catch (error) {
    // The kernel's event budget is the backstop behind twinConfig's estimate; crossing it is a setting to change.
    return {
      ok: false,
      issues: eventBudgetIssue(error, 'lower the failure or straggler rates, or simulate fewer days'),
    };
  }
  return {
    ok: true,
    value: {
      title: `${design.name}: digital twin`,
      design: {
        gpus: design.system.gpuCount,
        accelerator: design.system.accelerator.name,
        layout: planLayout(design.plan),
        tokensPerSecond: design.estimate.tokensPerSecond,
        stepSeconds: design.estimate.step.seconds,
      },
      config: config.value,
      study,
      warnings: config.value.warnings,
    },
  };
}
