/**
 * `tokenworks merge <shard files…> [--json] [--out FILE]`: combines the shards that `--shard i/n` wrote into the
 * result the unsharded command gives. It checks that the files are one complete set (same command, same count,
 * every index once, the same tokenworks version), then reruns the command with a runner that answers every task
 * from the files (src/node/shard-runner.ts), so the same code computes the same answer from the same results.
 * @module
 */
import type { Command } from '@commander-js/extra-typings';
import { CommanderError } from '@commander-js/extra-typings';
import { TokenworksError } from '../../errors.js';
import { readTextFile, writeUserFile } from '../../node/files.js';
import { createOutput, type OutputStreams } from '../../node/output.js';
import { VERSION } from '../../version.js';
import { replayScope, SHARDED_COMMANDS } from '../scale-out.js';

/** Most shard files one merge reads. */
const MAX_FILES = 10_000;

/** Largest shard file, bytes. */
const MAX_SHARD_BYTES = 512e6;

/** Runs a command line in-process and returns its exit code (`runCli`, passed in to keep main.ts out of here). */
export type RunCommandLine = (argv: readonly string[], streams: OutputStreams) => Promise<number>;

/** Adds the `merge` command to `program`; `rerun` runs the shards' command once more. */
export function registerMerge(program: Command, streams: OutputStreams, rerun: RunCommandLine): void {
  program
    .command('merge')
    .description('combine the shard files of `--shard i/n` runs into the result of the unsharded command')
    .argument('<files...>', 'every shard file of one run, e.g. results/shard-*.json')
    .option('--json', 'print the outcome as JSON')
    .option('--out <file>', 'write the outcome to this file instead of stdout')
    .action(async (files, options, command) => {
      const globals = command.optsWithGlobals() as { quiet?: boolean };
      const output = createOutput(streams, { json: false, quiet: globals.quiet ?? false });
      if (files.length > MAX_FILES) {
        throw new TokenworksError('USAGE', `merge takes at most ${MAX_FILES} shard files, got ${files.length}`);
      }
      if (options.out !== undefined) {
        const { checkWritable } = await import('../../node/files.js');
        await checkWritable(options.out, '--out');
      }
      const { ShardFileSchema, createReplayRunner } = await import('../../node/shard-runner.js');
      const shards: { file: string; value: ReturnType<typeof ShardFileSchema.parse> }[] = [];
      for (const file of files) {
        let json: unknown;
        try {
          json = JSON.parse(await readTextFile(file, MAX_SHARD_BYTES));
        } catch (error) {
          if (error instanceof TokenworksError) throw error;
          throw new TokenworksError('SPEC_INVALID', `${file}: not JSON: ${(error as Error).message}`, { file });
        }
        const parsed = ShardFileSchema.safeParse(json);
        if (!parsed.success) {
          const first = parsed.error.issues[0];
          throw new TokenworksError(
            'SPEC_INVALID',
            `${file}: not a tokenworks shard file (${first ? `${first.path.join('.') || 'document'}: ${first.message}` : 'invalid'}); give the files that \`--shard i/n --out FILE\` wrote`,
            { file },
          );
        }
        shards.push({ file, value: parsed.data });
      }
      const [head] = shards;
      if (!head) throw new TokenworksError('USAGE', 'merge: give the shard files');
      const line = head.value.command.join(' ');
      const count = head.value.shard.count;
      const byIndex = new Map<number, string>();
      for (const { file, value } of shards) {
        if (value.tokenworks !== VERSION) {
          throw new TokenworksError(
            'USAGE',
            `${file}: written by tokenworks ${value.tokenworks}, this is ${VERSION}: merge with the version that ran the shards`,
            { file },
          );
        }
        if (value.command.join(' ') !== line || value.shard.count !== count) {
          throw new TokenworksError(
            'USAGE',
            `${file}: shard ${value.shard.index}/${value.shard.count} of \`${value.command.join(' ')}\`, but ${head.file} is of \`${line}\` in ${count} shards: give the shards of one run`,
            { file },
          );
        }
        const twin = byIndex.get(value.shard.index);
        if (twin !== undefined) {
          throw new TokenworksError('USAGE', `shard ${value.shard.index}/${count} is given twice: ${twin} and ${file}`);
        }
        byIndex.set(value.shard.index, file);
      }
      const missing = Array.from({ length: count }, (_, index) => index).filter((index) => !byIndex.has(index));
      if (missing.length > 0) {
        const shown = missing.slice(0, 10).join(', ');
        throw new TokenworksError(
          'USAGE',
          `merge: ${missing.length} of the ${count} shards of \`${line}\` are missing (index ${shown}${missing.length > 10 ? ', …' : ''}); give every shard file`,
        );
      }
      if (!(SHARDED_COMMANDS as readonly string[]).includes(head.value.command[0] ?? '')) {
        throw new TokenworksError('USAGE', `${head.file}: \`${line}\` is not a command that shards`, {
          file: head.file,
        });
      }
      const results = new Map<string, unknown>();
      for (const { file, value } of shards) {
        for (const [key, result] of Object.entries(value.results)) {
          const known = results.get(key);
          // Every shard runs the tasks the split ones depend on: their answers must agree.
          if (known !== undefined && JSON.stringify(known) !== JSON.stringify(result)) {
            throw new TokenworksError(
              'USAGE',
              `${file}: a task's result differs from another shard's: the shards did not run on the same inputs`,
              { file },
            );
          }
          results.set(key, result);
        }
      }
      output.info(`merging ${count} shard${count === 1 ? '' : 's'} of \`tokenworks ${line}\` (${results.size} tasks)`);
      let text = '';
      const target =
        options.out === undefined ? streams : { ...streams, stdout: { write: (chunk: string) => (text += chunk) } };
      const argv = [...(globals.quiet ? ['--quiet'] : []), ...head.value.command, ...(options.json ? ['--json'] : [])];
      const code = await replayScope.run(createReplayRunner(results, count), () => rerun(argv, target));
      if (code !== 0) throw new CommanderError(code, 'tokenworks.merge', '');
      if (options.out !== undefined) {
        await writeUserFile(options.out, text);
        output.info(`wrote ${options.out}`);
      }
    });
}
