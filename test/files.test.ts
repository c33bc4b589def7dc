import { mkdtemp, readdir, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { writeFileAtomic } from '../src/node/files.js';
import { VERSION } from '../src/version.js';

describe('writeFileAtomic', () => {
  it('replaces the file and leaves no temporary behind', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'tokenworks-files-'));
    const target = join(dir, 'out.json');
    await writeFile(target, 'old');
    await writeFileAtomic(target, 'new');
    expect(await readFile(target, 'utf8')).toBe('new');
    expect(await readdir(dir)).toEqual(['out.json']);
  });

  it('a failed write leaves the target untouched', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'tokenworks-files-'));
    await expect(writeFileAtomic(join(dir, 'missing-dir', 'out.json'), 'x')).rejects.toThrow();
    expect(await readdir(dir)).toEqual([]);
  });
});

describe('package', () => {
  it('VERSION matches package.json', async () => {
    const pkg = JSON.parse(await readFile('package.json', 'utf8'));
    expect(VERSION).toBe(pkg.version);
  });
});
