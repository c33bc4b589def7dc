/**
 * Ingest from files into a {@link TelemetryStore}: a training log (read once or followed) and dcgm-exporter scrape
 * files, each resumed from the store's cursors so that a restart (even after `kill -9`) reads nothing twice.
 *
 * Each file is two sources of the store: its rows (`log:<path>` steps, `dcgm:<path>` GPU points) and its malformed
 * lines as `malformed` events (`…#malformed`). The port appends one kind of row per transaction, so each kind keeps
 * its own cursor; a resumed ingest reads from the one further behind and keeps, of each batch, only the lines past
 * each kind's own cursor (line numbers say where), so a crash between the two appends of a batch repeats nothing.
 *
 * dcgm scrape files are read in chunks of complete lines (memory bounded by the chunk, not the file) and parsed a
 * line at a time. dcgm-exporter repeats each series' name and label set in every scrape, so the label set's text is
 * the key of a cache of what it normalises to (field, GPU key, host): a line whose text before the value was seen
 * before costs a map lookup and two number reads; a new one goes through the full parser (`parsePromLine`,
 * `normaliseDcgmSample`), and is cached only when the quick read of its value and time stamp gives exactly what the
 * full parser gave.
 * @module
 */
import { createHash } from 'node:crypto';
import { open } from 'node:fs/promises';
import type { GpuPoint, RunEvent, SourceCursor, TelemetryStore } from '../app/ports.js';
import { throwIfAborted } from '../app/ports.js';
import { TokenworksError } from '../errors.js';
import { dcgmFieldName, normaliseDcgmSample } from '../telemetry/dcgm.js';
import { parsePromLine, parsePromValue } from '../telemetry/prometheus-text.js';
import type { MalformedStepLine } from '../telemetry/step-log.js';
import { MAX_NAME_LENGTH } from './duckdb-store.js';
import { createLogFileSource } from './log-file-source.js';

/** What an ingest stored. */
export interface LogIngestCounts {
  /** Step samples appended. */
  readonly samples: number;
  /** Malformed lines recorded as events. */
  readonly malformed: number;
  /** Lines that were no step line of any format. */
  readonly ignored: number;
}

/** Where an ingest stands after a commit. */
export interface LogIngestProgress extends LogIngestCounts {
  readonly offset: number;
  readonly nextLine: number;
}

/** Options of {@link ingestLog}. */
export interface IngestLogOptions {
  /** Keep reading as the log grows, until `signal` aborts. */
  readonly follow?: boolean;
  readonly signal?: AbortSignal;
  /** How often a followed log is checked for growth, milliseconds (default 250). */
  readonly pollMs?: number;
  /** Bytes read at a time (default 1 MiB). */
  readonly chunkBytes?: number;
  /** Called after each batch is committed, with the totals so far. */
  readonly onCommit?: (progress: LogIngestProgress) => void;
}

const START: SourceCursor = { offset: 0, nextLine: 1 };

/** Room left in a source name for the path: the longest suffix is `#malformed`. */
const PATH_ROOM = MAX_NAME_LENGTH - 'dcgm:'.length - '#malformed'.length;

/**
 * The store's source name of a file: `<kind>:<path>`; a path too long for a name keeps its last characters behind
 * a hash of the whole path, so two long paths never share a name.
 */
export function fileSourceName(kind: 'log' | 'dcgm', path: string): string {
  if (path.length <= PATH_ROOM) return `${kind}:${path}`;
  const hash = createHash('sha256').update(path).digest('hex').slice(0, 16);
  return `${kind}:${hash}…${path.slice(-(PATH_ROOM - hash.length - 1))}`;
}

const further = (a: SourceCursor | undefined, b: SourceCursor | undefined): SourceCursor => {
  const x = a ?? START;
  const y = b ?? START;
  return x.offset <= y.offset ? x : y;
};

function malformedEvent(path: string, line: number, reason: string, text: string): RunEvent {
  return {
    time: Date.now() / 1000,
    kind: 'malformed',
    detail: `${path}:${line}: ${reason}: ${text.length > 200 ? `${text.slice(0, 200)}…` : text}`,
  };
}

/**
 * Ingests the training log at `path` into `store` as `run`: resumes from the store's cursors for the log's sources
 * (`log:<path>`, `log:<path>#malformed`), appends each batch's step samples with their cursor, and its malformed
 * lines as `malformed` events naming file:line and the reason. With `follow` it keeps reading until `signal` aborts.
 */
