/**
 * The `check` use case: a spec that passed its schema is checked further, as `estimate` and `plan` would check
 * it first: the fabric's reach for the GPU count, the plan's layout and memory, and the constraints the plan
 * misses. It sizes the job either way (parameters, FLOPs, memory, steps, compute).
 * @module
 */

import { estimate } from '../perf/estimate.js';
import { type SpecSummary, summarizeSpec } from '../perf/summary.js';
import { missedConstraints } from '../plan/design.js';
import { designFactory, fabricRadix } from '../plan/factory.js';
import { MAX_FABRIC_TIERS, maxFabricGpus } from '../plan/network.js';
import type { Result, SpecIssue } from '../spec/issues.js';
import type { ResolvedSpec } from '../spec/resolve.js';
import { defaultFacility } from './facility.js';
import { throwIfAborted, type UseCaseOptions } from './ports.js';

/** What `check` finds beyond the schema. */
export interface Feasibility {
  /** Problems that stop the spec's plan from running. */
  readonly issues: SpecIssue[];
  /** Constraints the plan misses: the spec runs, but not within its limits. */
  readonly warnings: SpecIssue[];
}

/** What `tokenworks check` found. */
export interface CheckOutcome {
  readonly file?: string;
  readonly valid: true;
  /** False when the fabric cannot reach the GPUs or the plan cannot run (then `issues` says why). */
  readonly feasible: boolean;
  readonly issues: SpecIssue[];
  readonly warnings: SpecIssue[];
  readonly spec: ResolvedSpec;
  readonly summary: SpecSummary;
}

/** Runs what `estimate` and `plan` check first: the fabric's reach, the plan's layout and memory, the limits. */
export function checkFeasibility(spec: ResolvedSpec): Feasibility {
  const issues: SpecIssue[] = [];
  const warnings: SpecIssue[] = [];
  const system = spec.system;
  if (!system) return { issues, warnings };
  const radix = fabricRadix(system);
  const reach = maxFabricGpus({
    gpusPerNode: system.gpusPerNode,
    radix,
    oversubscription: system.scaleOut.oversubscription,
  });
  if (system.gpuCount > reach) {
    issues.push({
      code: 'too_big',
      path: 'system.gpuCount',
      value: system.gpuCount,
      message: `${system.gpuCount.toLocaleString('en-US')} GPUs is beyond the largest fabric modelled: ${MAX_FABRIC_TIERS} tiers of ${radix}-port switches with ${system.gpusPerNode} rails reach ${reach.toLocaleString('en-US')} GPUs; use at most that many, or switches with more ports (system.scaleOut.switchRadix or fabric)`,
    });
    return { issues, warnings };
  }
  const plan = spec.plan;
  if (!plan) return { issues, warnings };
  const result = estimate(spec.workload, system, plan);
  if (!result.ok) {
    issues.push(...result.issues.map((issue) => ({ code: issue.code, path: issue.path, message: issue.message })));
    return { issues, warnings };
  }
  if (spec.constraints && Object.keys(spec.constraints).length > 0) {
    const factory = designFactory(spec.workload, system, defaultFacility(spec), result, plan);
    if (factory.ok) {
      for (const missed of missedConstraints({ gpus: system.gpuCount, factory }, spec.constraints)) {
        warnings.push({ code: 'constraint', path: `constraints.${missed.constraint}`, message: missed.message });
      }
    }
  }
  return { issues, warnings };
}

/** Checks a resolved spec and sizes its job. Always an outcome: `feasible: false` carries the reasons. */
export async function runCheck(
  input: { readonly spec: ResolvedSpec; readonly file?: string },
  _ports: object = {},
  { signal }: UseCaseOptions = {},
): Promise<Result<CheckOutcome>> {
  throwIfAborted(signal);
  const { spec, file } = input;
  const verdict = checkFeasibility(spec);
  return {
    ok: true,
    value: {
      ...(file !== undefined && { file }),
      valid: true,
      feasible: verdict.issues.length === 0,
      issues: verdict.issues,
      warnings: verdict.warnings,
      spec,
      summary: summarizeSpec(spec),
    },
  };
}
