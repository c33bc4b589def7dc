/**
 * Regenerates the example runs in README.md from real runs, so they cannot go stale. Run from anywhere with
 * `npx tsx scripts/readme-examples.ts` (`--check` reports stale blocks and exits 1 without writing).
 *
 * An example block is a fenced code block whose first line is `$ npx tokenworks ...`. A block may hold several
 * commands: each line that starts with `$ npx tokenworks ` begins one, and the lines up to the next such line
 * are its output. Each command runs in-process through {@link runCli} from the repository root, with a
 * non-terminal stderr (so no progress bars). The block shows stdout when the command exits 0, and stderr (what the
 * user sees) when it exits with the code the block expects otherwise, e.g. 2 for bad input.
 *
 * Options go in an HTML comment on the line just before the opening fence (invisible once rendered), as
 * `key=value` pairs whose values are comma-separated lists with one entry per command of the block; missing
 * entries take the default:
 *
 * - `head=N`: show the first N lines of the output, then a `...` line (only if there were more); `*` (the
 *   default) shows it all.
 * - `exit=N`: the exit code the command must return (default 0); any other code fails the script. Non-zero
 *   codes show stderr.
 *
 * For example `<!-- example: head=*,9 -->` shows the first command in full and nine lines of the second, and
 * `<!-- example: exit=2 -->` shows the error lines of a command that rejects its input.
 *
 * The README is written atomically (a temporary file, then a rename). test/readme.test.ts runs every block
 * and asserts that the README matches.
 * @module
 */
import { readFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { runCli } from '../src/cli/main.js';
import { writeFileAtomic } from '../src/node/files.js';

/** The repository root: commands run from here, as the README's `npx tokenworks` does. */
export const REPO_ROOT = fileURLToPath(new URL('..', import.meta.url));

/** The README this script maintains. */
export const README_PATH = resolve(REPO_ROOT, 'README.md');

const PROMPT = '$ npx tokenworks';
const OPTIONS_COMMENT = /^<!--\s*example:(.*?)-->\s*$/;
const FENCE = /^(`{3,}|~{3,})/;

/** One command of an example block. */
export interface ExampleCommand {
  /** The command line as written after `$ ` (starts with `npx tokenworks`). */
  readonly line: string;
  /** The arguments given to {@link runCli}. */
  readonly argv: readonly string[];
  /** Lines of output to keep before `...`; undefined keeps them all. */
  readonly head: number | undefined;
  /** The exit code the command must return. */
  readonly exit: number;
}

/** An example block found in the README. */
export interface ExampleBlock {
  /** Line index (0-based) of the first line inside the fence. */
  readonly start: number;
  /** Line index (0-based) of the closing fence. */
  readonly end: number;
  /** The block's text between the fences, one line per element. */
  readonly lines: readonly string[];
  readonly commands: readonly ExampleCommand[];
}

/** What one command printed. */
export interface CommandRun {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

/** Splits a command line into words: whitespace-separated, with single or double quotes; no other shell syntax. */
export function splitWords(line: string): string[] {
  if (/[|&;<>$`\\(){}*?]/.test(line.replace(/'[^']*'|"[^"]*"/g, ''))) {
    throw new Error(`example command uses shell syntax this script does not run: ${line}`);
  }
  const words: string[] = [];
  for (const match of line.matchAll(/'([^']*)'|"([^"]*)"|(\S+)/g)) {
    words.push(match[1] ?? match[2] ?? match[3] ?? '');
  }
  return words;
}

/** Parses the options comment (`head=...`, `exit=...`) into per-command lists. */
function parseOptions(comment: string | undefined, where: string): { head: string[]; exit: string[] } {
  const options = { head: [] as string[], exit: [] as string[] };
  const body = comment === undefined ? undefined : OPTIONS_COMMENT.exec(comment)?.[1];
  if (body === undefined) return options;
  for (const pair of body.trim().split(/\s+/).filter(Boolean)) {
    const [key, value] = pair.split('=', 2);
    if ((key !== 'head' && key !== 'exit') || value === undefined || value === '') {
      throw new Error(`${where}: unknown example option "${pair}" (valid: head=N|*, exit=N)`);
    }
    options[key] = value.split(',');
  }
  return options;
}

function integerOption(value: string, name: string, where: string, min: number): number {
  if (!/^\d+$/.test(value) || Number(value) < min) throw new Error(`${where}: ${name}=${value} is not a count`);
  return Number(value);
}

/** Finds every example block of `readme`. */
export function findExamples(readme: string): ExampleBlock[] {
  const lines = readme.split('\n');
  const blocks: ExampleBlock[] = [];
  for (let index = 0; index < lines.length; index++) {
    const fence = FENCE.exec(lines[index] ?? '')?.[1];
    if (fence === undefined) continue;
    let end = index + 1;
    while (end < lines.length && !(lines[end] ?? '').trimEnd().startsWith(fence)) end++;
    if (end >= lines.length) throw new Error(`README.md:${index + 1}: code block never closed`);
    const body = lines.slice(index + 1, end);
    if (body[0]?.startsWith(`${PROMPT} `)) {
      const where = `README.md:${index + 1}`;
      const previous = lines[index - 1];
      const options = parseOptions(previous?.startsWith('<!--') ? previous : undefined, where);
      const commandLines = body.filter((line) => line.startsWith(`${PROMPT} `));
      for (const [name, list] of Object.entries(options)) {
        if (list.length > commandLines.length) {
          throw new Error(`${where}: ${name}= has ${list.length} entries for ${commandLines.length} command(s)`);
        }
      }
      const commands = commandLines.map((text, position): ExampleCommand => {
        const head = options.head[position];
        const exit = options.exit[position];
        return {
          line: text.slice(2),
          argv: splitWords(text.slice(PROMPT.length)),
          head: head === undefined || head === '*' ? undefined : integerOption(head, 'head', where, 1),
          exit: exit === undefined ? 0 : integerOption(exit, 'exit', where, 0),
        };
      });
      blocks.push({ start: index + 1, end, lines: body, commands });
    }
    index = end;
  }
  return blocks;
}

