/**
 * The runner a command's use case gets: the piscina runner on `threads` worker threads (which starts its threads
 * only when work reaches it), or the inline runner on one thread; closed when the command ends. Both are loaded
 * on first use, so commands that need no runner do not pay for them at start-up.
 * @module
 */
import type { DataSource, TaskRunner } from '../app/ports.js';

/**
 * Runs `work` with a runner of `threads` threads and closes the runner afterwards. An inline runner resolves trace
 * data through `data` when given (what the command has already read stays read); worker threads keep their own.
 */
export async function withRunner<T>(
  threads: number,
  work: (runner: TaskRunner) => Promise<T>,
  data?: DataSource,
): Promise<T> {
  const runner =
    threads > 1
      ? (await import('../node/piscina-runner.js')).createPiscinaRunner(threads)
      : (await import('../app/inline-runner.js')).createInlineRunner(
          data ?? (await import('../node/data-source.js')).createNodeDataSource(),
        );
  try {
    return await work(runner);
  } finally {
    await runner.close();
  }
}
