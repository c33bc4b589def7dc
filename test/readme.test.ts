/**
 * README.md's example runs are real: every block that starts with `$ npx tokenworks ...` is run again and must
 * equal the README byte for byte, after the block's own truncation (see scripts/readme-examples.ts, which
 * regenerates them: `npx tsx scripts/readme-examples.ts`).
 * @module
 */
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  type CommandRun,
  findExamples,
  README_PATH,
  REPO_ROOT,
  regenerate,
  renderBlock,
  renderCommand,
} from '../scripts/readme-examples.js';

const blocks = findExamples(readFileSync(README_PATH, 'utf8'));
const title = (block: (typeof blocks)[number]) => block.commands.map((command) => command.line).join(' && ');

describe('README examples', () => {
  it('are found, and run from the repository root', () => {
    expect(blocks.length).toBeGreaterThan(0);
    expect(resolve(process.cwd())).toBe(resolve(REPO_ROOT));
  });

  // The slowest, compare examples/breakpoint.yaml, runs its whole sweep through the twin.
  it.each(blocks.map((block) => [title(block), block] as const))(
    '%s matches a fresh run (regenerate with npx tsx scripts/readme-examples.ts)',
    async (_, block) => {
      const fresh = await renderBlock(block);
      expect(fresh.join('\n')).toBe(block.lines.join('\n'));
    },
    600_000,
  );
});

describe('scripts/readme-examples.ts', () => {
  const ok = (stdout: string, stderr = 'progress\n'): CommandRun => ({ code: 0, stdout, stderr });

  it('finds blocks by their first line and reads head= and exit= per command', () => {
    const readme = [
      '```sh',
      'npm ci && npx tokenworks plan x.yaml',
      '```',
      '<!-- example: head=*,2 exit=0,2 -->',
      '```',
      '$ npx tokenworks catalog models',
      'old',
      "$ npx tokenworks check 'a b.yaml'",
      '```',
    ].join('\n');
    const found = findExamples(readme);
    expect(found).toHaveLength(1);
    expect(found[0]?.start).toBe(5);
    expect(found[0]?.end).toBe(8);
    expect(found[0]?.commands).toEqual([
      { line: 'npx tokenworks catalog models', argv: ['catalog', 'models'], head: undefined, exit: 0 },
      { line: "npx tokenworks check 'a b.yaml'", argv: ['check', 'a b.yaml'], head: 2, exit: 2 },
    ]);
    expect(() => findExamples('<!-- example: tail=3 -->\n```\n$ npx tokenworks validate\n```')).toThrow(/tail=3/);
    expect(() => findExamples('```\n$ npx tokenworks plan x.yaml > out.txt\n```')).toThrow(/shell syntax/);
  });

  it('shows stdout on success and stderr on the expected failure, cut to head lines then ...', () => {
    const command = { line: 'npx tokenworks validate', argv: ['validate'], head: 2, exit: 0 };
    expect(renderCommand(command, ok('a\nb\nc\n'))).toEqual(['$ npx tokenworks validate', 'a', 'b', '...']);
    expect(renderCommand(command, ok('a\nb\n\n'))).toEqual(['$ npx tokenworks validate', 'a', 'b']);
    const bad = { ...command, head: undefined, exit: 2 };
    expect(renderCommand(bad, { code: 2, stdout: '', stderr: 'x.yaml: wrong\n' })).toEqual([
      '$ npx tokenworks validate',
      'x.yaml: wrong',
    ]);
    expect(() => renderCommand(bad, ok('fine\n'))).toThrow(/exited 0, the README expects 2/);
    expect(() => renderCommand(command, ok('$ npx tokenworks plan\n'))).toThrow(/break its README block/);
  });

  it('rewrites only the example blocks and keeps the prose', async () => {
    const readme = 'Prose.\n\n```\n$ npx tokenworks catalog nothing-such\nstale\n```\n\nMore prose.\n';
    await expect(regenerate(readme)).rejects.toThrow(/exited 2/);
    const marked = readme.replace('```\n$', '<!-- example: exit=2 -->\n```\n$');
    const { text, blocks: count, changed } = await regenerate(marked);
    expect(count).toBe(1);
    expect(changed).toBe(1);
    expect(text.startsWith('Prose.\n\n<!-- example: exit=2 -->\n```\n$ npx tokenworks catalog nothing-such\n')).toBe(
      true,
    );
    expect(text).not.toContain('stale');
    expect(text.endsWith('\n```\n\nMore prose.\n')).toBe(true);
  });
});
