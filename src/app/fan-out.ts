/**
 * Every map/reduce of Tokenworks over a {@link TaskRunner}, and nowhere else: plan searches split into
 * interleaved shards and merged in the single search's order; design searches one task per accelerator and size,
 * summarised in job order; twin studies with replica 0 in full on the calling thread and the others in chunks;
 * comparisons one task per job size that prepares it, then its twin replicas in chunks, then the point finished
 * here. Each gives the same answer whatever the runner and its concurrency.
 * @module
 */
import { type ComparePoint, finishComparePoint, studyOf } from '../breakpoint/compare.js';
import {
  type DesignOptions,
  type DesignPoint,
  type DesignResult,
  designJobs,
  summarizeDesigns,
} from '../plan/design.js';
import { enumeratePlans, mergeSearches, type SearchOptions, type SearchResult } from '../plan/search.js';
import type { ResolvedFacility, ResolvedSystem, ResolvedWorkload } from '../spec/resolve.js';
import { type RunResult, type RunSummary, simulateRun } from '../twin/run.js';
import type { TwinConfig } from '../twin/setup.js';
import { type StudyResult, summarizeStudy } from '../twin/study.js';
import { type Progress, SILENT, type TaskRunner, throwIfAborted, type UseCaseOptions } from './ports.js';
import { type CompareTask, runTask, type SkippedSize, type TwinTask } from './tasks.js';

/** Plan searches with fewer candidates than this run as one task: splitting costs more than it saves. */
export const SHARD_CANDIDATES = 3000;

/** A plan search over `runner`: one shard per unit of concurrency when the search is large enough. */
export async function searchPlansWith(
  runner: TaskRunner,
  workload: ResolvedWorkload,
  system: ResolvedSystem,
  options: Omit<SearchOptions, 'shard'> = {},
  { signal }: UseCaseOptions = {},
): Promise<SearchResult> {
  throwIfAborted(signal);
  const candidates = enumeratePlans(workload, system, options.maxMicroBatch).length * (options.precisions?.length ?? 1);
  const count = candidates > SHARD_CANDIDATES ? Math.max(1, runner.concurrency) : 1;
  if (count === 1) return runTask({ kind: 'plans', workload, system, options }, undefined);
  const shards = await Promise.all(
    Array.from({ length: count }, (_, index) =>
      runner.run({ kind: 'plans', workload, system, options: { ...options, shard: { index, count } } }, { signal }),
    ),
  );
  return mergeSearches(shards, options.top ?? 10);
}

/** A design search over `runner`: every accelerator at every size, then the Pareto front and recommendation. */
export async function searchDesignsWith(
  runner: TaskRunner,
  workload: ResolvedWorkload,
  facility: ResolvedFacility,
  options: Omit<DesignOptions, 'onProgress'> = {},
  { signal, progress = SILENT }: UseCaseOptions & { readonly progress?: Progress } = {},
): Promise<DesignResult> {
  throwIfAborted(signal);
  const constraints = options.constraints ?? {};
  const { jobs, skipped } = designJobs(options);
  progress.start('designs', jobs.length);
  const outcomes = await Promise.all(
    jobs.map(async ({ accelerator, gpus }) => {
      const outcome = await runner.run(
        {
          kind: 'design',
          workload,
          facility,
          constraints,
          accelerator,
          gpus,
          ...(options.precisions && { precisions: options.precisions }),
        },
        { signal },
      );
      progress.tick();
      return outcome;
    }),
  );
  progress.done();
  const points: DesignPoint[] = [];
  for (const outcome of outcomes) {
    if ('reason' in outcome) skipped.push(outcome);
    else points.push(outcome);
  }
  return summarizeDesigns(workload, constraints, points, skipped);
}

/** Studies with fewer replicas than this run on the calling thread, whatever the runner. */
export const STUDY_RUNNER_REPLICAS = 8;

/** Options of {@link runStudyWith}. */
export interface StudyFanOut {
  readonly replicas: number;
  readonly seed: number;
}

