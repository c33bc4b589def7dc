/**
 * The queue runner against a real redis-server started here (127.0.0.1, stopped by PID): the runner contract with
 * in-process BullMQ workers; a study served by two real `tokenworks worker` processes, with the progress of every
 * replica reaching the caller; task errors with their code; two runs on one queue kept apart; and bad or
 * unreachable URLs as usage errors that name the option. Skipped, with the reason, only where redis-server cannot
 * be had.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { debianPackageUnavailable, REDIS } from '../../test/support/debian.js';
import { freePort } from '../../test/support/prometheus.js';
import { type RunningRedis, startRedis, startWorker, type WorkerProcess } from '../../test/support/redis.js';
import { twinConfigOf } from '../../test/support/twin-config.js';
import { runStudyWith } from '../app/fan-out.js';
import { createInlineRunner } from '../app/inline-runner.js';
import type { Progress } from '../app/ports.js';
import { runnerContract } from '../app/runner.contract.js';
import { runTask } from '../app/tasks.js';
import { TokenworksError } from '../errors.js';
import { CompareSchema } from '../spec/compare.js';
import { loadSpec } from '../spec/load.js';
import { resolveFacility } from '../spec/resolve.js';
import { runStudy } from '../twin/study.js';
import { createNodeDataSource } from './data-source.js';
import { createQueueRunner, parseRedisUrl } from './queue-runner.js';
import { createQueueWorker, type QueueWorker } from './queue-worker.js';

const unavailable = debianPackageUnavailable(REDIS);

function twinSpec() {
  const spec = loadSpec(
    `workload: { model: llama3-8b, training: { totalTokens: 2T, sequenceLength: 8192, globalBatch: { sequences: 512 } } }
system: { accelerator: h100-sxm, gpuCount: 512 }
plan: { tp: 2, pp: 1 }
twin: { days: 20 }`,
    'yaml',
  );
  if (!spec.ok) throw new Error(JSON.stringify(spec.issues));
  return spec.value;
}

function twin() {
  const config = twinConfigOf(twinSpec());
  if (!config.ok) throw new Error(JSON.stringify(config.issues));
  return config.value;
}

/** A progress port that adds up what it is told. */
function counting() {
  const seen = { started: 0, ticks: 0, done: 0 };
  const progress: Progress = {
    start: (_stage, total) => {
      seen.started = total;
    },
    tick: (amount = 1) => {
      seen.ticks += amount;
    },
    done: () => {
      seen.done += 1;
    },
  };
  return { seen, progress };
}

