/**
 * Reading cluster traces from CSV files (csv-parse) into the typed data of src/breakpoint/trace.ts: openb node and
 * pod lists, Philly-format run times, and plain rows or records for the other traces that
 * scripts/derive-trace-figures.ts reads. Every failure is a {@link TokenworksError} that names the file.
 * @module
 */
import { basename } from 'node:path';
import { parse } from 'csv-parse/sync';
import {
  nodesFromRecords,
  podsFromRecords,
  runtimesFromRecords,
  type TraceNode,
  type TracePod,
} from '../breakpoint/trace.js';
import { TokenworksError } from '../errors.js';
import type { Result } from '../spec/issues.js';
import { readTextFile } from './files.js';

/** Reads a CSV table with a header row as records (column name to text). */
export async function readCsvRecords(path: string): Promise<Record<string, string>[]> {
  const text = await readTextFile(path);
  try {
    return parse(text, { columns: true, skip_empty_lines: true, trim: true }) as Record<string, string>[];
  } catch (error) {
    throw new TokenworksError('SPEC_INVALID', `${path}: not a CSV table: ${(error as Error).message}`, { file: path });
  }
}

/** Reads a CSV table as rows of cells, the header row first. */
export async function readCsvRows(path: string): Promise<string[][]> {
  const text = await readTextFile(path);
  try {
    return parse(text, { skip_empty_lines: true }) as string[][];
  } catch (error) {
    throw new TokenworksError('SPEC_INVALID', `${path}: not a CSV table: ${(error as Error).message}`, { file: path });
  }
}

function unwrap<T>(path: string, result: Result<T>): T {
  if (result.ok) return result.value;
  throw new TokenworksError('SPEC_INVALID', `${path}: ${result.issues.length} bad rows`, {
    file: path,
    issues: result.issues,
  });
}

/** Reads an openb-format node list. */
export async function readTraceNodes(path: string): Promise<TraceNode[]> {
  return unwrap(path, nodesFromRecords(await readCsvRecords(path), basename(path)));
}

/** Reads an openb-format pod list. */
export async function readTracePods(path: string): Promise<TracePod[]> {
  return unwrap(path, podsFromRecords(await readCsvRecords(path), basename(path)));
}

/** Reads a Philly-format run-time list (a `runtime` column of seconds, as philly_runtime.csv). */
export async function readTraceRuntimes(path: string): Promise<number[]> {
  return unwrap(path, runtimesFromRecords(await readCsvRecords(path), basename(path)));
}
