/**
 * Engine-neutral shards (ecosystem.md §2 (a), "keep a shard contract"): `--shard i/n` runs a command with a
 * {@link ShardRunner} that owns a deterministic share of its last wave of tasks (twin replica chunks, plan-search
 * shards, design jobs), runs those and every task earlier waves depend on, and records each result under the
 * hash of its task. `tokenworks merge` then runs the same command once more with a {@link createReplayRunner}
 * that answers every task from the shard files: the merged result is the unsharded command's by construction,
 * since the same code computes it from the same task results. Shards need no broker: a Kubernetes Indexed Job,
 * a Slurm array or a shell loop runs them.
 * @module
 */
import { createHash } from 'node:crypto';
import { z } from 'zod';
import { abortError, type RunOptions, type TaskRunner } from '../app/ports.js';
import type { Task, TaskResult } from '../app/tasks.js';
import { TokenworksError } from '../errors.js';
import { fromWire, toWire, wireText } from './wire.js';

/** Most shards of one run. */
export const MAX_SHARDS = 10_000;

/** Shard `index` (0-based) of `count`. */
export interface Shard {
  readonly index: number;
  readonly count: number;
}

/** A kind of task. */
export type TaskKind = Task['kind'];

/** Every kind of task, for schemas. */
const TASK_KINDS = ['plans', 'design', 'twin', 'compare', 'compare-prepare'] as const satisfies readonly TaskKind[];

/**
 * The concurrency shard runs (and their merge) report to the fan-out, four units per shard: a function of the
 * shard count alone, so that every shard and the merge split the work into the same tasks.
 */
export function shardConcurrency(count: number): number {
  return 4 * count;
}

/** The key a task's result is filed under: the SHA-256 of its wire JSON. */
export function taskKey(task: Task): string {
  return createHash('sha256').update(wireText(task)).digest('hex');
}

/**
 * The family a task belongs to: the task without the fields that tell its members apart (a study's replica
 * range, a plan search's shard, a design search's accelerator and size). The fan-out submits each family's
 * members in one loop, so their order within the family is the same in every run.
 */
function familyOf(task: Task): string {
  switch (task.kind) {
    case 'twin': {
      const { from: _from, to: _to, ...family } = task;
      return wireText(family);
    }
    case 'plans': {
      const { shard: _shard, ...options } = task.options;
      return wireText({ ...task, options });
    }
    case 'design': {
      const { accelerator: _accelerator, gpus: _gpus, ...family } = task;
      return wireText(family);
    }
    default: {
      const { gpus: _gpus, ...family } = task;
      return wireText(family);
    }
  }
}

/** Why a shard did not run a task: another shard owns it. */
export class DeferredTask extends Error {
  constructor() {
    super('internal: this task belongs to another shard');
    this.name = 'DeferredTask';
  }
}

/** A runner for one shard of a command (see the module comment). */
export interface ShardRunner extends TaskRunner {
  /**
   * Resolves when nothing is running any more (the command gave up at the first task of another shard while its
   * own went on); rejects with the first error of a task this shard ran.
   */
  settled(): Promise<void>;
  /** The results recorded so far, by task key, in wire form. */
  results(): Record<string, unknown>;
  /** How many tasks of the split kinds this shard ran, and how many it left to the others. */
  counts(): { readonly owned: number; readonly deferred: number; readonly shared: number };
}

/**
 * Creates the runner of `shard`: tasks of the `split` kinds go round-robin over the shards within their family
 * (member k of a family to shard (k + h) mod n, h a hash of the family, so that small families spread too); the
 * others run in every shard. `inner` runs what this shard runs.
 */
