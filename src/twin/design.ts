/**
 * The design a twin runs: the spec's system and plan when it gives them, the best plan on its system when it
 * gives only a system, or the recommended design of a design search when it gives neither. Then its estimate
 * and its factory. Problems come back as issues naming the field.
 * @module
 */
import { systemPreset } from '../catalog/systems.js';
import { estimate } from '../perf/estimate.js';
import { type DesignPoint, searchDesigns } from '../plan/design.js';
import { designFactory } from '../plan/factory.js';
import { searchPlans, withPrecision } from '../plan/search.js';
import type { Result } from '../spec/issues.js';
import { type ResolvedFacility, type ResolvedSpec, type ResolvedWorkload, resolveFacility } from '../spec/resolve.js';
import { type TwinConfig, type TwinDesign, twinConfig } from './setup.js';

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

/** Finds the design `spec` describes (searching plans or designs where it leaves them out). */
export function twinDesign(spec: ResolvedSpec): Result<TwinDesign> {
  const name = spec.name ?? spec.workload.model.name;
  if (!spec.system) {
    const facility = spec.facility ?? resolveFacility({ cooling: 'direct-liquid' });
    const design = searchDesigns(spec.workload, facility, {
      ...(spec.constraints && { constraints: spec.constraints }),
    });
    const chosen = design.recommended;
    if (!chosen) {
      return {
        ok: false,
        issues: [
          {
            code: 'constraint',
            path: 'constraints',
            message: `no design to simulate: ${design.binding.map((b) => b.message).join('; ') || 'no accelerator and size fits'}`,
          },
        ],
      };
    }
    return { ok: true, value: designOfPoint(name, spec.workload, facility, chosen) };
  }
  const system = spec.system;
  const preset = systemPreset(system.accelerator.id);
  const facility = spec.facility ?? resolveFacility({ cooling: preset?.rack ? 'direct-liquid' : 'air' });
  let workload = spec.workload;
  let plan = spec.plan;
  if (!plan) {
    const best = searchPlans(workload, system, { top: 1 }).best[0];
    if (!best) {
      return {
        ok: false,
        issues: [
          { code: 'constraint', path: 'system', message: 'no plan runs on this system (see `tokenworks plan`)' },
        ],
      };
    }
    plan = best.plan;
    workload = withPrecision(workload, best.precision);
  }
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

/** The twin configuration of the design a spec describes, with the spec's `twin` settings. */
export function twinConfigOf(spec: ResolvedSpec): Result<TwinConfig> {
  const design = twinDesign(spec);
  return design.ok ? twinConfig(design.value, spec.twin) : design;
}
