/**
 * The inline runner: runs tasks on the calling thread, one at a time (the Kysely `DummyDriver` role). It serves
 * tests, the browser and small jobs where starting workers costs more than it saves, and it is the reference
 * every other runner's answers are checked against (runner.contract.ts).
 * @module
 */
import { abortError, type DataSource, type RunOptions, type TaskRunner } from './ports.js';
import { runTask, type Task, type TaskResult } from './tasks.js';

/** Longest stretch of tasks run without yielding to the event loop, milliseconds. */
const YIELD_MS = 20;

/** Creates a runner that executes each task on the calling thread, yielding between tasks now and then. */
export function createInlineRunner(data?: DataSource): TaskRunner {
  let queue: Promise<unknown> = Promise.resolve();
  let lastYield = Date.now();
  // Yield to the event loop (timers, I/O, an abort from a timer or a closed request) at most every
  // YIELD_MS: a timer per task would cost a millisecond each over thousands of small design tasks.
  const yieldNow = async () => {
    if (Date.now() - lastYield < YIELD_MS) return;
    await new Promise((resolve) => setTimeout(resolve, 0));
    lastYield = Date.now();
  };
  return {
    concurrency: 1,
    run<T extends Task>(task: T, options: RunOptions = {}): Promise<TaskResult<T>> {
      // One task at a time, in submission order, so that a cancellation can drop tasks not yet started.
      const result = queue.then(async () => {
        await yieldNow();
        if (options.signal?.aborted) throw abortError(options.signal);
        return runTask(task, data);
      });
      queue = result.catch(() => undefined);
      return result;
    },
    async close() {
      await queue;
    },
  };
}
