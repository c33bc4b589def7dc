/**
 * `tokenworks worker --redis URL [--concurrency N] [--queue NAME] [--lock-duration MS]`: serves the tasks that
 * commands run with `--runner redis://…` put on a BullMQ queue, on N worker threads, until SIGTERM or SIGINT; then
 * it stops taking jobs, finishes the running ones and exits 0. Start as many as there are machines and cores.
 * @module
 */
import { availableParallelism, hostname } from 'node:os';
import type { Command } from '@commander-js/extra-typings';
import { createOutput, type OutputStreams } from '../../node/output.js';
import { integerOption, MAX_THREADS } from '../options.js';

/** Shortest and longest `--lock-duration`, milliseconds. */
const LOCK_DURATION = { min: 500, max: 3_600_000 } as const;

/** Adds the `worker` command to `program`. */
export function registerWorker(program: Command, streams: OutputStreams): void {
  program
    .command('worker')
    .description('serve the tasks of `--runner redis://…` commands from a BullMQ queue until SIGTERM or Ctrl-C')
    .requiredOption('--redis <url>', 'the Redis of the queue: redis://host:port[/db][?queue=NAME]')
    .option('--concurrency <n>', 'tasks at once, each on its own worker thread (default: the cores available)')
    .option('--queue <name>', 'the queue to serve (default: the URL’s ?queue=, else "tokenworks")')
    .option(
      '--lock-duration <ms>',
      'how long a task’s lock lasts unrenewed: after it, a task of a dead worker goes to another',
      '30000',
    )
    .action(async (options, command) => {
      const globals = command.optsWithGlobals() as { quiet?: boolean };
      const output = createOutput(streams, { json: false, quiet: globals.quiet ?? false });
      const cores = availableParallelism();
      const concurrency =
        options.concurrency === undefined ? cores : integerOption('--concurrency', options.concurrency, 1, MAX_THREADS);
      if (concurrency > cores) {
        output.warn(`--concurrency ${concurrency} is more than the ${cores} cores available: tasks will share cores`);
      }
      const lockDurationMs = integerOption(
        '--lock-duration',
        options.lockDuration,
        LOCK_DURATION.min,
        LOCK_DURATION.max,
      );
      const [{ checkQueueName, parseRedisUrl, probeRedis }, { createQueueWorker }, { createPiscinaRunner }] =
        await Promise.all([
          import('../../node/queue-runner.js'),
          import('../../node/queue-worker.js'),
          import('../../node/piscina-runner.js'),
        ]);
      if (options.queue !== undefined) checkQueueName(options.queue, `--queue ${options.queue}`);
      const target = parseRedisUrl(options.redis, '--redis', options.queue);
      await probeRedis(target, '--redis');
      // Worker threads keep this thread free to renew the locks of long tasks.
      const runner = createPiscinaRunner(concurrency);
      const worker = createQueueWorker({
        url: target.url,
        queue: target.queue,
        runner,
        lockDurationMs,
        // Stored on each job it takes (job.processedBy): which worker had a job is what a dashboard shows.
        name: `${hostname()}-${process.pid}`,
        option: '--redis',
        onError: (error) => output.warn(`redis: ${error.message}`),
      });
      let stop: (signal: string) => void = () => undefined;
      const stopped = new Promise<string>((resolve) => {
        stop = resolve;
      });
      const onSignal = (signal: NodeJS.Signals) => stop(signal);
      process.once('SIGTERM', onSignal);
      process.once('SIGINT', onSignal);
      try {
        await worker.ready();
        output.info(
          `serving queue "${worker.queue}" at ${target.shown} on ${concurrency} thread${concurrency === 1 ? '' : 's'} (pid ${process.pid}); SIGTERM or Ctrl-C stops`,
        );
        const signal = await stopped;
        output.info(`${signal}: finishing the running tasks`);
      } finally {
        process.removeListener('SIGTERM', onSignal);
        process.removeListener('SIGINT', onSignal);
        await worker.close();
        await runner.close();
      }
      output.info(`served ${worker.served().toLocaleString('en-US')} tasks`);
    });
}
