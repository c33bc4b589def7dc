/**
 * File access for the CLI: reading specs with clear errors and writing outputs atomically (write a temporary
 * file beside the target, then rename), so an interrupted run never leaves a half-written file.
 * @module
 */
import { randomBytes } from 'node:crypto';
import { readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { TokenworksError } from '../errors.js';
import { formatFromName, loadSpec } from '../spec/load.js';
import type { ResolvedSpec } from '../spec/resolve.js';

/** Reads a UTF-8 text file, turning file-system failures into {@link TokenworksError}s that name the path. */
export async function readTextFile(path: string): Promise<string> {
  let info: Awaited<ReturnType<typeof stat>>;
  try {
    info = await stat(path);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') throw new TokenworksError('FILE_NOT_FOUND', `file not found: ${path}`, { file: path });
    throw new TokenworksError('FILE_UNREADABLE', `cannot read ${path}: ${code ?? String(error)}`, { file: path });
  }
  if (info.isDirectory()) {
    throw new TokenworksError('FILE_UNREADABLE', `${path} is a directory; give a spec file (.yaml or .json)`, {
      file: path,
    });
  }
  try {
    return await readFile(path, 'utf8');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    throw new TokenworksError('FILE_UNREADABLE', `cannot read ${path}: ${code ?? String(error)}`, { file: path });
  }
}

/** Reads, validates and resolves a spec file (YAML, or JSON for `.json`). */
export async function loadSpecFile(path: string): Promise<ResolvedSpec> {
  const text = await readTextFile(path);
  const result = loadSpec(text, formatFromName(path));
  if (!result.ok) {
    const count = result.issues.length;
    throw new TokenworksError('SPEC_INVALID', `${path}: ${count} problem${count === 1 ? '' : 's'}`, {
      file: path,
      issues: result.issues,
    });
  }
  return result.value;
}

/** Writes `data` to `path` atomically: a temporary sibling file is written in full, then renamed over the target. */
export async function writeFileAtomic(path: string, data: string | Uint8Array): Promise<void> {
  const temporary = join(dirname(path), `.${basename(path)}.${randomBytes(6).toString('hex')}.tmp`);
  try {
    await writeFile(temporary, data);
    await rename(temporary, path);
  } catch (error) {
    await rm(temporary, { force: true });
    throw error;
  }
}