export async function ingestLog(
  store: TelemetryStore,
  run: string,
  path: string,
  options: IngestLogOptions = {},
): Promise<LogIngestCounts> {
  const stepsSource = fileSourceName('log', path);
  const eventsSource = `${stepsSource}#malformed`;
  let stepsAt = (await store.cursor(run, stepsSource)) ?? START;
  let eventsAt = (await store.cursor(run, eventsSource)) ?? START;
  const from = further(stepsAt, eventsAt);
  const source = createLogFileSource(path, {
    follow: options.follow ?? false,
    ...(options.pollMs !== undefined && { pollMs: options.pollMs }),
    ...(options.chunkBytes !== undefined && { chunkBytes: options.chunkBytes }),
    fromOffset: from.offset,
    fromLine: from.nextLine,
  });
  let samples = 0;
  let malformed = 0;
  let ignored = 0;
  const signal = options.signal;
  for await (const batch of source.steps(signal === undefined ? {} : { signal })) {
    const cursor: SourceCursor = { offset: batch.offset, nextLine: batch.nextLine };
    ignored += batch.ignored;
    if (cursor.offset > stepsAt.offset) {
      const fresh = batch.samples.filter((sample) => sample.line >= stepsAt.nextLine);
      await store.appendSteps(run, stepsSource, fresh, cursor);
      samples += fresh.length;
      stepsAt = cursor;
    }
    if (cursor.offset > eventsAt.offset) {
      const fresh = batch.malformed.filter((line: MalformedStepLine) => line.line >= eventsAt.nextLine);
      await store.appendEvents(
        run,
        eventsSource,
        fresh.map((line) => malformedEvent(path, line.line, `${line.reason} (${line.format})`, line.text)),
        cursor,
      );
      malformed += fresh.length;
      eventsAt = cursor;
    }
    options.onCommit?.({ samples, malformed, ignored, ...cursor });
  }
  return { samples, malformed, ignored };
}

/** What a dcgm ingest stored. */
export interface DcgmIngestCounts {
  /** GPU points appended. */
  readonly points: number;
  /** Malformed lines recorded as events. */
  readonly malformed: number;
  /** Samples left out: not dcgm-exporter's, or naming no GPU (`normaliseDcgm`'s foreign and unattributed). */
  readonly skipped: number;
  /** Lines read. */
  readonly lines: number;
}

/** Options of {@link ingestDcgmFiles}. */
export interface IngestDcgmOptions {
  readonly signal?: AbortSignal;
  /** Bytes read at a time (default 8 MiB, about 50,000 sample lines: one transaction each). */
  readonly chunkBytes?: number;
  /** Called after each chunk is committed, with the totals so far. */
  readonly onCommit?: (progress: DcgmIngestCounts) => void;
}

/** What a label set normalises to, or null for a sample that is not stored. */
type Series = { readonly field: string; readonly gpuKey: string; readonly hostname: string | undefined } | null;

/** A cached label set: the line's text up to its closing `}` and what it normalises to. */
interface Entry {
  readonly prefix: string;
  readonly series: Series;
}

/** Most label sets the cache keeps (a fleet's GPUs × fields is far fewer per file); past it, it starts over. */
const CACHE_LIMIT = 1 << 16;

/** The 0.0.4 sample time stamp: integer milliseconds (src/telemetry/prometheus-text.ts's TIMESTAMP). */
const TIMESTAMP = /^-?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?$/;

/** Powers of ten a double holds exactly (10^0 … 10^22): a decimal's digits divided by one is correctly rounded. */
const TEN = Array.from({ length: 23 }, (_, k) => 10 ** k);

const isBlank = (c: number) => c === 32 || c === 9;

/** A dcgm-exporter line reader: text lines in, GPU points out, with the label-set cache. */
class DcgmLines {
  private readonly cache = new Map<string, Entry>();
  private value = 0;
  private timestamp: number | undefined;
  private eofLine: number | undefined;
  skipped = 0;
  readonly malformed: { line: number; reason: string; text: string }[] = [];

  /** `scrapedAt`: Unix seconds of a sample without a time stamp (the file's modification time). */
  constructor(private readonly scrapedAt: number) {}

  /**
   * A number of `text[i, j)`: plain decimals of up to 15 digits are read digit by digit (an integer below 2^53
   * divided by an exact power of ten is the correctly rounded double, the same as `Number`), anything else by
   * `read`; NaN when `read` refuses it.
   */
  private number(text: string, i: number, j: number, read: (token: string) => number | undefined): number {
    let k = i;
    let negative = false;
    const sign = text.charCodeAt(k);
    if (sign === 45 || sign === 43) {
      negative = sign === 45;
      k++;
    }
    let digits = 0;
    let mantissa = 0;
    let scale = -1;
    for (; k < j; k++) {
      const c = text.charCodeAt(k);
      if (c >= 48 && c <= 57) {
        mantissa = mantissa * 10 + (c - 48);
        digits++;
        if (scale >= 0) scale++;
      } else if (c === 46 && scale < 0) scale = 0;
      else break;
    }
    if (k === j && digits > 0 && digits <= 15) {
      const magnitude = scale > 0 ? mantissa / (TEN[scale] as number) : mantissa;
      return negative ? -magnitude : magnitude;
    }
    return read(text.slice(i, j)) ?? Number.NaN;
  }

