/**
 * Worker-thread entry point for plan and design searches and twin studies (run by the piscina pool in pool.ts). Each task is a
 * pure function call on plain data, so results are identical to the single-thread path.
 * @module
 */

import { type CompareData, comparePoint } from '../breakpoint/compare.js';
import type { MatmulPrecision } from '../perf/compute-rates.js';
import { evaluateDesign } from '../plan/design.js';
import { type SearchOptions, searchPlans } from '../plan/search.js';
import type { CompareInput } from '../spec/compare.js';
import type { Constraints } from '../spec/constraints.js';
import type { ResolvedFacility, ResolvedSystem, ResolvedWorkload } from '../spec/resolve.js';
import type { TwinInput } from '../spec/twin.js';
import type { TwinConfig } from '../twin/setup.js';
import { runReplicas } from '../twin/study.js';

/** A task for a worker. */
export type SearchTask =
  | {
      readonly kind: 'plans';
      readonly workload: ResolvedWorkload;
      readonly system: ResolvedSystem;
      readonly options: SearchOptions;
    }
  | {
      readonly kind: 'design';
      readonly workload: ResolvedWorkload;
      readonly facility: ResolvedFacility;
      readonly constraints: Constraints;
      readonly accelerator: string;
      readonly gpus: number;
      readonly precisions?: readonly MatmulPrecision[];
    }
  | {
      readonly kind: 'compare';
      readonly workload: ResolvedWorkload;
      readonly acceleratorId: string;
      readonly facility: ResolvedFacility;
      readonly twin: TwinInput | undefined;
      readonly scenario: CompareInput;
      readonly data: CompareData;
      readonly gpus: number;
    }
  | {
      readonly kind: 'twin';
      readonly config: TwinConfig;
      readonly seed: number;
      readonly from: number;
      readonly to: number;
    };

/** Runs one task. */
export default function run(task: SearchTask) {
  if (task.kind === 'plans') return searchPlans(task.workload, task.system, task.options);
  if (task.kind === 'twin') return runReplicas(task.config, task.seed, task.from, task.to);
  if (task.kind === 'compare') {
    return comparePoint(
      task.workload,
      task.acceleratorId,
      task.facility,
      task.twin,
      task.scenario,
      task.data,
      task.gpus,
    );
  }
  return evaluateDesign(task.workload, task.facility, task.constraints, task.accelerator, task.gpus, task.precisions);
}
