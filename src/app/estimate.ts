/**
 * The `estimate` use case: the performance and memory model for the spec's workload, system and plan. An
 * infeasible plan is an answer (the reasons), not a failure of the call.
 * @module
 */
import { type EstimateResult, estimate } from '../perf/estimate.js';
import type { Result } from '../spec/issues.js';
import type { ResolvedSpec } from '../spec/resolve.js';
import type { UseCaseOptions } from './ports.js';
import { throwIfAborted } from './ports.js';

/** What `tokenworks estimate` found: the estimate, or why the plan cannot run. */
export type EstimateOutcome = { readonly file?: string } & EstimateResult;

/** Estimates the spec's plan on its system; a spec without a system or a plan is an issue naming the section. */
export async function runEstimate(
  input: { readonly spec: ResolvedSpec; readonly file?: string },
  _ports: object = {},
  { signal }: UseCaseOptions = {},
): Promise<Result<EstimateOutcome>> {
  throwIfAborted(signal);
  const { spec, file } = input;
  const { system, plan } = spec;
  if (!system || !plan) {
    const missing = [!system && 'system', !plan && 'plan'].filter((part): part is string => Boolean(part));
    return {
      ok: false,
      issues: missing.map((section) => ({
        code: 'missing_value',
        path: section,
        message: `an estimate needs a ${section} section (see examples/)`,
      })),
    };
  }
  const result = estimate(spec.workload, system, plan);
  return { ok: true, value: { ...(file !== undefined && { file }), ...result } };
}
