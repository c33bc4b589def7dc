/**
 * Reading cluster traces from CSV files (csv-parse) into the typed data of src/breakpoint/trace.ts.
 * @module
 */
import { basename } from 'node:path';
import { parse } from 'csv-parse/sync';
import { nodesFromRecords, podsFromRecords, type TraceNode, type TracePod } from '../breakpoint/trace.js';
import { TokenworksError } from '../errors.js';
import type { Result } from '../spec/issues.js';
import { readTextFile } from './files.js';

async function records(path: string): Promise<Record<string, string>[]> {
  const text = await readTextFile(path);
  try {
    return parse(text, { columns: true, skip_empty_lines: true, trim: true }) as Record<string, string>[];
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
  return unwrap(path, nodesFromRecords(await records(path), basename(path)));
}

/** Reads an openb-format pod list. */
export async function readTracePods(path: string): Promise<TracePod[]> {
  return unwrap(path, podsFromRecords(await records(path), basename(path)));
}
