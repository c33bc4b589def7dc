/**
 * A synchronous spec → twin configuration for tests of the twin's internals: the spec's system with its plan, or
 * the best plan on it, through app/design.ts's `designOfPlan` (the one spec → design path of the product, which
 * also serves `simulate`). Test specs always name their system, so no design search is needed here.
 * @module
 */
import { defaultFacility, designOfPlan } from '../../src/app/design.js';
import { searchPlans, withPrecision } from '../../src/plan/search.js';
import type { Result } from '../../src/spec/issues.js';
import type { ResolvedSpec } from '../../src/spec/resolve.js';
import { type TwinConfig, type TwinDesign, twinConfig } from '../../src/twin/setup.js';

/** The design of a spec that names its system: its plan, or the best plan on it. */
export function twinDesignOf(spec: ResolvedSpec): Result<TwinDesign> {
  const system = spec.system;
  if (!system) throw new Error('test specs name their system');
  let workload = spec.workload;
  let plan = spec.plan;
  if (!plan) {
    const best = searchPlans(workload, system, { top: 1 }).best[0];
    if (!best) return { ok: false, issues: [{ code: 'constraint', path: 'system', message: 'no plan runs' }] };
    plan = best.plan;
    workload = withPrecision(workload, best.precision);
  }
  return designOfPlan(spec.name ?? workload.model.name, workload, system, plan, defaultFacility(spec));
}

/** The twin configuration of a spec that names its system, with its `twin` settings. */
export function twinConfigOf(spec: ResolvedSpec): Result<TwinConfig> {
  const design = twinDesignOf(spec);
  return design.ok ? twinConfig(design.value, spec.twin) : design;
}