  /** Reads the value and optional time stamp in `text[start, end)` (`[ \t]`-separated, as parsePromLine splits). */
  private tail(text: string, start: number, end: number): boolean {
    let i = start;
    while (i < end && isBlank(text.charCodeAt(i))) i++;
    let j = i;
    while (j < end && !isBlank(text.charCodeAt(j))) j++;
    if (j === i) return false;
    const value = this.number(text, i, j, parsePromValue);
    // A NaN that is no `NaN` token is a value parsePromValue refused.
    if (Number.isNaN(value) && parsePromValue(text.slice(i, j)) === undefined) return false;
    while (j < end && isBlank(text.charCodeAt(j))) j++;
    let timestamp: number | undefined;
    if (j < end) {
      let k = j;
      while (k < end && !isBlank(text.charCodeAt(k))) k++;
      const stampEnd = k;
      while (k < end && isBlank(text.charCodeAt(k))) k++;
      if (k < end) return false;
      timestamp = this.number(text, j, stampEnd, (token) => (TIMESTAMP.test(token) ? Number(token) : undefined));
      if (Number.isNaN(timestamp)) return false;
    }
    this.value = value;
    this.timestamp = timestamp;
    return true;
  }

  private emit(entry: Entry, value: number, timestamp: number | undefined, out: GpuPoint[]): void {
    const series = entry.series;
    if (series === null) {
      this.skipped++;
      return;
    }
    // As gpuPointsOf (src/telemetry/dcgm.ts): a 0.0.4 time stamp is in milliseconds.
    out.push({
      time: timestamp === undefined ? this.scrapedAt : timestamp / 1000,
      gpuKey: series.gpuKey,
      hostname: series.hostname,
      field: series.field,
      value,
    });
  }

  /** Reads the line `text[start, end)` (without its `\n`), numbered `line`, into `out`. */
  read(text: string, start: number, stop: number, line: number, out: GpuPoint[]): void {
    const end = stop > start && text.charCodeAt(stop - 1) === 13 ? stop - 1 : stop;
    if (end === start) return;
    const plain = text.charCodeAt(start) !== 35 && this.eofLine === undefined;
    const close = plain ? text.lastIndexOf('}', end - 1) : -1;
    const prefix = close > start ? text.slice(start, close + 1) : undefined;
    if (prefix !== undefined) {
      const known = this.cache.get(prefix);
      if (known !== undefined && this.tail(text, close + 1, end)) {
        this.emit(known, this.value, this.timestamp, out);
        return;
      }
    }
    const raw = text.slice(start, end);
    const parsed = parsePromLine(raw, line);
    if (parsed.kind === 'blank') return;
    if (this.eofLine !== undefined) {
      this.malformed.push({ line, reason: `after # EOF on line ${this.eofLine}`, text: raw });
      return;
    }
    if (parsed.kind === 'eof') this.eofLine = line;
    if (parsed.kind === 'malformed') this.malformed.push({ line, reason: parsed.reason, text: raw });
    if (parsed.kind !== 'sample') return;
    const { sample } = parsed;
    const field = dcgmFieldName(sample.name);
    let series: Series = null;
    if (field !== undefined) {
      const normalised = normaliseDcgmSample(sample, field);
      if (normalised.gpuKey !== undefined) {
        series = { field, gpuKey: normalised.gpuKey, hostname: normalised.gpu.hostname };
      }
    }
    const entry: Entry = { prefix: prefix ?? '', series };
    if (
      prefix !== undefined &&
      !prefix.includes(' # ') &&
      this.tail(text, close + 1, end) &&
      Object.is(this.value, sample.value) &&
      this.timestamp === sample.timestamp
    ) {
      if (this.cache.size >= CACHE_LIMIT) this.cache.clear();
      this.cache.set(prefix, entry);
      this.emit(entry, sample.value, sample.timestamp, out);
      return;
    }
    if (series === null) this.skipped++;
    else
      out.push({
        ...series,
        time: sample.timestamp === undefined ? this.scrapedAt : sample.timestamp / 1000,
        value: sample.value,
      });
  }
}

const NEWLINE = 0x0a;

/**
 * Ingests dcgm-exporter scrape files (Prometheus text 0.0.4, one or many scrapes per file) into `store` as `run`:
 * each file is the source `dcgm:<path>` whose cursor is the bytes read, so a file ingested to its end adds nothing
 * the next time and a file that grew adds only its new lines. Samples without a time stamp take the file's
 * modification time. Malformed lines become `malformed` events (file:line and reason).
 */
