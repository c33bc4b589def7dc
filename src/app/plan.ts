/**
 * The `plan` use case: with a system in the spec, search every plan on it and design its factory (its
 * constraints then give a verdict: which it misses and by how much); without one, search accelerators and
 * sizes under the constraints and recommend a factory. The outcome carries the chosen design as a spec document,
 * so `simulate` and `estimate` can read it back.
 * @module
 */

import type { MatmulPrecision } from '../perf/compute-rates.js';
import type { Estimate } from '../perf/estimate.js';
import type { DesignResult } from '../plan/design.js';
import type { Factory } from '../plan/factory.js';
import type { SearchResult } from '../plan/search.js';
import { specDocument } from '../spec/document.js';
import type { Result } from '../spec/issues.js';
import type { ResolvedPlan, ResolvedSpec, ResolvedSystem } from '../spec/resolve.js';
import type { SpecInput } from '../spec/spec.js';
import type { TwinDesign } from '../twin/setup.js';
import { designFromCatalog, planOnSystem } from './design.js';
import type { Ports, UseCaseOptions } from './ports.js';

/** What `tokenworks plan` found. */
export interface PlanOutcome {
  readonly title: string;
  /** Plan search on the spec's system, or design search over the catalog. */
  readonly mode: 'plans' | 'designs';
  readonly search?: SearchResult;
  readonly design?: DesignResult;
  readonly chosen?: {
    readonly system: ResolvedSystem;
    readonly plan: ResolvedPlan;
    readonly estimate: Estimate;
    readonly factory?: Factory;
    readonly factoryIssues?: readonly string[];
    readonly reasons: readonly string[];
  };
  /**
   * What binds and by how much: with a system, the constraints the chosen plan misses; in a design search with
   * nothing recommended, the limit that rules every design out.
   */
  readonly binding: readonly string[];
  /** The chosen design as a spec document (`tokenworks simulate` and `estimate` read it back). */
  readonly spec?: SpecInput;
  /** The spec's deadline (design searches), drawn as a rule on the Pareto chart. */
  readonly deadlineDays?: number;
}

/** The input of {@link runPlan}. */
export interface PlanInput {
  readonly spec: ResolvedSpec;
  /** How many plans to list. */
  readonly top: number;
  /** Matmul precisions to try (default: the workload's). */
  readonly precisions?: readonly MatmulPrecision[];
}

/** The plan outcome and the design it chose (what `plan --simulate` runs). */
export interface PlanResult {
  readonly outcome: PlanOutcome;
  readonly design?: TwinDesign;
}

/**
 * Plans the spec. Never fails on a valid spec: finding nothing is an outcome without `chosen`, whose `binding`
 * says why (the CLI turns that into exit 2).
 */
export async function runPlan(
  input: PlanInput,
  ports: Ports,
  { signal }: UseCaseOptions = {},
): Promise<Result<PlanResult>> {
  const { spec, top, precisions } = input;
  const options = { ...(signal && { signal }), ...(ports.progress && { progress: ports.progress }) };
  let result: PlanResult;
  if (spec.system) {
    const system = spec.system;
    const found = await planOnSystem(
      { ...spec, system },
      ports.runner,
      { top, ...(precisions && { precisions }) },
      options,
    );
    const best = found.search.best[0];
    result = {
      outcome: {
        title: `${spec.workload.model.name} on ${system.gpuCount} × ${system.accelerator.name}`,
        mode: 'plans',
        search: found.search,
        ...(best && {
          chosen: {
            system,
            plan: best.plan,
            estimate: best.estimate,
            ...(found.design ? { factory: found.design.factory } : { factoryIssues: found.factoryIssues ?? [] }),
            reasons: found.reasons,
          },
        }),
        binding: found.binding,
      },
      ...(found.design && { design: found.design }),
    };
  } else {
    const found = await designFromCatalog(spec, ports.runner, { ...(precisions && { precisions }) }, options);
    const chosen = found.result.recommended;
    result = {
      outcome: {
        title: `${spec.workload.model.name}: ${spec.name ?? 'factory design'}`,
        mode: 'designs',
        design: found.result,
        ...(chosen && {
          chosen: {
            system: chosen.system,
            plan: chosen.plan,
            estimate: chosen.estimate,
            factory: chosen.factory,
            reasons: found.result.reasons,
          },
        }),
        binding: found.result.binding.map((b) => b.message),
        ...(spec.constraints?.deadlineDays !== undefined && { deadlineDays: spec.constraints.deadlineDays }),
      },
      ...(found.design && { design: found.design }),
    };
  }
  const { design } = result;
  if (!design) return { ok: true, value: result };
  const document = specDocument({
    ...(spec.name !== undefined && { name: spec.name }),
    workload: design.workload,
    system: design.system,
    plan: design.plan,
    facility: design.facility,
    ...(spec.twin && { twin: spec.twin }),
  });
  return { ok: true, value: { ...result, outcome: { ...result.outcome, spec: document } } };
}