describe.skipIf(unavailable !== undefined)(`queue runner${unavailable ? ` (skipped: ${unavailable})` : ''}`, () => {
  let redis: RunningRedis;
  const workers: QueueWorker[] = [];
  const data = createNodeDataSource();
  beforeAll(async () => {
    redis = await startRedis();
    // Two in-process workers on the contract's queue, each running tasks inline on this thread.
    for (let i = 0; i < 2; i++) {
      workers.push(createQueueWorker({ url: redis.url, queue: 'contract', runner: createInlineRunner(data) }));
    }
    await Promise.all(workers.map((worker) => worker.ready()));
  }, 60_000);
  afterAll(async () => {
    await Promise.all(workers.map((worker) => worker.close()));
    await redis?.stop();
  });

  runnerContract('queue runner', () => createQueueRunner({ url: redis.url, queue: 'contract', concurrency: 2 }), data);

  it("a failing task rejects with the task's own TokenworksError: code, message and file", async () => {
    const runner = createQueueRunner({ url: redis.url, queue: 'contract' });
    const task = {
      kind: 'compare',
      workload: twinSpec().workload,
      acceleratorId: 'h100-sxm',
      facility: resolveFacility({ cooling: 'direct-liquid' }),
      twin: undefined,
      scenario: CompareSchema.parse({}),
      data: { pods: '/nonexistent/openb_pod_list.csv' },
      gpus: 64,
    } as const;
    const inline = await runTask(task, data).then(
      () => undefined,
      (error: unknown) => error,
    );
    expect(inline).toBeInstanceOf(TokenworksError);
    const queued = await runner.run(task).then(
      () => undefined,
      (error: unknown) => error,
    );
    await runner.close();
    expect(queued).toBeInstanceOf(TokenworksError);
    const { code, message, file } = inline as TokenworksError;
    expect(queued).toMatchObject({ code, message, file });
  });

  it('two runs on one queue and one set of workers get their own answers', async () => {
    const config = twin();
    const [a, b] = [
      createQueueRunner({ url: redis.url, queue: 'contract' }),
      createQueueRunner({ url: redis.url, queue: 'contract' }),
    ];
    const [first, second] = await Promise.all([
      runStudyWith(a, config, { replicas: 30, seed: 11 }),
      runStudyWith(b, config, { replicas: 30, seed: 12 }),
    ]);
    await Promise.all([a.close(), b.close()]);
    expect(first).toEqual(runStudy(config, { replicas: 30, seed: 11 }));
    expect(second).toEqual(runStudy(config, { replicas: 30, seed: 12 }));
  });

  it('a URL names the queue in ?queue= (a given queue wins) and its password never shows in messages', () => {
    expect(parseRedisUrl('redis://:secret@127.0.0.1:6379/2?queue=sweeps', '--runner')).toEqual({
      url: 'redis://:secret@127.0.0.1:6379/2',
      shown: 'redis://:***@127.0.0.1:6379/2',
      queue: 'sweeps',
    });
    expect(parseRedisUrl('redis://127.0.0.1:6379?queue=sweeps', '--redis', 'other').queue).toBe('other');
    expect(parseRedisUrl('redis://127.0.0.1:6379', '--redis').queue).toBe('tokenworks');
    expect(() => parseRedisUrl('redis://127.0.0.1:6379?queue=a%20b', '--runner')).toThrow(
      '--runner redis://127.0.0.1:6379?queue=a%20b: the queue name must be 1 to 100 letters, digits, "_", "." or "-", got "a b"',
    );
  });

  it('a URL that is not redis:// and a Redis nobody listens on are usage errors naming the option', async () => {
    expect(() => createQueueRunner({ url: 'http://127.0.0.1:6379' })).toThrow(
      expect.objectContaining({
        code: 'USAGE',
        message: expect.stringMatching(/^--runner must be a Redis URL.*"http:/),
      }),
    );
    const port = await freePort();
    const runner = createQueueRunner({ url: `redis://127.0.0.1:${port}`, connectTimeoutMs: 2_000 });
    await expect(runner.ready()).rejects.toThrow(
      expect.objectContaining({
        code: 'USAGE',
        message: expect.stringContaining(`--runner redis://127.0.0.1:${port}`),
      }),
    );
    await expect(runner.run({ kind: 'twin', config: twin(), seed: 1, from: 0, to: 1 })).rejects.toThrow(/ECONNREFUSED/);
    await runner.close();
  });

  describe('served by two `tokenworks worker` processes', () => {
    const processes: WorkerProcess[] = [];
    beforeAll(async () => {
      processes.push(
        ...(await Promise.all(
          [0, 1].map(() => startWorker(redis.url, ['--queue', 'processes', '--concurrency', '1'])),
        )),
      );
    }, 120_000);
    afterAll(async () => {
      for (const worker of processes) await worker.stop();
    });

    it("a study is the inline runner's, replica for replica, and every replica's progress reaches the caller", async () => {
      const config = twin();
      const runner = createQueueRunner({ url: redis.url, queue: 'processes', concurrency: 2 });
      const { seen, progress } = counting();
      const study = await runStudyWith(runner, config, { replicas: 60, seed: 5 }, { progress });
      await runner.close();
      expect(study).toEqual(runStudy(config, { replicas: 60, seed: 5 }));
      expect(seen).toEqual({ started: 60, ticks: 60, done: 1 });
    }, 120_000);

    it('SIGTERM stops a worker gracefully: exit 0, and the two served every task of the study', async () => {
      const [first, second] = processes.splice(0, 2);
      if (!first || !second) throw new Error('no workers');
      const codes = [await first.stop(), await second.stop()];
      expect(codes).toEqual([0, 0]);
      const served = [first, second].map((worker) => Number(/served (\d+) tasks/.exec(worker.log())?.[1]));
      // 59 replicas after replica 0 (on the caller) in chunks of ceil(59 / 16) = 4: 15 tasks.
      expect(served).toHaveLength(2);
      expect((served[0] ?? 0) + (served[1] ?? 0)).toBe(15);
    }, 60_000);
  });
});
