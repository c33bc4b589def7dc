/**
 * The `compare` use case: the same workload at each job size on a dedicated factory and in a shared data center
 * of the same servers, and the breakpoint size from which the factory wins on time and cost. One task per size
 * on the runner; the tenant traces travel by reference.
 * @module
 */
import { type ComparePoint, type CompareResult, DEFAULT_SIZES, findBreakpoint } from '../breakpoint/compare.js';
import type { CompareInput, Effects } from '../spec/compare.js';
import { COMPARE_DEFAULTS } from '../spec/compare.js';
import type { Result } from '../spec/issues.js';
import type { ResolvedSpec } from '../spec/resolve.js';
import { DEFAULT_ACCELERATOR, defaultFacility } from './facility.js';
import { compareSizesWith } from './fan-out.js';
import type { CompareDataRef, Ports, UseCaseOptions } from './ports.js';
import type { SkippedSize } from './tasks.js';

/** What `tokenworks compare` produced. */
export interface CompareOutcome {
  readonly title: string;
  /** The scenario in a few lines, as the reports print it. */
  readonly settings: readonly string[];
  /** The scenario as run (the spec's, with the flags applied). */
  readonly scenario: CompareInput;
  readonly result: CompareResult;
}

/** The input of {@link runCompare}. */
export interface CompareRunInput {
  readonly spec: ResolvedSpec;
  /** Job sizes (overrides `compare.sizes`). */
  readonly sizes?: readonly number[];
  /** Twin replicas per side and size (overrides `compare.replicas`). */
  readonly replicas?: number;
  /** Seed (overrides `compare.seed`). */
  readonly seed?: number;
  /** Effects switched off (on top of the spec's `compare.effects`). */
  readonly without?: readonly (keyof Effects)[];
  /** Where the tenant traces come from (default: the shipped figures). */
  readonly data?: CompareDataRef;
}

/** Compares the spec's workload at each size; a sweep where no size can be compared is an error saying why. */
export async function runCompare(
  input: CompareRunInput,
  ports: Ports,
  { signal }: UseCaseOptions = {},
): Promise<Result<CompareOutcome>> {
  const { spec } = input;
  const written = spec.compare ?? COMPARE_DEFAULTS;
  const scenario: CompareInput = {
    ...written,
    ...(input.replicas !== undefined && { replicas: input.replicas }),
    ...(input.seed !== undefined && { seed: input.seed }),
    effects: { ...written.effects, ...Object.fromEntries((input.without ?? []).map((name) => [name, false])) },
  };
  const sizes = input.sizes ?? scenario.sizes ?? DEFAULT_SIZES;
  const acceleratorId = spec.system?.accelerator.id ?? DEFAULT_ACCELERATOR;
  const facility = defaultFacility(spec, acceleratorId);
  const outcomes = await compareSizesWith(
    ports.runner,
    { workload: spec.workload, acceleratorId, facility, twin: spec.twin, scenario, data: input.data ?? {} },
    sizes,
    { ...(signal && { signal }), ...(ports.progress && { progress: ports.progress }) },
  );
  const points = outcomes.filter((o): o is ComparePoint => !('reason' in o));
  const skipped = outcomes.filter((o): o is SkippedSize => 'reason' in o);
  if (points.length === 0) {
    // An empty table is not an answer: say why each size could not be compared.
    const path = input.sizes !== undefined ? '--sweep' : 'compare.sizes';
    return {
      ok: false,
      issues: skipped.map((point) => {
        const count = `${point.gpus.toLocaleString('en-US')} GPUs`;
        const message = point.reason.startsWith(count) ? point.reason : `${count}: ${point.reason}`;
        return { code: 'no_result', path, message };
      }),
    };
  }
  const result: CompareResult = { points, skipped, breakpoint: findBreakpoint(points) };
  const s = scenario.shared;
  const percent = (share: number) => `${(100 * share).toFixed(0)}%`;
  const settings = [
    `${spec.workload.model.name} on ${acceleratorId}, ${(spec.workload.training.totalTokens / 1e12).toFixed(2)}T tokens; ${scenario.replicas} twin replicas per side and size, seed ${scenario.seed}`,
    `shared: ${s.gpus.toLocaleString('en-US')} GPUs, ${s.nodesPerLeaf} servers per leaf, ${s.taper}:1 above it with ${percent(s.tenantLinkLoad)} tenant load, tenants offering ${percent(s.utilisation)} (${input.data?.pods ?? 'openb'} requests, ${input.data?.runtimes ?? 'Philly'} run times), ${s.policy}; ${percent(s.olderShare)} ${s.olderAccelerator} servers${s.sameGeneration ? ' (the flagship asks for its own GPU)' : ''}; ${s.preemptionsPerDay} preemptions a day`,
    `dedicated: the plan's factory with its hot spares, used ${percent(scenario.dedicated.utilisation)} of its life; shared GPU-hours priced at the same cost over the cluster's utilisation`,
    `effects on: ${Object.entries(scenario.effects)
      .filter(([, on]) => on)
      .map(([name]) => name)
      .join(', ')}`,
  ];
  return {
    ok: true,
    value: {
      title: spec.name ?? `${spec.workload.model.name}: dedicated factory versus shared data center`,
      settings,
      scenario,
      result,
    },
  };
}

/** The `--json` document of a comparison: the breakpoint at the top, then the scenario and every point. */
export function compareOutput(outcome: CompareOutcome) {
  const { result } = outcome;
  return {
    title: outcome.title,
    breakpoint: result.breakpoint.gpus,
    breakpointStatus: result.breakpoint.status,
    breakpointReason: result.breakpoint.reason,
    settings: outcome.settings,
    scenario: outcome.scenario,
    points: result.points,
    skipped: result.skipped,
  };
}