export async function ingestDcgmFiles(
  store: TelemetryStore,
  run: string,
  paths: readonly string[],
  options: IngestDcgmOptions = {},
): Promise<DcgmIngestCounts> {
  const chunkBytes = Math.max(4096, options.chunkBytes ?? 8 * 2 ** 20);
  let points = 0;
  let malformed = 0;
  let skipped = 0;
  let lines = 0;
  for (const path of paths) {
    throwIfAborted(options.signal);
    const pointsSource = fileSourceName('dcgm', path);
    const eventsSource = `${pointsSource}#malformed`;
    let pointsAt = (await store.cursor(run, pointsSource)) ?? START;
    let eventsAt = (await store.cursor(run, eventsSource)) ?? START;
    const from = further(pointsAt, eventsAt);
    let handle: Awaited<ReturnType<typeof open>>;
    try {
      handle = await open(path, 'r');
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      throw new TokenworksError(
        code === 'ENOENT' ? 'FILE_NOT_FOUND' : 'FILE_UNREADABLE',
        `cannot read the dcgm scrape file ${path}: ${code}`,
        { file: path },
      );
    }
    // One commit in flight while the next chunk is parsed: DuckDB writes on its own threads meanwhile.
    let inflight: Promise<void> = Promise.resolve();
    try {
      const info = await handle.stat();
      if (info.size < from.offset) {
        throw new TokenworksError(
          'FILE_UNREADABLE',
          `${path} is shorter (${info.size} bytes) than what the store already read of it (${from.offset} bytes): it was truncated or replaced; ingest it into a new run`,
          { file: path },
        );
      }
      const reader = new DcgmLines(info.mtimeMs / 1000);
      const decoder = new TextDecoder('utf-8');
      let offset = from.offset;
      let nextLine = from.nextLine;
      const buffer = Buffer.alloc(chunkBytes);
      let pending: Buffer = Buffer.alloc(0);
      for (;;) {
        throwIfAborted(options.signal);
        const { bytesRead } = await handle.read(buffer, 0, chunkBytes, offset + pending.length);
        const data =
          pending.length === 0
            ? buffer.subarray(0, bytesRead)
            : Buffer.concat([pending, buffer.subarray(0, bytesRead)]);
        if (data.length === 0) break;
        // Complete lines only; at the end of the file a last line without a newline is whole.
        const end = bytesRead === 0 ? data.length - 1 : data.lastIndexOf(NEWLINE);
        if (end < 0) {
          pending = Buffer.from(data);
          continue;
        }
        const complete = data.subarray(0, end + 1);
        pending = Buffer.from(data.subarray(end + 1));
        const text = decoder.decode(complete);
        const out: GpuPoint[] = [];
        const firstLine = nextLine;
        let start = 0;
        let line = nextLine;
        while (start < text.length) {
          let newline = text.indexOf('\n', start);
          if (newline < 0) newline = text.length;
          if (line >= pointsAt.nextLine || line >= eventsAt.nextLine) {
            const before = out.length;
            reader.read(text, start, newline, line, out);
            // A line already stored (a resumed file, behind the points cursor) yields nothing again.
            if (line < pointsAt.nextLine) out.length = before;
          }
          start = newline + 1;
          line++;
        }
        lines += line - firstLine;
        offset += complete.length;
        nextLine = line;
        const cursor: SourceCursor = { offset, nextLine };
        const bad = reader.malformed.splice(0).filter((entry) => entry.line >= eventsAt.nextLine);
        const appendPoints = cursor.offset > pointsAt.offset;
        const appendEvents = cursor.offset > eventsAt.offset;
        await inflight;
        if (appendPoints) {
          points += out.length;
          pointsAt = cursor;
        }
        if (appendEvents) {
          malformed += bad.length;
          eventsAt = cursor;
        }
        const progress = { points, malformed, skipped: skipped + reader.skipped, lines };
        inflight = (async () => {
          if (appendPoints) await store.appendGpuPoints(run, pointsSource, out, cursor);
          if (appendEvents) {
            const events = bad.map((entry) => malformedEvent(path, entry.line, entry.reason, entry.text));
            await store.appendEvents(run, eventsSource, events, cursor);
          }
          options.onCommit?.(progress);
        })();
        // Awaited before the next commit; the no-op handler keeps a failure from counting as unhandled meanwhile.
        inflight.catch(() => undefined);
        if (bytesRead === 0) break;
      }
      await inflight;
      skipped += reader.skipped;
    } finally {
      await inflight.catch(() => undefined);
      await handle.close();
    }
  }
  return { points, malformed, skipped, lines };
}
