/**
 * The runner a command's use case gets: the piscina runner on `threads` worker threads (which starts its threads
 * only when work reaches it), or the inline runner on one thread; closed when the command ends.
 * @module
 */
import { createInlineRunner } from '../app/inline-runner.js';
import type { TaskRunner } from '../app/ports.js';
import { createNodeDataSource } from '../node/data-source.js';
import { createPiscinaRunner } from '../node/piscina-runner.js';

/** Runs `work` with a runner of `threads` threads and closes the runner afterwards. */
export async function withRunner<T>(threads: number, work: (runner: TaskRunner) => Promise<T>): Promise<T> {
  const runner = threads > 1 ? createPiscinaRunner(threads) : createInlineRunner(createNodeDataSource());
  try {
    return await work(runner);
  } finally {
    await runner.close();
  }
}
