/**
 * The runner a command's use case gets: the piscina runner on `threads` worker threads (which starts its threads
 * only when work reaches it), or the inline runner on one thread; closed when the command ends. Both are loaded
 * on first use, so commands that need no runner do not pay for them at start-up. With the scale-out flags
 * (scale-out.ts): the queue runner for `--runner redis://…`, one shard for `--shard i/n`, and, while `merge`
 * reruns a command, the runner that answers from the shard files.
 * @module
 */
import type { DataSource, TaskRunner } from '../app/ports.js';
import { openQueueRunner, replayScope, runShard, type ScaleOut } from './scale-out.js';

/**
 * Runs `work` with a runner of `threads` threads and closes the runner afterwards. An inline runner resolves trace
 * data through `data` when given (what the command has already read stays read); worker threads keep their own.
 * `scale` carries the command's `--runner` and `--shard` (from `scaleOutOf`).
 */
export async function withRunner<T>(
  threads: number,
  work: (runner: TaskRunner) => Promise<T>,
  data?: DataSource,
  scale?: ScaleOut,
): Promise<T> {
  const replay = replayScope.getStore();
  if (replay) return work(replay);
  const runner =
    scale?.runner !== undefined
      ? await openQueueRunner(scale.runner, scale.output)
      : threads > 1
        ? (await import('../node/piscina-runner.js')).createPiscinaRunner(threads)
        : (await import('../app/inline-runner.js')).createInlineRunner(
            data ?? (await import('../node/data-source.js')).createNodeDataSource(),
          );
  try {
    return scale?.shard ? await runShard(runner, work, { ...scale, shard: scale.shard }) : await work(runner);
  } finally {
    await runner.close();
  }
}
