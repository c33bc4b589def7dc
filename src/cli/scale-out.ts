/**
 * The scale-out flags of the fan-out commands (`plan`, `simulate`, `compare`, `detect-eval`): `--runner redis://…`
 * sends their tasks to a BullMQ queue served by `tokenworks worker`; `--shard i/n --out FILE` runs one shard and
 * writes it for `tokenworks merge` (src/node/shard-runner.ts). Parsed before any work, so a bad value is a usage
 * error (exit 2) naming the flag, the value and what is valid. `withRunner` (runner.ts) applies them.
 * @module
 */
import { AsyncLocalStorage } from 'node:async_hooks';
import { CommanderError, type CommandUnknownOpts } from '@commander-js/extra-typings';
import type { Progress, TaskRunner } from '../app/ports.js';
import { TokenworksError } from '../errors.js';
import type { Output } from '../node/output.js';
import { MAX_SHARDS, type Shard, type TaskKind } from '../node/shard-runner.js';
import { VERSION } from '../version.js';

/** The commands that take `--runner` and `--shard`, and whose shards `merge` combines. */
export const SHARDED_COMMANDS = ['plan', 'simulate', 'compare', 'detect-eval'] as const;

/** The environment variable a Kubernetes Indexed Job sets to each pod's completion index. */
export const COMPLETION_INDEX = 'JOB_COMPLETION_INDEX';

/** The environment variable `--shard env` reads the shard count from. */
export const SHARD_COUNT = 'TOKENWORKS_SHARD_COUNT';

/** One shard to run, and where it goes. */
export interface ShardRun extends Shard {
  readonly out: string;
  /** The kinds of task the shards split (the command's last wave); the others every shard runs. */
  readonly split: readonly TaskKind[];
  /** The command line that `merge` reruns (without the scale-out flags). */
  readonly command: readonly string[];
}

/** What `withRunner` is asked for beyond its thread count. */
export interface ScaleOut {
  /** `--runner`: the Redis URL of a BullMQ queue. */
  readonly runner?: string;
  readonly shard?: ShardRun;
  /** The command's progress port: a shard ends its stage when it stops early. */
  readonly progress?: Progress;
  readonly output: Output;
}

/**
 * Parses `--shard`: `i/n` with 0 ≤ i < n ≤ 10,000, or `env/n` and `env`, which take i from `JOB_COMPLETION_INDEX`
 * (what a Kubernetes Indexed Job sets) and, for `env`, n from `TOKENWORKS_SHARD_COUNT`.
 */
export function parseShard(text: string, env: NodeJS.ProcessEnv = process.env): Shard {
  const usage = (why: string) =>
    new TokenworksError(
      'USAGE',
      `--shard ${text}: ${why}; give i/n with 0 ≤ i < n ≤ ${MAX_SHARDS.toLocaleString('en-US')} (e.g. 0/4), env/n or env (i from ${COMPLETION_INDEX}, n from ${SHARD_COUNT})`,
    );
  const [first = '', second, ...rest] = text.trim().split('/');
  if (rest.length > 0) throw usage('too many "/"');
  const whole = (part: string, name: string) => {
    const value = Number(part);
    if (!/^\d+$/.test(part.trim()) || !Number.isSafeInteger(value))
      throw usage(`${name} "${part}" is not a whole number`);
    return value;
  };
  let index: number;
  let count: number;
  if (first === 'env') {
    const fromEnv = env[COMPLETION_INDEX];
    if (fromEnv === undefined) throw usage(`${COMPLETION_INDEX} is not set`);
    index = whole(fromEnv, COMPLETION_INDEX);
    const countText = second ?? env[SHARD_COUNT];
    if (countText === undefined) throw usage(`give n after "env/", or set ${SHARD_COUNT}`);
    count = whole(countText, second === undefined ? SHARD_COUNT : 'n');
  } else {
    if (second === undefined) throw usage('no "/"');
    index = whole(first, 'i');
    count = whole(second, 'n');
  }
  if (count < 1 || count > MAX_SHARDS) throw usage(`n = ${count} is out of range`);
  if (index >= count) throw usage(`i = ${index} is not below n = ${count}`);
  return { index, count };
}

/** The scale-out flags as a command's options hold them. */
export interface ScaleOutFlags {
  readonly runner?: string;
  readonly shard?: string;
  readonly out?: string;
}

/** Flags a shard file's command line leaves out: where and how the shard ran, not what it computes. */
const EXECUTION_FLAGS = new Set(['runner', 'shard', 'out', 'threads', 'json']);

/**
 * The command line of `command` as parsed, for `merge` to rerun: its name, its operands, then each option given on
 * the command line as `--flag=value` (defaults omitted: the same version gives the same defaults), without the
 * flags in {@link EXECUTION_FLAGS}.
 */
export function commandLine(command: CommandUnknownOpts): string[] {
  const words = [command.name(), ...command.args];
  for (const option of command.options) {
    const key = option.attributeName();
    if (EXECUTION_FLAGS.has(key) || command.getOptionValueSource(key) !== 'cli') continue;
    const value: unknown = command.getOptionValue(key);
    const flag = option.long ?? option.short ?? `--${key}`;
    if (typeof value === 'boolean') words.push(flag);
    else if (Array.isArray(value)) for (const item of value) words.push(`${flag}=${String(item)}`);
    else words.push(`${flag}=${String(value)}`);
  }
  return words;
}

