/**
 * The inline runner: runs tasks on the calling thread, one at a time (the Kysely `DummyDriver` role). It serves
 * tests, the browser and small jobs where starting workers costs more than it saves, and it is the reference
 * every other runner's answers are checked against (runner.contract.ts).
 * @module
 */
import { abortError, type DataSource, type RunOptions, type TaskRunner } from './ports.js';
import { runTask, type Task, type TaskResult } from './tasks.js';

/** Creates a runner that executes each task on the calling thread, yielding between tasks. */
export function createInlineRunner(data?: DataSource): TaskRunner {
  let queue: Promise<unknown> = Promise.resolve();
  return {
    concurrency: 1,
    run<T extends Task>(task: T, options: RunOptions = {}): Promise<TaskResult<T>> {
      // One task at a time, in submission order, so that a cancellation can drop tasks not yet started.
      const result = queue.then(async () => {
        // Yield to the event loop first: an abort signalled after submission is seen before the task starts.
        await new Promise((resolve) => setTimeout(resolve, 0));
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
