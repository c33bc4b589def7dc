/**
 * File access for the CLI: reading specs with clear errors and writing outputs atomically (write a temporary
 * file beside the target, then rename), so an interrupted run never leaves a half-written file.
 * @module
 */
import { randomBytes } from 'node:crypto';
import { constants } from 'node:fs';
import { access, type FileHandle, open, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import { basename, dirname, isAbsolute, join, resolve } from 'node:path';
import { TokenworksError } from '../errors.js';
import type { Result } from '../spec/issues.js';
import type { ResolvedSpec } from '../spec/resolve.js';

/** Largest input file read, bytes (specs are kilobytes; the calibration sets well under a megabyte). */
export const MAX_INPUT_BYTES = 64e6;

/**
 * Opens a user's file for reading, failing as a user error that names it (FILE_NOT_FOUND or FILE_UNREADABLE):
 * `what` says what the file was meant to be (`the dcgm scrape file`).
 */
export async function openForReading(path: string, what = ''): Promise<FileHandle> {
  try {
    return await open(path, 'r');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    throw new TokenworksError(
      code === 'ENOENT' ? 'FILE_NOT_FOUND' : 'FILE_UNREADABLE',
      `cannot read ${what === '' ? '' : `${what} `}${path}: ${code ?? String(error)}`,
      { file: path },
    );
  }
}

/** Reads a UTF-8 text file, turning file-system failures into {@link TokenworksError}s that name the path. */
export async function readTextFile(path: string, maxBytes = MAX_INPUT_BYTES): Promise<string> {
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
  if (!info.isFile()) {
    throw new TokenworksError('FILE_UNREADABLE', `${path} is not a regular file; give a spec file (.yaml or .json)`, {
      file: path,
    });
  }
  if (info.size > maxBytes) {
    throw new TokenworksError(
      'FILE_UNREADABLE',
      `${path} is ${(info.size / 1e6).toFixed(1)} MB, more than the ${(maxBytes / 1e6).toFixed(0)} MB an input file may be`,
      { file: path },
    );
  }
  try {
    return await readFile(path, 'utf8');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    throw new TokenworksError('FILE_UNREADABLE', `cannot read ${path}: ${code ?? String(error)}`, { file: path });
  }
}

/**
 * Reads a settings file (YAML, or JSON for `.json`) into a plain value with the spec loader's guards (binary and
 * oversized text, alias bombs, syntax errors with line and column), as data: the caller checks its schema.
 */
export async function readDocumentFile(path: string): Promise<Result<unknown>> {
  const text = await readTextFile(path);
  const { formatFromName, parseText } = await import('../spec/load.js');
  return parseText(text, formatFromName(path));
}

/** Reads, validates and resolves a spec file (YAML, or JSON for `.json`). */
export async function loadSpecFile(path: string): Promise<ResolvedSpec> {
  const text = await readTextFile(path);
  // Loaded on first use: the schemas, the YAML parser and the catalog are most of a small command's start-up.
  const { calibrationRef, formatFromName, loadSpec, parseText } = await import('../spec/load.js');
  const format = formatFromName(path);
  // A `system.calibration` file is read here, relative to the spec's folder; the pure loader applies it.
  const parsed = parseText(text, format);
  const ref = parsed.ok ? calibrationRef(parsed.value) : undefined;
  let options = {};
  if (ref !== undefined) {
    const calibrationPath = isAbsolute(ref) ? ref : join(dirname(path), ref);
    try {
      options = { calibrationText: await readTextFile(calibrationPath) };
    } catch (error) {
      const reason = error instanceof Error ? error.message : String(error);
      options = { calibrationError: `cannot read the calibration file ${calibrationPath}: ${reason}` };
    }
  }
  const result = loadSpec(text, format, options);
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

/**
 * Checks, before any work, that `path` can be written: its folder exists and is writable, and the path is not a
 * folder itself. A failure is a user error that names the path and what to do.
 */
export async function checkWritable(path: string, flag: string): Promise<void> {
  const folder = dirname(resolve(path));
  let info: Awaited<ReturnType<typeof stat>> | undefined;
  try {
    info = await stat(folder);
  } catch {
    throw new TokenworksError(
      'FILE_UNWRITABLE',
      `${flag} ${path}: the folder ${folder} does not exist; create it first`,
      {
        file: path,
      },
    );
  }
  if (!info.isDirectory()) {
    throw new TokenworksError('FILE_UNWRITABLE', `${flag} ${path}: ${folder} is not a folder`, { file: path });
  }
  try {
    await access(folder, constants.W_OK);
  } catch {
    throw new TokenworksError('FILE_UNWRITABLE', `${flag} ${path}: the folder ${folder} is not writable`, {
      file: path,
    });
  }
  const target = await stat(path).catch(() => undefined);
  if (target?.isDirectory()) {
    throw new TokenworksError('FILE_UNWRITABLE', `${flag} ${path} is a folder; give a file name such as report.html`, {
      file: path,
    });
  }
}

/** {@link writeFileAtomic} for paths the user named: a file-system failure is a user error naming the path. */
export async function writeUserFile(path: string, data: string | Uint8Array): Promise<void> {
  try {
    await writeFileAtomic(path, data);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code ?? String(error);
    throw new TokenworksError('FILE_UNWRITABLE', `cannot write ${path}: ${code}`, { file: path, cause: error });
  }
}