/**
 * Checks a command's scale-out flags before any work and returns what `withRunner` needs. `split` names the kinds
 * of task the command's last wave is made of (the tasks nothing else waits for): the shards divide those.
 */
export async function scaleOutOf(
  command: CommandUnknownOpts,
  flags: ScaleOutFlags,
  setup: { readonly split: readonly TaskKind[]; readonly output: Output; readonly progress?: Progress },
): Promise<ScaleOut> {
  if (flags.runner !== undefined) {
    const { parseRedisUrl } = await import('../node/queue-runner.js');
    parseRedisUrl(flags.runner, '--runner');
  }
  if (flags.out !== undefined && flags.shard === undefined) {
    throw new TokenworksError('USAGE', `--out ${flags.out}: --out is where a shard goes; give --shard i/n too`);
  }
  let shard: ShardRun | undefined;
  if (flags.shard !== undefined) {
    const parsed = parseShard(flags.shard);
    if (flags.out === undefined) {
      throw new TokenworksError(
        'USAGE',
        `--shard ${flags.shard}: give --out FILE, the partial result that \`tokenworks merge\` combines`,
      );
    }
    const { checkWritable } = await import('../node/files.js');
    await checkWritable(flags.out, '--out');
    shard = { ...parsed, out: flags.out, split: setup.split, command: commandLine(command) };
  }
  return {
    ...(flags.runner !== undefined && { runner: flags.runner }),
    ...(shard && { shard }),
    ...(setup.progress && { progress: setup.progress }),
    output: setup.output,
  };
}

/** Ends a command after its shard is written: exit 0, nothing more printed (as commander's own `--help` does). */
export class ShardWritten extends CommanderError {
  constructor() {
    super(0, 'tokenworks.shardWritten', '');
    this.name = 'ShardWritten';
  }
}

/** Where `merge` puts the runner that answers from the shard files while it reruns a command. */
export const replayScope = new AsyncLocalStorage<TaskRunner>();

/** Opens the queue runner at `url`, connected (or a usage error naming `--runner`). */
export async function openQueueRunner(url: string, output: Output): Promise<TaskRunner> {
  const { createQueueRunner, DEFAULT_QUEUE } = await import('../node/queue-runner.js');
  const runner = createQueueRunner({ url, option: '--runner' });
  try {
    await runner.ready();
  } catch (error) {
    await runner.close();
    throw error;
  }
  output.info(
    `tasks go to queue "${runner.queue}" at ${runner.shown}: serve it with \`tokenworks worker --redis ${runner.shown}${runner.queue === DEFAULT_QUEUE ? '' : ` --queue ${runner.queue}`}\``,
  );
  return runner;
}

/** A `Result` that failed, at the top or one level down (`plan` returns two). */
function failedResult(value: unknown): boolean {
  const failed = (x: unknown) => typeof x === 'object' && x !== null && (x as { ok?: unknown }).ok === false;
  return failed(value) || (typeof value === 'object' && value !== null && Object.values(value).some(failed));
}

/**
 * Runs `work` as one shard over `runner`, writes the shard file and ends the command with {@link ShardWritten}.
 * A task of this shard that fails, or a failed result (a spec the use case refused), is the command's error.
 */
export async function runShard<T>(
  runner: TaskRunner,
  work: (runner: TaskRunner) => Promise<T>,
  scale: ScaleOut & { readonly shard: ShardRun },
): Promise<T> {
  const { createShardRunner, isDeferred } = await import('../node/shard-runner.js');
  const { shard, output } = scale;
  const sharded = createShardRunner(runner, shard, shard.split);
  let outcome: { value: T } | { error: unknown };
  try {
    outcome = { value: await work(sharded) };
  } catch (error) {
    outcome = { error };
  }
  await sharded.settled();
  if ('error' in outcome && !isDeferred(outcome.error)) throw outcome.error;
  if ('value' in outcome && failedResult(outcome.value)) return outcome.value;
  scale.progress?.done();
  const tasks = sharded.counts();
  const file = {
    format: 'tokenworks-shard',
    version: 1,
    tokenworks: VERSION,
    command: shard.command,
    shard: { index: shard.index, count: shard.count },
    split: shard.split,
    tasks,
    results: sharded.results(),
  };
  const { writeUserFile } = await import('../node/files.js');
  await writeUserFile(shard.out, `${JSON.stringify(file)}\n`);
  output.info(
    `wrote shard ${shard.index} of ${shard.count} to ${shard.out}: ${tasks.owned} of ${tasks.owned + tasks.deferred} ${shard.split.join('/')} tasks (and ${tasks.shared} shared); combine the shards with \`tokenworks merge\``,
  );
  throw new ShardWritten();
}

/** `--runner`'s help line. */
export const RUNNER_HELP =
  'run the tasks on a BullMQ queue that `tokenworks worker` processes serve: redis://host:port[?queue=NAME]';

/** `--shard`'s help line. */
export const SHARD_HELP = `compute shard i of n (0-based) for \`tokenworks merge\`; env/n or env take i from ${COMPLETION_INDEX}`;

/** `--out`'s help line. */
export const SHARD_OUT_HELP = "with --shard: the shard's partial result file (JSON)";
