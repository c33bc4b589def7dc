/**
 * Commands on `tokenworks worker` processes (issue 16): `--runner redis://…` prints what the command prints on the
 * calling machine. A worker killed with -9 mid-task: two worker processes serve a 200-replica study;
 * one is killed by its PID while it holds a job; BullMQ's stalled-job check (2 s locks here) gives that job to the
 * other worker, and the study is the inline runner's exactly, with every replica id once.
 */
import { Queue, QueueEvents } from 'bullmq';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runStudyWith } from '../src/app/fan-out.js';
import type { TaskRunner } from '../src/app/ports.js';
import { createQueueRunner } from '../src/node/queue-runner.js';
import { loadSpec } from '../src/spec/load.js';
import type { RunSummary } from '../src/twin/run.js';
import { runStudy } from '../src/twin/study.js';
import { run } from './run-cli.js';
import { debianPackageUnavailable, REDIS } from './support/debian.js';
import { type RunningRedis, startRedis, startWorker, type WorkerProcess } from './support/redis.js';
import { twinConfigOf } from './support/twin-config.js';

const unavailable = debianPackageUnavailable(REDIS);
const QUEUE = 'kill';

function twin() {
  const spec = loadSpec(
    `workload: { model: llama3-8b, training: { totalTokens: 2T, sequenceLength: 8192, globalBatch: { sequences: 512 } } }
system: { accelerator: h100-sxm, gpuCount: 512 }
plan: { tp: 2, pp: 1 }
twin: { days: 20 }`,
    'yaml',
  );
  if (!spec.ok) throw new Error(JSON.stringify(spec.issues));
  const config = twinConfigOf(spec.value);
  if (!config.ok) throw new Error(JSON.stringify(config.issues));
  return config.value;
}

describe.skipIf(unavailable !== undefined)(
  `kill -9 a queue worker${unavailable ? ` (skipped: ${unavailable})` : ''}`,
  () => {
    let redis: RunningRedis;
    const workers: WorkerProcess[] = [];
    beforeAll(async () => {
      redis = await startRedis();
      const args = ['--queue', QUEUE, '--concurrency', '1', '--lock-duration', '2000'];
      workers.push(...(await Promise.all([0, 1].map(() => startWorker(redis.url, args)))));
    }, 120_000);
    afterAll(async () => {
      for (const worker of workers) await worker.stop();
      await redis?.stop();
    });

    it('simulate, plan and compare with --runner redis://… print what they print on this machine', async () => {
      const runner = `${redis.url}?queue=${QUEUE}`;
      for (const argv of [
        ['simulate', 'examples/gpt3-weekly-h100.yaml', '--replicas', '50', '--json'],
        ['plan', 'examples/llama3-8b.yaml', '--simulate', '20', '--json'],
        ['compare', 'examples/breakpoint.yaml', '--sweep', '64', '--replicas', '3', '--json'],
      ]) {
        const local = await run(...argv, '--threads', '1');
        const queued = await run(...argv, '--runner', runner);
        expect(queued.stderr).toContain(
          `tasks go to queue "${QUEUE}" at ${redis.url}: serve it with \`tokenworks worker --redis ${redis.url} --queue ${QUEUE}\``,
        );
        expect(queued.code).toBe(0);
        expect(queued.stdout).toBe(local.stdout);
      }
      const unreachable = await run('simulate', 'examples/gpt3-weekly-h100.yaml', '--runner', 'redis://127.0.0.1:1');
      expect(unreachable.code).toBe(2);
      expect(unreachable.stderr).toContain('--runner redis://127.0.0.1:1: cannot reach Redis (connect ECONNREFUSED');
    }, 120_000);

    it("the killed worker's job goes to the other: the inline runner's study, every replica once", async () => {
      const config = twin();
      const [victim, survivor] = workers;
      if (!victim || !survivor) throw new Error('no workers');
      const connection = { url: redis.url };
      const queue = new Queue(QUEUE, { connection });
      const events = new QueueEvents(QUEUE, { connection });
      await events.waitUntilReady();
      const stalled = new Set<string>();
      const completed = new Set<string>();
      events.on('stalled', ({ jobId }) => stalled.add(jobId));
      events.on('completed', ({ jobId }) => completed.add(jobId));

      const queued = createQueueRunner({ url: redis.url, queue: QUEUE, concurrency: 1 });
      // The replica ids of every summary that came back from the queue.
      const ids: number[] = [];
      const runner: TaskRunner = {
        concurrency: queued.concurrency,
        run: async (task, options) => {
          const result = await queued.run(task, options);
          if (task.kind === 'twin') ids.push(...(result as RunSummary[]).map((summary) => summary.replica));
          return result;
        },
        close: () => queued.close(),
      };
      // 199 replicas after replica 0 in chunks of ceil(199 / 8) = 25: eight jobs of about a quarter second each.
      const study = runStudyWith(runner, config, { replicas: 200, seed: 9 });
      // Wait until the victim holds a job, then kill it by PID.
      let held: string | undefined;
      const deadline = Date.now() + 60_000;
      while (held === undefined && Date.now() < deadline) {
        const active = await queue.getActive();
        held = active.find((job) => job.processedBy === victim.name)?.id;
        if (held === undefined) await new Promise((resolve) => setTimeout(resolve, 10));
      }
      expect(held, `the victim never took a job:\n${victim.log()}`).toBeDefined();
      await victim.kill();
      const result = await study;
      await runner.close();
      await events.close();
      await queue.close();

      expect(stalled.has(held as string)).toBe(true);
      expect(completed.has(held as string)).toBe(true);
      expect(result.replicas).toBe(200);
      const expected = runStudy(config, { replicas: 200, seed: 9 });
      expect(result).toEqual(expected);
      // Nothing lost, nothing twice: replicas 1 to 199 came back from the queue once each (0 ran on the caller).
      expect(ids.sort((a, b) => a - b)).toEqual(Array.from({ length: 199 }, (_, i) => i + 1));
      expect(result.ettrValues).toEqual(expected.ettrValues);
    }, 120_000);
  },
);