/**
 * A twin study over `runner`: replica 0 in full (its timeline and events) on the calling thread, the others in
 * chunks small enough to balance the runner and move the progress, large enough to amortise a task.
 */
export async function runStudyWith(
  runner: TaskRunner,
  config: TwinConfig,
  { replicas, seed }: StudyFanOut,
  { signal, progress = SILENT }: UseCaseOptions & { readonly progress?: Progress } = {},
): Promise<StudyResult> {
  if (!Number.isInteger(replicas) || replicas < 1) throw new RangeError(`replicas must be ≥ 1, got ${replicas}`);
  throwIfAborted(signal);
  progress.start('replicas', replicas);
  const chunk = Math.max(1, Math.min(50, Math.ceil((replicas - 1) / (Math.max(1, runner.concurrency) * 8))));
  // Small studies stay on the calling thread: starting workers would cost more than the replicas.
  const run = (task: TwinTask) =>
    replicas < STUDY_RUNNER_REPLICAS ? runTask(task, undefined) : runner.run(task, { signal });
  const tasks = [];
  for (let from = 1; from < replicas; from += chunk) {
    const to = Math.min(replicas, from + chunk);
    tasks.push(
      run({ kind: 'twin', config, seed, from, to }).then((summaries) => {
        progress.tick(summaries.length);
        return summaries;
      }),
    );
  }
  // Replica 0 runs here while the runner works on the others (on an inline runner, after them).
  const example = simulateRun(config, seed, 0, { detail: true });
  progress.tick();
  const rest = (await Promise.all(tasks)).flat();
  progress.done();
  return summarizeStudy(seed, [example.summary, ...rest], example);
}

/**
 * Both sides of a comparison at each of `sizes`, in size order: a point, or why the size was skipped. Each size is
 * one task that prepares it (plans, the shared cluster, replica 0 of both twins); its other replicas then spread
 * over the runner in chunks, and the point is finished here from the two studies: the answer of `comparePoint`.
 * The largest sizes, whose gangs wait longest in the shared cluster, are handed out first.
 */
export async function compareSizesWith(
  runner: TaskRunner,
  base: Omit<CompareTask, 'kind' | 'gpus'>,
  sizes: readonly number[],
  { signal, progress = SILENT }: UseCaseOptions & { readonly progress?: Progress } = {},
): Promise<(ComparePoint | SkippedSize)[]> {
  throwIfAborted(signal);
  progress.start('sizes', sizes.length);
  // Two chunks per unit of concurrency and side: enough to balance the runner at the end of the sweep.
  const { replicas } = base.scenario;
  const chunk = Math.max(1, Math.min(50, Math.ceil((replicas - 1) / (2 * Math.max(1, runner.concurrency)))));
  const study = async (config: TwinConfig, seed: number, first: RunResult) => {
    const tasks: Promise<RunSummary[]>[] = [];
    for (let from = 1; from < replicas; from += chunk) {
      const to = Math.min(replicas, from + chunk);
      tasks.push(runner.run({ kind: 'twin', config, seed, from, to }, { signal }));
    }
    return studyOf(seed, first, (await Promise.all(tasks)).flat());
  };
  const compare = async (gpus: number): Promise<ComparePoint | SkippedSize> => {
    const outcome = await runner.run({ ...base, kind: 'compare-prepare', gpus }, { signal });
    if ('reason' in outcome) return outcome;
    const { prepared, first } = outcome;
    const [dedicated, shared] = await Promise.all([
      study(prepared.dedicatedTwin, prepared.seed, first.dedicated),
      study(prepared.sharedTwin, prepared.seed, first.shared),
    ]);
    return finishComparePoint(prepared, dedicated, shared);
  };
  const outcomes: (ComparePoint | SkippedSize)[] = new Array(sizes.length);
  const largestFirst = sizes
    .map((gpus, index) => ({ gpus, index }))
    .sort((a, b) => b.gpus - a.gpus || a.index - b.index);
  await Promise.all(
    largestFirst.map(async ({ gpus, index }) => {
      outcomes[index] = await compare(gpus);
      progress.tick();
    }),
  );
  progress.done();
  return outcomes;
}
