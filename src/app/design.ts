/**
 * Spec → design, once: the one place that decides which factory a spec describes, the facility it stands in when
 * the spec names none, and the accelerator a comparison uses when the spec names no system. `plan`, `simulate`
 * and `compare` all start here.
 * - With a system and a plan: that plan, its estimate and its factory.
 * - With a system only: the best plan on it (a plan search).
 * - With neither: the recommended design of a search over the catalog's accelerators and sizes.
 * @module
 */
import type { MatmulPrecision } from '../perf/compute-rates.js';
import { estimate } from '../perf/estimate.js';
import { type DesignPoint, type DesignResult, missedConstraints } from '../plan/design.js';
import { explainPlan, whyNoPlan } from '../plan/explain.js';
import { designFactory, type Factory } from '../plan/factory.js';
import { type SearchResult, withPrecision } from '../plan/search.js';
import type { Result, SpecIssue } from '../spec/issues.js';
import type {
  ResolvedFacility,
  ResolvedPlan,
  ResolvedSpec,
  ResolvedSystem,
  ResolvedWorkload,
} from '../spec/resolve.js';
import type { TwinDesign } from '../twin/setup.js';
import { defaultFacility } from './facility.js';
import { searchDesignsWith, searchPlansWith } from './fan-out.js';
import { type Progress, SILENT, type TaskRunner, type UseCaseOptions } from './ports.js';

export { DEFAULT_ACCELERATOR, defaultFacility } from './facility.js';

/** The twin design of a design-search point: the workload at the precision its plan search chose. */
export function designOfPoint(
  name: string,
  workload: ResolvedWorkload,
  facility: ResolvedFacility,
  point: DesignPoint,
): TwinDesign {
  return {
    name,
    workload: withPrecision(workload, point.precision),
    system: point.system,
    plan: point.plan,
    facility,
    estimate: point.estimate,
    factory: point.factory,
  };
}

/** The design of one plan on a given system: its estimate checked, its factory built. */
export function designOfPlan(
  name: string,
  workload: ResolvedWorkload,
  system: ResolvedSystem,
  plan: ResolvedPlan,
  facility: ResolvedFacility,
): Result<TwinDesign> {
  const result = estimate(workload, system, plan);
  if (!result.ok) {
    return {
      ok: false,
      issues: result.issues.map((issue) => ({ code: issue.code, path: issue.path, message: issue.message })),
    };
  }
  const factory = designFactory(workload, system, facility, result, plan);
  if (!factory.ok) {
    return {
      ok: false,
      issues: factory.issues.map((issue) => ({ code: issue.code, path: issue.path, message: issue.message })),
    };
  }
  return { ok: true, value: { name, workload, system, plan, facility, estimate: result, factory } };
}

/** What a plan search on a given system found: the search, and the chosen plan's design when one runs. */
export interface SystemPlan {
  readonly search: SearchResult;
  readonly design?: TwinDesign;
  /** The chosen plan's factory problems, when its factory cannot be built (the plan still ran). */
  readonly factoryIssues?: readonly string[];
  /** Why the design was chosen. */
  readonly reasons: readonly string[];
  /** Constraints the design misses, or why no plan runs. */
  readonly binding: readonly string[];
}

/** The best plans on the spec's system and the design of the best one. */
export async function planOnSystem(
  spec: ResolvedSpec & { readonly system: ResolvedSystem },
  runner: TaskRunner,
  options: { readonly top: number; readonly precisions?: readonly MatmulPrecision[] },
  { signal }: UseCaseOptions = {},
): Promise<SystemPlan> {
  const { system } = spec;
  const search = await searchPlansWith(
    runner,
    spec.workload,
    system,
    { top: options.top, ...(options.precisions && { precisions: [...options.precisions] }) },
    { ...(signal && { signal }) },
  );
  const best = search.best[0];
  if (!best) return { search, reasons: [], binding: [whyNoPlan(spec.workload, system, search, options.precisions)] };
  const facility = defaultFacility(spec);
  const workload = withPrecision(spec.workload, best.precision);
  const factory = designFactory(workload, system, facility, best.estimate, best.plan);
  const reasons = explainPlan(workload, system, best.plan, best.estimate);
  if (!factory.ok) return { search, reasons, binding: [], factoryIssues: factory.issues.map((issue) => issue.message) };
  const name = spec.name ?? workload.model.name;
  const design: TwinDesign = { name, workload, system, plan: best.plan, facility, estimate: best.estimate, factory };
  return { search, design, reasons, binding: missedBy(factory, system.gpuCount, spec) };
}

/** The constraint messages `factory` misses on a given system. */
function missedBy(factory: Factory, gpus: number, spec: ResolvedSpec): string[] {
  return spec.constraints ? missedConstraints({ gpus, factory }, spec.constraints).map((b) => b.message) : [];
}

/** What a design search found, and the recommended design. */
export interface CatalogDesign {
  readonly result: DesignResult;
  readonly facility: ResolvedFacility;
  readonly design?: TwinDesign;
}

/** A design search over the catalog under the spec's constraints, and the recommended design. */
export async function designFromCatalog(
  spec: ResolvedSpec,
  runner: TaskRunner,
  options: { readonly precisions?: readonly MatmulPrecision[] } = {},
  { signal, progress = SILENT }: UseCaseOptions & { readonly progress?: Progress } = {},
): Promise<CatalogDesign> {
  const facility = defaultFacility(spec);
  const result = await searchDesignsWith(
    runner,
    spec.workload,
    facility,
    {
      ...(spec.constraints && { constraints: spec.constraints }),
      ...(options.precisions && { precisions: [...options.precisions] }),
    },
    { ...(signal && { signal }), progress },
  );
  const chosen = result.recommended;
  const name = spec.name ?? spec.workload.model.name;
  return { result, facility, ...(chosen && { design: designOfPoint(name, spec.workload, facility, chosen) }) };
}

/**
 * The design `spec` describes: its own system and plan, the best plan on its system, or the recommended design
 * of the catalog. Problems come back as issues naming the field.
 */
export async function designOf(
  spec: ResolvedSpec,
  runner: TaskRunner,
  options: UseCaseOptions & { readonly progress?: Progress } = {},
): Promise<Result<TwinDesign>> {
  const name = spec.name ?? spec.workload.model.name;
  const system = spec.system;
  if (!system) {
    const found = await designFromCatalog(spec, runner, {}, options);
    if (found.design) return { ok: true, value: found.design };
    const why = found.result.binding.map((b) => b.message).join('; ') || 'no accelerator and size fits';
    return { ok: false, issues: [{ code: 'constraint', path: 'constraints', message: `no design: ${why}` }] };
  }
  if (spec.plan) return designOfPlan(name, spec.workload, system, spec.plan, defaultFacility(spec));
  const found = await planOnSystem({ ...spec, system }, runner, { top: 1 }, options);
  if (found.design) return { ok: true, value: found.design };
  const issues: SpecIssue[] = found.factoryIssues
    ? found.factoryIssues.map((message) => ({ code: 'factory', path: 'system', message }))
    : found.binding.map((message) => ({ code: 'constraint', path: 'system', message }));
  return { ok: false, issues };
}