export function createShardRunner(inner: TaskRunner, shard: Shard, split: readonly TaskKind[]): ShardRunner {
  const members = new Map<string, number>();
  const results: Record<string, unknown> = {};
  let running = 0;
  let failure: { error: unknown } | undefined;
  let owned = 0;
  let deferred = 0;
  let shared = 0;
  let idle: (() => void)[] = [];
  const quiet = () => {
    if (running > 0) return;
    // A finished task's continuations may submit more: wait a turn of the event loop before calling it idle.
    setImmediate(() => {
      if (running > 0) return;
      const waiting = idle;
      idle = [];
      for (const resolve of waiting) resolve();
    });
  };
  const owner = (task: Task) => {
    const family = familyOf(task);
    const member = members.get(family) ?? 0;
    members.set(family, member + 1);
    const offset = Number.parseInt(createHash('sha256').update(family).digest('hex').slice(0, 8), 16);
    return (member + offset) % shard.count;
  };
  return {
    concurrency: shardConcurrency(shard.count),
    run<T extends Task>(task: T, options: RunOptions = {}): Promise<TaskResult<T>> {
      if (options.signal?.aborted) return Promise.reject(abortError(options.signal));
      if (split.includes(task.kind)) {
        if (owner(task) !== shard.index) {
          deferred += 1;
          return Promise.reject(new DeferredTask());
        }
        owned += 1;
      } else {
        shared += 1;
      }
      running += 1;
      const key = taskKey(task);
      return inner
        .run(task, options)
        .then((value) => {
          results[key] = toWire(value);
          return value;
        })
        .catch((error: unknown) => {
          failure ??= { error };
          throw error;
        })
        .finally(() => {
          running -= 1;
          quiet();
        });
    },
    close: () => inner.close(),
    settled() {
      return new Promise<void>((resolve) => {
        idle.push(resolve);
        quiet();
      }).then(() => {
        if (failure) throw failure.error;
      });
    },
    results: () => results,
    counts: () => ({ owned, deferred, shared }),
  };
}

/** What a shard writes: its results and the command that makes them, for `tokenworks merge`. */
export interface ShardFile {
  readonly format: 'tokenworks-shard';
  readonly version: 1;
  /** The tokenworks version that ran the shard: a merge needs the same one. */
  readonly tokenworks: string;
  /** The command line without the scale-out flags (`simulate spec.yaml --replicas=1000`). */
  readonly command: readonly string[];
  readonly shard: Shard;
  /** The kinds of task the shards split; the others every shard ran. */
  readonly split: readonly TaskKind[];
  /** Tasks of the split kinds this shard ran and left to the others, and the shared ones it ran. */
  readonly tasks: { readonly owned: number; readonly deferred: number; readonly shared: number };
  /** Each task's result in wire form, by task key. */
  readonly results: Readonly<Record<string, unknown>>;
}

/** The schema of a shard file. */
export const ShardFileSchema = z.object({
  format: z.literal('tokenworks-shard'),
  version: z.literal(1),
  tokenworks: z.string(),
  command: z.array(z.string()).min(1),
  shard: z
    .object({ index: z.number().int().min(0), count: z.number().int().min(1).max(MAX_SHARDS) })
    .refine((shard) => shard.index < shard.count, 'index must be below count'),
  split: z.array(z.enum(TASK_KINDS)),
  tasks: z.object({ owned: z.number().int(), deferred: z.number().int(), shared: z.number().int() }),
  results: z.record(z.string().regex(/^[0-9a-f]{64}$/), z.unknown()),
});

/**
 * A runner that answers every task from `results` (task key to wire value, the union of the shard files) and
 * reports the concurrency of a `count`-shard run, so the command asks for exactly the tasks the shards ran. A task
 * no shard holds is a usage error: the merge runs on other inputs than the shards did.
 */
export function createReplayRunner(results: ReadonlyMap<string, unknown>, count: number): TaskRunner {
  return {
    concurrency: shardConcurrency(count),
    async run<T extends Task>(task: T, { signal }: RunOptions = {}): Promise<TaskResult<T>> {
      if (signal?.aborted) throw abortError(signal);
      const wire = results.get(taskKey(task));
      if (wire === undefined) {
        throw new TokenworksError(
          'USAGE',
          `merge: no shard file holds the result of a ${task.kind} task the command needs: merge with the same spec, trace files and tokenworks version the shards ran with, and give every shard`,
        );
      }
      return fromWire(structuredClone(wire)) as TaskResult<T>;
    },
    async close() {},
  };
}

/** Whether `error` is a {@link DeferredTask}: the command stopped at another shard's task, not on a fault. */
export function isDeferred(error: unknown): boolean {
  return error instanceof DeferredTask;
}
