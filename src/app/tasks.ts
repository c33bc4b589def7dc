/**
 * The serialisable tasks the fan-out spreads over a {@link TaskRunner}, and `runTask`, the one function every
 * runner calls to execute one (on the calling thread, on a worker, on a queue worker). Each task is a pure
 * function call on plain data, so every runner gives the same answer. Trace data travels by reference
 * ({@link CompareDataRef}) and is resolved through the runner's {@link DataSource}.
 * @module
 */
import {
  type ComparePoint,
  comparePoint,
  firstReplica,
  type PreparedPoint,
  prepareComparePoint,
} from '../breakpoint/compare.js';
import type { MatmulPrecision } from '../perf/compute-rates.js';
import { type DesignPoint, type DesignResult, evaluateDesign } from '../plan/design.js';
import { type SearchOptions, type SearchResult, searchPlans } from '../plan/search.js';
import type { CompareInput } from '../spec/compare.js';
import type { Constraints } from '../spec/constraints.js';
import type { ResolvedFacility, ResolvedSystem, ResolvedWorkload } from '../spec/resolve.js';
import type { TwinInput } from '../spec/twin.js';
import type { RunResult, RunSummary } from '../twin/run.js';
import type { TwinConfig } from '../twin/setup.js';
import { runReplicas } from '../twin/study.js';
import type { CompareDataRef, DataSource } from './data.js';

/** One shard of a plan search. */
export interface PlanShardTask {
  readonly kind: 'plans';
  readonly workload: ResolvedWorkload;
  readonly system: ResolvedSystem;
  readonly options: Omit<SearchOptions, 'onProgress'>;
}

/** One accelerator at one size of a design search. */
export interface DesignTask {
  readonly kind: 'design';
  readonly workload: ResolvedWorkload;
  readonly facility: ResolvedFacility;
  readonly constraints: Constraints;
  readonly accelerator: string;
  readonly gpus: number;
  readonly precisions?: readonly MatmulPrecision[];
}

/** Replicas [from, to) of a twin study. */
export interface TwinTask {
  readonly kind: 'twin';
  readonly config: TwinConfig;
  readonly seed: number;
  readonly from: number;
  readonly to: number;
}

/** One job size of a comparison; its trace data by reference. */
export interface CompareTask {
  readonly kind: 'compare';
  readonly workload: ResolvedWorkload;
  readonly acceleratorId: string;
  readonly facility: ResolvedFacility;
  readonly twin: TwinInput | undefined;
  readonly scenario: CompareInput;
  readonly data: CompareDataRef;
  readonly gpus: number;
}

/**
 * One job size of a comparison made ready for its twin studies, with replica 0 of each side run: the fan-out
 * spreads the other replicas as {@link TwinTask}s and finishes the point (src/app/fan-out.ts).
 */
export interface ComparePrepareTask extends Omit<CompareTask, 'kind'> {
  readonly kind: 'compare-prepare';
}

/** A prepared compare size and replica 0 of each side's study (without event logs). */
export interface PreparedSize {
  readonly prepared: PreparedPoint;
  readonly first: { readonly dedicated: RunResult; readonly shared: RunResult };
}

/** Every task a runner may be given. */
export type Task = PlanShardTask | DesignTask | TwinTask | CompareTask | ComparePrepareTask;

/** A compare size that could not be compared, and why. */
export interface SkippedSize {
  readonly gpus: number;
  readonly reason: string;
}

/** What each kind of task returns. */
export type TaskResult<T extends Task> = T extends PlanShardTask
  ? SearchResult
  : T extends DesignTask
    ? DesignPoint | DesignResult['skipped'][number]
    : T extends TwinTask
      ? RunSummary[]
      : T extends CompareTask
        ? ComparePoint | SkippedSize
        : T extends ComparePrepareTask
          ? PreparedSize | SkippedSize
          : never;

/** Runs one task with `data` resolving its trace references. */
export async function runTask<T extends Task>(task: T, data: DataSource | undefined): Promise<TaskResult<T>> {
  return (await execute(task, data)) as TaskResult<T>;
}

async function execute(task: Task, data: DataSource | undefined): Promise<unknown> {
  switch (task.kind) {
    case 'plans':
      return searchPlans(task.workload, task.system, task.options);
    case 'design':
      return evaluateDesign(
        task.workload,
        task.facility,
        task.constraints,
        task.accelerator,
        task.gpus,
        task.precisions,
      );
    case 'twin':
      return runReplicas(task.config, task.seed, task.from, task.to);
    case 'compare':
      return comparePoint(...(await pointArguments(task, data)));
    case 'compare-prepare': {
      const prepared = prepareComparePoint(...(await pointArguments(task, data)));
      if ('reason' in prepared) return prepared;
      const { dedicatedTwin, sharedTwin, seed } = prepared;
      const first = { dedicated: firstReplica(dedicatedTwin, seed), shared: firstReplica(sharedTwin, seed) };
      return { prepared, first } satisfies PreparedSize;
    }
  }
}

/** The arguments of one compare size, its traces resolved through `data`. */
async function pointArguments(task: CompareTask | ComparePrepareTask, data: DataSource | undefined) {
  if (!data) throw new Error('internal: a compare task needs a data source');
  const traces = await data.compareData(task.data);
  return [task.workload, task.acceleratorId, task.facility, task.twin, task.scenario, traces, task.gpus] as const;
}
