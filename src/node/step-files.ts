import { TokenworksError } from '../errors.js';
import { readMegatronCiGolden, type StepPoint } from '../telemetry/megatron-ci.js';
import { toStepPoints } from '../telemetry/step-log.js';
import { openForReading, readTextFile } from './files.js';
import { createLogFileSource } from './log-file-source.js';

/** A malformed line, where it is and why it was not read. */
export interface MalformedAt {
  readonly file: string;
  readonly line: number;
  readonly reason: string;
  readonly text: string;
}

/** The steps of one file and what could not be read in it. */
export interface StepFile {
  readonly file: string;
  readonly kind: 'megatron-ci-golden' | 'log';
  readonly points: StepPoint[];
  /** The first {@link MAX_MALFORMED_KEPT} malformed lines; `malformedCount` counts all. */
  readonly malformed: MalformedAt[];
  readonly malformedCount: number;
  /** Lines that were no step line of any format (banners, warnings). */
  readonly ignored: number;
}

/** Malformed lines kept per file for the report (all are counted). */
export const MAX_MALFORMED_KEPT = 100;

/** Bytes read from a file's start to tell a golden-values document from JSON lines. */
const HEAD_BYTES = 64 * 1024;

/**
 * Whether the file may be one JSON document (a golden-values file): it starts with `{` and its first line is not a
 * complete JSON object of its own, as each line of a JSON-lines step log is.
 */
async function looksLikeJsonDocument(path: string): Promise<boolean> {
  const handle = await openForReading(path);
  try {
    const buffer = Buffer.alloc(HEAD_BYTES);
    const { bytesRead } = await handle.read(buffer, 0, HEAD_BYTES, 0);
    const head = buffer.subarray(0, bytesRead).toString('utf8').trimStart();
    if (!head.startsWith('{')) return false;
    const newline = head.indexOf('\n');
    if (newline < 0) return true;
    try {
      JSON.parse(head.slice(0, newline));
      return false; // a whole object on the first line: JSON lines
    } catch {
      return true;
    }
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    throw new TokenworksError('FILE_UNREADABLE', `cannot read ${path}: ${code ?? String(error)}`, { file: path });
  } finally {
    await handle.close();
  }
}

/** The steps of `path` when it is a Megatron CI golden-values file; undefined when it is anything else. */
export async function readGoldenFile(path: string): Promise<StepPoint[] | undefined> {
  if (!(await looksLikeJsonDocument(path))) return undefined;
  const golden = readMegatronCiGolden(await readTextFile(path));
  return golden.ok ? golden.value.points : undefined;
}

/** Reads the step series of `path`: a Megatron CI golden-values file or a training log. */
export async function readStepFile(path: string, options: { readonly signal?: AbortSignal } = {}): Promise<StepFile> {
  if (await looksLikeJsonDocument(path)) {
    const golden = readMegatronCiGolden(await readTextFile(path));
    if (golden.ok) {
      return {
        file: path,
        kind: 'megatron-ci-golden',
        points: golden.value.points,
        malformed: [],
        malformedCount: 0,
        ignored: 0,
      };
    }
    // A JSON document that is no golden file may still be JSON lines of steps: the log parser decides.
  }
  const points: StepPoint[] = [];
  const malformed: MalformedAt[] = [];
  let malformedCount = 0;
  let ignored = 0;
  for await (const batch of createLogFileSource(path).steps(options)) {
    for (const point of toStepPoints(batch.samples)) points.push(point);
    malformedCount += batch.malformed.length;
    for (const m of batch.malformed) {
      if (malformed.length < MAX_MALFORMED_KEPT)
        malformed.push({ file: path, line: m.line, reason: m.reason, text: m.text });
    }
    ignored += batch.ignored;
  }
  return { file: path, kind: 'log', points, malformed, malformedCount, ignored };
}
