/**
 * Plan and design searches and twin studies across worker threads (piscina). Plan searches split the candidate list into
 * interleaved shards and merge them with the same ordering as one search; design searches run one accelerator
 * and size per task and summarise in job order. Either way the answer equals the single-thread path's.
 * @module
 */
import { availableParallelism } from 'node:os';
import { Piscina } from 'piscina';
import type { DesignOptions, DesignPoint, DesignResult } from '../plan/design.js';
import { designJobs, summarizeDesigns } from '../plan/design.js';
import { mergeSearches, type SearchOptions, type SearchResult } from '../plan/search.js';
import type { ResolvedFacility, ResolvedSystem, ResolvedWorkload } from '../spec/resolve.js';
import type { RunSummary } from '../twin/run.js';
import { simulateRun } from '../twin/run.js';
import type { TwinConfig } from '../twin/setup.js';
import { type StudyOptions, type StudyResult, summarizeStudy } from '../twin/study.js';
import type { SearchTask } from './search-worker.js';

/** A pool of search workers. Close it when done. */
export interface SearchPool {
  readonly threads: number;
  searchPlans(workload: ResolvedWorkload, system: ResolvedSystem, options?: SearchOptions): Promise<SearchResult>;
  searchDesigns(workload: ResolvedWorkload, facility: ResolvedFacility, options?: DesignOptions): Promise<DesignResult>;
  /** Runs one task on a worker (the caller builds it; see search-worker.ts). */
  run<T>(task: SearchTask): Promise<T>;
  /** A twin study: replica 0 in full on this thread, the others in chunks on the workers. */
  runStudy(config: TwinConfig, options: StudyOptions): Promise<StudyResult>;
  close(): Promise<void>;
}

/** Creates a pool of `threads` workers (default: the cores available). */
export function createSearchPool(threads = availableParallelism()): SearchPool {
  // From TypeScript sources (tests, tsx) the worker is the .ts sibling and needs tsx's loader; from dist, .js.
  const typescript = import.meta.url.endsWith('.ts');
  const filename = new URL(`./search-worker.${typescript ? 'ts' : 'js'}`, import.meta.url).href;
  const pool = new Piscina<SearchTask, unknown>({
    filename,
    minThreads: 1,
    maxThreads: Math.max(1, threads),
    ...(typescript && { execArgv: ['--import', 'tsx'] }),
  });
  return {
    threads: Math.max(1, threads),
    async searchPlans(workload, system, options = {}) {
      const count = Math.max(1, threads);
      const shards = await Promise.all(
        Array.from({ length: count }, (_, index) =>
          pool.run({ kind: 'plans', workload, system, options: { ...options, shard: { index, count } } }),
        ),
      );
      return mergeSearches(shards as SearchResult[], options.top ?? 10);
    },
    async searchDesigns(workload, facility, options = {}) {
      const constraints = options.constraints ?? {};
      const { jobs, skipped } = designJobs(options);
      let done = 0;
      const outcomes = await Promise.all(
        jobs.map(async ({ accelerator, gpus }) => {
          const task = {
            kind: 'design' as const,
            workload,
            facility,
            constraints,
            accelerator,
            gpus,
            ...(options.precisions && { precisions: options.precisions }),
          };
          const outcome = (await pool.run(task)) as DesignPoint | DesignResult['skipped'][number];
          options.onProgress?.(++done, jobs.length);
          return outcome;
        }),
      );
      const points: DesignPoint[] = [];
      for (const outcome of outcomes) {
        if ('reason' in outcome) skipped.push(outcome);
        else points.push(outcome);
      }
      return summarizeDesigns(workload, constraints, points, skipped);
    },
    async runStudy(config, options) {
      const { replicas, seed } = options;
      if (!Number.isInteger(replicas) || replicas < 1) throw new RangeError(`replicas must be ≥ 1, got ${replicas}`);
      // Chunks small enough to balance the threads and move the progress bar, large enough to amortise a task.
      const chunk = Math.max(1, Math.min(50, Math.ceil((replicas - 1) / (threads * 8))));
      let done = 0;
      const tasks: Promise<RunSummary[]>[] = [];
      for (let from = 1; from < replicas; from += chunk) {
        const to = Math.min(replicas, from + chunk);
        const task = { kind: 'twin' as const, config, seed, from, to };
        tasks.push(
          (pool.run(task) as Promise<RunSummary[]>).then((summaries) => {
            done += summaries.length;
            options.onProgress?.(done, replicas);
            return summaries;
          }),
        );
      }
      const example = simulateRun(config, seed, 0, { detail: true });
      done += 1;
      options.onProgress?.(done, replicas);
      const rest = (await Promise.all(tasks)).flat();
      return summarizeStudy(seed, [example.summary, ...rest], example);
    },
    run: <T>(task: SearchTask) => pool.run(task) as Promise<T>,
    close: () => pool.destroy(),
  };
}