/** Runs one command in-process, capturing stdout and stderr (stderr is not a terminal: no progress bars). */
export async function runCommand(argv: readonly string[]): Promise<CommandRun> {
  let stdout = '';
  let stderr = '';
  const code = await runCli(argv, {
    stdout: {
      write: (text: string) => {
        stdout += text;
        return true;
      },
    },
    stderr: {
      write: (text: string) => {
        stderr += text;
        return true;
      },
      isTTY: false,
    },
  });
  return { code, stdout, stderr };
}

/**
 * The lines a command shows in its block: `$ <command>`, then stdout (exit 0) or stderr (any other expected
 * code), without trailing newlines, cut to `head` lines and `...` when there were more.
 */
export function renderCommand(command: ExampleCommand, run: CommandRun): string[] {
  if (run.code !== command.exit) {
    throw new Error(
      `\`${command.line}\` exited ${run.code}, the README expects ${command.exit}` +
        (command.exit === 0 ? '' : ` (mark the block with <!-- example: exit=${run.code} --> if that is right)`) +
        `\n--- stderr ---\n${run.stderr}`,
    );
  }
  const text = (command.exit === 0 ? run.stdout : run.stderr).replace(/\n+$/, '');
  const output = text === '' ? [] : text.split('\n');
  for (const line of output) {
    if (line.startsWith(`${PROMPT} `) || FENCE.test(line)) {
      throw new Error(`\`${command.line}\` printed a line that would break its README block: ${line}`);
    }
  }
  const shown =
    command.head !== undefined && output.length > command.head ? [...output.slice(0, command.head), '...'] : output;
  return [`$ ${command.line}`, ...shown];
}

/** Runs every command of a block and returns the block's new text (between the fences, one line per element). */
export async function renderBlock(
  block: ExampleBlock,
  onRun?: (command: ExampleCommand, run: CommandRun, seconds: number) => void,
): Promise<string[]> {
  const lines: string[] = [];
  for (const command of block.commands) {
    const started = performance.now();
    const run = await runCommand(command.argv);
    onRun?.(command, run, (performance.now() - started) / 1000);
    lines.push(...renderCommand(command, run));
  }
  return lines;
}

/** Rewrites every example block of `readme` with fresh output; returns the new text and how many blocks changed. */
export async function regenerate(
  readme: string,
  onRun?: (command: ExampleCommand, run: CommandRun, seconds: number) => void,
): Promise<{ text: string; blocks: number; changed: number }> {
  const lines = readme.split('\n');
  const blocks = findExamples(readme);
  let changed = 0;
  // Run in README order, one at a time (each command sizes its worker pool to the machine).
  const fresh: string[][] = [];
  for (const block of blocks) fresh.push(await renderBlock(block, onRun));
  // Splice from the last block up, so earlier line indexes stay valid as block lengths change.
  for (let index = blocks.length - 1; index >= 0; index--) {
    const block = blocks[index] as ExampleBlock;
    const body = fresh[index] as string[];
    if (body.join('\n') !== block.lines.join('\n')) changed++;
    lines.splice(block.start, block.end - block.start, ...body);
  }
  return { text: lines.join('\n'), blocks: blocks.length, changed };
}

/** The command line entry: regenerate README.md in place, or with `--check` only report whether it is stale. */
async function main(args: readonly string[]): Promise<number> {
  const check = args.includes('--check');
  const unknown = args.filter((arg) => arg !== '--check');
  if (unknown.length > 0) {
    process.stderr.write(`usage: tsx scripts/readme-examples.ts [--check] (unknown: ${unknown.join(' ')})\n`);
    return 2;
  }
  process.chdir(REPO_ROOT);
  const readme = await readFile(README_PATH, 'utf8');
  const { text, blocks, changed } = await regenerate(readme, (command, run, seconds) => {
    process.stderr.write(`${command.line}: exit ${run.code}, ${seconds.toFixed(1)} s\n`);
    const warnings = run.stderr.split('\n').filter((line) => line.startsWith('warning: '));
    if (run.code === 0 && warnings.length > 0) process.stderr.write(`  ${warnings.join('\n  ')}\n`);
  });
  process.stderr.write(`README.md: ${blocks} example blocks, ${changed} out of date\n`);
  if (check) return changed === 0 ? 0 : 1;
  if (text !== readme) await writeFileAtomic(README_PATH, text);
  return 0;
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(resolve(process.argv[1])).href) {
  main(process.argv.slice(2)).then(
    (code) => {
      process.exitCode = code;
    },
    (error: unknown) => {
      process.stderr.write(`readme-examples: ${error instanceof Error ? error.message : String(error)}\n`);
      process.exitCode = 1;
    },
  );
}
