/**
 * A {@link TaskRunner} on worker threads (piscina): tasks go to `worker.ts`, cancellation through piscina's
 * abort signal. The pool starts on the first task, so a command whose work stays on the calling thread never
 * pays for threads.
 * @module
 */
import { availableParallelism } from 'node:os';
import { Piscina } from 'piscina';
import type { RunOptions, TaskRunner } from '../app/ports.js';
import type { Task, TaskResult } from '../app/tasks.js';

/** Creates a runner of `threads` worker threads (default: the cores available). */
export function createPiscinaRunner(threads = availableParallelism()): TaskRunner {
  const concurrency = Math.max(1, Math.floor(threads));
  let pool: Piscina<Task, unknown> | undefined;
  const start = () => {
    // From TypeScript sources (tests, tsx) the worker is the .ts sibling and needs tsx's loader; from dist, .js.
    const typescript = import.meta.url.endsWith('.ts');
    const filename = new URL(`./worker.${typescript ? 'ts' : 'js'}`, import.meta.url).href;
    pool = new Piscina<Task, unknown>({
      filename,
      minThreads: 1,
      maxThreads: concurrency,
      ...(typescript && { execArgv: ['--import', 'tsx'] }),
    });
    return pool;
  };
  return {
    concurrency,
    run<T extends Task>(task: T, options: RunOptions = {}): Promise<TaskResult<T>> {
      const active = pool ?? start();
      return active.run(task, options.signal ? { signal: options.signal } : {}) as Promise<TaskResult<T>>;
    },
    async close() {
      await pool?.destroy();
      pool = undefined;
    },
  };
}
