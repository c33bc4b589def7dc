/**
 * Ingest from files into a {@link TelemetryStore}: a training log (read once or followed) and dcgm-exporter scrape
 * files, each resumed from the store's cursors so that a restart (even after `kill -9`) reads nothing twice.
 *
 * Each file is two sources of the store: its rows (`log:<path>` steps, `dcgm:<path>` GPU points) and its malformed
 * lines as `malformed` events (`…#malformed`). The port appends one kind of row per transaction, so each kind keeps
 * its own cursor; a resumed ingest reads from the one further behind and keeps, of each batch, only the lines past
 * each kind's own cursor (line numbers say where), so a crash between the two appends of a batch repeats nothing.
 *
 * dcgm scrape files are read as bytes in chunks of complete lines (memory bounded by the chunk, not the file) and
 * committed {@link DCGM_BATCH_POINTS} points at a time, as columns (no object per point) when the store takes them
 * (the DuckDB store). There is one parser: a line the reader has not seen the like of goes through `parsePromLine`,
 * `dcgmFieldName` and `normaliseDcgmSample`; dcgm-exporter repeats each series' name and label set in every scrape,
 * so the label set's bytes are cached with what they normalise to (field, GPU key, host), and a later line that
 * starts with them and ends in a plain `value [stamp]` is read by a byte comparison and two number reads (see
 * {@link DcgmReader}); everything else goes to the parser again. src/node/ingest.test.ts holds the reader to the
 * parser line by line on every shared fixture, emulated scrape files and edge cases. (A design that split and
 * matched the lines in DuckDB SQL (string_split or read_csv, regexp_extract, a join on the label set's text) was
 * measured first: about 1 µs per sample before the insert, over the budget of 1 µs per sample in all.)
 * @module
 */
import { createHash } from 'node:crypto';
import type { GpuPoint, RunEvent, SourceCursor, TelemetryStore } from '../app/ports.js';
import { throwIfAborted } from '../app/ports.js';
import { TokenworksError } from '../errors.js';
import { dcgmFieldName, normaliseDcgmSample } from '../telemetry/dcgm.js';
import { parsePromLine, parsePromValue } from '../telemetry/prometheus-text.js';
import { type MalformedStepLine, MegatronRows } from '../telemetry/step-log.js';
import {
  type GpuBatchSource,
  type GpuPointColumns,
  type GpuSeriesKey,
  holdsStepAppends,
  MAX_NAME_LENGTH,
  takesGpuPointColumns,
} from './duckdb-store.js';
import { openForReading } from './files.js';
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
  /** Bytes read at a time, one transaction each (default {@link LOG_CHUNK_BYTES}). */
  readonly chunkBytes?: number;
  /**
   * Step rows a log read to its end commits at a time at least (default {@link LOG_COMMIT_ROWS}), where the store
   * holds a transaction open across reads; a followed log commits each read.
   */
  readonly commitRows?: number;
  /** Called after each batch is committed, with the totals so far. */
  readonly onCommit?: (progress: LogIngestProgress) => void;
}

/**
 * Bytes of a log read at a time: about 6,000 Megatron lines, their columns (MegatronRows, about 0.12 KB a line) in
 * memory, one buffer and one set of columns refilled by every read. A log read to its end commits
 * {@link LOG_COMMIT_ROWS} rows at a time whatever the reads, so the read's size sets only the memory the reading
 * holds (16 MiB reads, one transaction each, held about 60 MiB more at the peak, bench/observe.mjs); a followed log
 * commits what each read found.
 */
export const LOG_CHUNK_BYTES = 2 * 2 ** 20;

const START: SourceCursor = { offset: 0, nextLine: 1 };

/**
 * Step rows a log read to its end (not followed) commits at a time at least, when the store can hold a transaction
 * open across reads (the DuckDB store's `hold`): more than DuckDB's row group (122,880 rows), so that DuckDB writes
 * each row group into the database file as it fills, instead of logging the rows in its write-ahead log and keeping
 * them in memory until a checkpoint (up to the 64 MB checkpoint threshold: about 90 MB of step rows, the most of the
 * process's memory that grew with the run's length, bench/observe.mjs). The reads stay {@link LOG_CHUNK_BYTES} each.
 */
export const LOG_COMMIT_ROWS = 131_072;

/** Malformed lines a held transaction gathers at most before it commits (with them). */
const HELD_MALFORMED = 4096;

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
    chunkBytes: options.chunkBytes ?? LOG_CHUNK_BYTES,
    // Each batch is appended (its rows copied into DuckDB) before the next is read.
    reuseBuffers: true,
    fromOffset: from.offset,
    fromLine: from.nextLine,
  });
  let samples = 0;
  let malformed = 0;
  let ignored = 0;
  const signal = options.signal;
  // A log read to its end commits LOG_COMMIT_ROWS rows at a time (the store's transaction held open across reads);
  // a followed one commits what each read found, as soon as it is read.
  const holds = options.follow !== true && holdsStepAppends(store);
  /** Rows of the open transaction, and the malformed lines read meanwhile (committed with it). */
  let heldRows = 0;
  let heldMalformed: MalformedStepLine[] = [];
  /** The cursor the held rows end at (their events are committed up to it with them). */
  let heldAt: SourceCursor | undefined;
  const commitEvents = async (cursor: SourceCursor, lines: readonly MalformedStepLine[]) => {
    const fresh = lines.filter((line) => line.line >= eventsAt.nextLine);
    await store.appendEvents(
      run,
      eventsSource,
      fresh.map((line) => malformedEvent(path, line.line, `${line.reason} (${line.format})`, line.text)),
      cursor,
    );
    malformed += fresh.length;
    eventsAt = cursor;
  };
  /** Commits the held rows with their cursor (an append of no rows that ends their transaction). */
  const commitHeld = async (at: SourceCursor) => {
    await store.appendStepSegments?.(run, stepsSource, [], at);
    heldAt = undefined;
  };
  /** Whether a store append is under way (its failure rolled the held rows back: nothing to commit then). */
  let appending = false;
  try {
    for await (const batch of source.steps(signal === undefined ? {} : { signal })) {
      const cursor: SourceCursor = { offset: batch.offset, nextLine: batch.nextLine };
      ignored += batch.ignored;
      let held = false;
      appending = true;
      if (cursor.offset > stepsAt.offset) {
        const from = stepsAt.nextLine;
        if (batch.segments !== undefined && store.appendStepSegments !== undefined) {
          // Rows of lines stored before (a resumed source) are passed over: each segment from its first fresh line.
          const fresh = batch.segments.map((segment) => {
            if (!(segment instanceof MegatronRows)) return segment.filter((sample) => sample.line >= from);
            while (segment.start < segment.count && (segment.lines[segment.start] as number) < from) segment.start++;
            return segment;
          });
          const count = fresh.reduce(
            (sum, segment) => sum + (segment instanceof MegatronRows ? segment.count - segment.start : segment.length),
            0,
          );
          heldRows += count;
          held =
            holds &&
            heldRows < (options.commitRows ?? LOG_COMMIT_ROWS) &&
            heldMalformed.length + batch.malformed.length < HELD_MALFORMED &&
            cursor.offset > eventsAt.offset;
          if (holds) await store.appendStepSegments(run, stepsSource, fresh, cursor, { hold: held });
          else await store.appendStepSegments(run, stepsSource, fresh, cursor);
          samples += count;
        } else {
          const fresh = batch.samples.filter((sample) => sample.line >= from);
          await store.appendSteps(run, stepsSource, fresh, cursor);
          samples += fresh.length;
        }
        stepsAt = cursor;
      }
      if (held) {
        // Committed with the held rows: by the next append that commits, or after the last read.
        appending = false;
        heldMalformed.push(...batch.malformed);
        heldAt = cursor;
        continue;
      }
      heldRows = 0;
      heldAt = undefined;
      const lines = heldMalformed.length > 0 ? [...heldMalformed, ...batch.malformed] : batch.malformed;
      heldMalformed = [];
      if (cursor.offset > eventsAt.offset) await commitEvents(cursor, lines);
      appending = false;
      options.onCommit?.({ samples, malformed, ignored, ...cursor });
    }
    if (heldAt !== undefined) {
      // The rows first, then their malformed lines: two transactions, as every batch of a followed log.
      const at = heldAt;
      appending = true;
      await commitHeld(at);
      await commitEvents(at, heldMalformed);
      appending = false;
      options.onCommit?.({ samples, malformed, ignored, ...at });
    }
  } catch (error) {
    // The reading failed (not the store): the rows read before it are complete, and committed.
    if (heldAt !== undefined && !appending) await commitHeld(heldAt).catch(() => undefined);
    throw error;
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
  /** The samples left out, by metric name (at most {@link MAX_SKIPPED_NAMES} names; the rest under `…`). */
  readonly skippedByName: Readonly<Record<string, number>>;
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
type Series = GpuSeriesKey | null;

/** A cached label set: the line's bytes up to its closing `}`, what it normalises to, and the one that followed it. */
interface Entry {
  readonly prefix: Buffer;
  /** The prefix's bytes as little-endian 32-bit words (its whole words; the last `length % 4` bytes are not in it). */
  readonly words: Int32Array;
  readonly series: Series;
  /** Index of `series` in the reader's series table (-1 for none). */
  readonly index: number;
  /** The metric name, for a label set that is not stored (`series` null). */
  readonly name?: string;
  /** The label set on the line after this one, the last time (the reader's guess for the next line). */
  next: Entry | undefined;
}

/** Most metric names the skipped-sample summary lists. */
export const MAX_SKIPPED_NAMES = 200;

/** Counts a skipped sample under its metric name, the names bounded. */
function countSkipped(byName: Map<string, number>, name: string): void {
  const key = byName.has(name) || byName.size < MAX_SKIPPED_NAMES ? name : '…';
  byName.set(key, (byName.get(key) ?? 0) + 1);
}

/**
 * Lines {@link DcgmReader.read} reads at most a call. A call that returns often is optimized with the feedback of the
 * whole method, once; a call per 8 MiB read (40,000 lines) ran its loop in code compiled on the stack before any
 * call had returned, which deoptimized at each return (a path without feedback), so V8 compiled `read` again in
 * every ingest (about 0.04 CPU-s, bench/observe's 1× dcgm).
 */
export const DCGM_READ_LINES = 4096;

/** Most label sets the cache keeps (a fleet's GPUs × fields is far fewer per file); past it, it starts over. */
const CACHE_LIMIT = 1 << 16;

/**
 * GPU points per commit: more than DuckDB's row group (122,880 rows), so that a commit writes its rows straight into
 * the database file instead of through the write-ahead log (about a third of the cost per point, bench/observe.mjs).
 */
export const DCGM_BATCH_POINTS = 1 << 18;

/** Malformed lines per commit at most (a file of garbage commits its events in bounded batches). */
const MALFORMED_BATCH = 4096;

/** Bytes read between two commits at most, whatever the lines held. */
const COMMIT_BYTES = 64 * 2 ** 20;

/** The 0.0.4 sample time stamp: integer milliseconds (src/telemetry/prometheus-text.ts's TIMESTAMP). */
const TIMESTAMP = /^-?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?$/;
const readStamp = (token: string) => (TIMESTAMP.test(token) ? Number(token) : undefined);

/** Powers of ten a double holds exactly (10^0 … 10^22): a decimal's digits divided by one is correctly rounded. */
const TEN = Array.from({ length: 23 }, (_, k) => 10 ** k);

const NL = 0x0a;
const CR = 0x0d;
const SPACE = 0x20;
const TAB = 0x09;
const HASH = 0x23;
const PLUS = 0x2b;
const MINUS = 0x2d;
const DOT = 0x2e;
const CLOSE = 0x7d;

/** The whole little-endian 32-bit words of `data[start, end)`. */
function wordsOf(data: Buffer, start: number, end: number): Int32Array {
  const view = new DataView(data.buffer, data.byteOffset, data.byteLength);
  const words = new Int32Array((end - start) >> 2);
  for (let w = 0; w < words.length; w++) words[w] = view.getInt32(start + w * 4, true);
  return words;
}

/**
 * Whether `data` holds the entry's prefix at `pos` (the caller checked that it fits): four bytes at a time through
 * `view` (a view of `data`), then the last few. A comparison in JavaScript: `Buffer.compare` of a label set cost
 * more in its argument checks and the call into C++ than in comparing.
 */
function sameBytes(view: DataView, data: Buffer, pos: number, entry: Entry): boolean {
  const { words, prefix } = entry;
  const count = words.length;
  for (let w = 0; w < count; w++) if (view.getInt32(pos + w * 4, true) !== words[w]) return false;
  for (let k = count * 4; k < prefix.length; k++) if (data[pos + k] !== prefix[k]) return false;
  return true;
}

/**
 * A dcgm-exporter line reader over bytes: lines in, GPU points out as columns. Every line the reader has not seen
 * the like of goes through the one parser (`parsePromLine`, then `dcgmFieldName` and `normaliseDcgmSample`); its
 * label set (the bytes up to the closing `}`) is then cached with what it normalises to, but only when the quick read
 * of the line's value and time stamp gives exactly what the parser gave. A later line that starts with a cached label
 * set and ends in a plain `value [stamp]` costs a byte comparison and two number reads: the label set expected first
 * is the one that followed the previous line's the last time (dcgm-exporter writes its series in the same order every
 * scrape), so most lines are matched without decoding or hashing them. Anything else goes to the parser again.
 */
class DcgmReader {
  /**
   * One reader kept for the module's life (capacity 0: it holds no batch), so that the readers' hidden class outlives
   * every ingest: when the last reader died, the next full GC dropped that class and deoptimized every reader method
   * compiled for it, and the next ingest compiled them again (about 0.1 CPU-s: a third of bench/observe's 1× dcgm).
   */
  static readonly keepShape = new DcgmReader(Number.NaN, 0);
  private readonly cache = new Map<string, Entry>();
  /** `#` lines the parser read as comments, HELP, TYPE or UNIT: the same text reads the same again. */
  private readonly comments = new Set<string>();
  private readonly seriesIndexes = new Map<string, number>();
  private readonly decoder = new TextDecoder('utf-8');
  /** Every series met, indexed by the points' `seriesIndex`. */
  readonly series: GpuSeriesKey[] = [];
  private previous: Entry | undefined;
  private predicted: Entry | undefined;
  private eofLine: number | undefined;
  // NaN, not 0, for the number fields: a double from the start (a field first 0, then 1.5, changes the reader's hidden
  // class, and {@link keepShape} would keep the one no reader has).
  private value = Number.NaN;
  /**
   * The line's time stamp, when `stamped` (kept as two fields: a field that holds a number or undefined boxes every
   * number stored in it, an allocation per line).
   */
  private timestamp = Number.NaN; // a double from the start, as `value`
  private stamped = false;
  /** The number {@link readToken} read last. */
  private token = Number.NaN; // a double from the start, as `value`
  skipped = 0;
  readonly skippedByName = new Map<string, number>();
  readonly malformed: { line: number; reason: string; text: string }[] = [];
  length = 0;
  private seriesIndex: Int32Array;
  private time: Float64Array;
  private values: Float64Array;
  private spare: Pick<GpuPointColumns, 'seriesIndex' | 'time' | 'value'> | undefined;

  /** `scrapedAt`: Unix seconds of a sample without a time stamp (the file's modification time). */
  constructor(
    private scrapedAt: number,
    private readonly capacity: number,
  ) {
    this.seriesIndex = new Int32Array(capacity);
    this.time = new Float64Array(capacity);
    this.values = new Float64Array(capacity);
  }

  /** Starts the next file (the batch and the label sets carry over): `scrapedAt` is its modification time. */
  startFile(scrapedAt: number): void {
    this.scrapedAt = scrapedAt;
    this.eofLine = undefined;
    this.previous = undefined;
    this.predicted = undefined;
  }

  /** Whether the batch should be committed before the next line. */
  get full(): boolean {
    return this.length >= this.capacity || this.malformed.length >= MALFORMED_BATCH;
  }

  /**
   * The batch's points as columns; the reader starts a new batch in the other set of arrays (two sets: one being
   * committed while the other fills; the caller awaits a commit before taking the next batch).
   */
  take(): GpuPointColumns {
    const columns = {
      length: this.length,
      series: this.series,
      seriesIndex: this.seriesIndex,
      time: this.time,
      value: this.values,
    };
    if (this.length > 0) {
      const spare = this.spare ?? {
        seriesIndex: new Int32Array(this.capacity),
        time: new Float64Array(this.capacity),
        value: new Float64Array(this.capacity),
      };
      this.spare = columns;
      this.seriesIndex = spare.seriesIndex;
      this.time = spare.time;
      this.values = spare.value;
    }
    this.length = 0;
    return columns;
  }

  private push(index: number, time: number, value: number): void {
    const at = this.length++;
    this.seriesIndex[at] = index;
    this.time[at] = time;
    this.values[at] = value;
  }

  private indexOf(series: GpuSeriesKey): number {
    const key = `${series.field}\0${series.gpuKey}\0${series.hostname ?? ''}`;
    let index = this.seriesIndexes.get(key);
    if (index === undefined) {
      index = this.series.length;
      this.series.push(series);
      this.seriesIndexes.set(key, index);
    }
    return index;
  }

  /**
   * A number of `data[i, j)` that is not a plain decimal of up to 15 digits (those {@link readToken} reads itself):
   * an ASCII token read by `read`; undefined when `read` refuses it or the token is not ASCII (the parser decides).
   */
  private number(data: Buffer, i: number, j: number, read: (token: string) => number | undefined): number | undefined {
    for (let m = i; m < j; m++) if ((data[m] as number) >= 0x80) return undefined;
    return read(data.toString('latin1', i, j));
  }

  /**
   * Reads the number token at `data[i]` (up to a blank, `\r`, `\n` or `limit`) into {@link token}, returning its
   * end, or -1 for an empty token or one that is no number. A plain decimal of up to 15 digits is read as it is
   * scanned (an integer below 2^53 divided by an exact power of ten is the correctly rounded double, the same as
   * `Number`); any other token goes to {@link number}.
   */
  private readToken(
    data: Buffer,
    i: number,
    limit: number,
    plus: boolean,
    read: (token: string) => number | undefined,
  ): number {
    let k = i;
    let negative = false;
    let c = k < limit ? (data[k] as number) : -1;
    if (c === MINUS || (plus && c === PLUS)) {
      negative = c === MINUS;
      k++;
    }
    let digits = 0;
    let mantissa = 0;
    let scale = -1;
    for (; k < limit; k++) {
      c = data[k] as number;
      if (c >= 48 && c <= 57) {
        mantissa = mantissa * 10 + (c - 48);
        digits++;
        if (scale >= 0) scale++;
      } else if (c === DOT && scale < 0) scale = 0;
      else break;
    }
    if (k === limit || c === SPACE || c === TAB || c === CR || c === NL) {
      if (k === i) return -1;
      if (digits > 0 && digits <= 15) {
        const magnitude = scale > 0 ? mantissa / (TEN[scale] as number) : mantissa;
        this.token = negative ? -magnitude : magnitude;
        return k;
      }
    } else {
      for (; k < limit; k++) {
        c = data[k] as number;
        if (c === SPACE || c === TAB || c === CR || c === NL) break;
      }
    }
    const number = this.number(data, i, k, read);
    if (number === undefined) return -1;
    this.token = number;
    return k;
  }

  /**
   * Reads `[ \t]*value([ \t]+stamp)?[ \t]*\r?` from `data[i]` to the line's end (its `\n`, or `limit`), as
   * parsePromLine splits it; the index of that end, or -1 for a tail that is anything else.
   */
  private tail(data: Buffer, start: number, limit: number): number {
    let i = start;
    while (i < limit && (data[i] === SPACE || data[i] === TAB)) i++;
    const j = this.readToken(data, i, limit, true, parsePromValue);
    if (j < 0) return -1;
    const value = this.token;
    let k = j;
    while (k < limit && (data[k] === SPACE || data[k] === TAB)) k++;
    let timestamp = 0;
    let stamped = false;
    if (k < limit && data[k] !== CR && data[k] !== NL) {
      const m = this.readToken(data, k, limit, false, readStamp);
      if (m < 0) return -1;
      timestamp = this.token;
      stamped = true;
      k = m;
      while (k < limit && (data[k] === SPACE || data[k] === TAB)) k++;
    }
    if (k < limit && data[k] === CR) k++;
    if (k < limit && data[k] !== NL) return -1;
    this.value = value;
    this.timestamp = timestamp;
    this.stamped = stamped;
    return k;
  }

  /** A line of a cached label set, its value and stamp read into `value` and `timestamp`. */
  private emit(entry: Entry): void {
    if (this.previous !== undefined && this.previous.next !== entry) this.previous.next = entry;
    this.previous = entry;
    this.predicted = entry.next;
    if (entry.series === null) {
      this.skipped++;
      countSkipped(this.skippedByName, entry.name ?? '');
      return;
    }
    // As gpuPointsOf (src/telemetry/dcgm.ts): a 0.0.4 time stamp is in milliseconds.
    this.push(entry.index, this.stamped ? this.timestamp / 1000 : this.scrapedAt, this.value);
  }

  /**
   * Reads the lines of `data[pos, limit)` (complete lines; at the end of the file the last one may lack its `\n`),
   * the first numbered `line`, until the batch is {@link full} or {@link DCGM_READ_LINES} lines are read: lines
   * below `skipBelow` are passed over, and those below `pointsFrom` yield no points (they were stored before).
   * Returns where it stopped and the next line number.
   */
  read(
    data: Buffer,
    start: number,
    limit: number,
    firstLine: number,
    skipBelow: number,
    pointsFrom: number,
  ): { pos: number; line: number } {
    let pos = start;
    let line = firstLine;
    const view = new DataView(data.buffer, data.byteOffset, data.byteLength);
    // At most DCGM_READ_LINES lines a call (the caller calls again): see DCGM_READ_LINES.
    const lastLine = firstLine + DCGM_READ_LINES;
    while (pos < limit && line < lastLine && !this.full) {
      if (line < skipBelow) {
        const newline = data.indexOf(NL, pos);
        pos = newline < 0 || newline >= limit ? limit : newline + 1;
        line++;
        continue;
      }
      const entry = this.predicted;
      if (entry !== undefined && line >= pointsFrom && this.eofLine === undefined) {
        const length = entry.prefix.length;
        if (pos + length <= limit && data[pos + length - 1] === CLOSE && sameBytes(view, data, pos, entry)) {
          const end = this.tail(data, pos + length, limit);
          if (end >= 0) {
            this.emit(entry);
            pos = end + 1;
            line++;
            continue;
          }
        }
      }
      let stop = data.indexOf(NL, pos);
      if (stop < 0 || stop > limit) stop = limit;
      if (line >= pointsFrom) this.line(data, pos, stop, line);
      else {
        // A line already stored (a resumed file, behind the points cursor) yields nothing again.
        const before = this.length;
        this.line(data, pos, stop, line);
        this.length = before;
      }
      pos = stop + 1;
      line++;
    }
    return { pos: Math.min(pos, limit), line };
  }

  /** Reads the line `data[start, stop)` (without its `\n`), numbered `line`, through the cache or the parser. */
  private line(data: Buffer, start: number, stop: number, line: number): void {
    const end = stop > start && data[stop - 1] === CR ? stop - 1 : stop;
    if (end === start) return;
    const plain = data[start] !== HASH && this.eofLine === undefined;
    let close = -1;
    if (plain) {
      for (let k = end - 1; k > start; k--) {
        if (data[k] === CLOSE) {
          close = k;
          break;
        }
      }
    }
    const prefix = close > start ? this.decoder.decode(data.subarray(start, close + 1)) : undefined;
    if (prefix !== undefined) {
      const known = this.cache.get(prefix);
      if (known !== undefined && this.tail(data, close + 1, stop) === stop) {
        this.emit(known);
        return;
      }
    }
    const raw = this.decoder.decode(data.subarray(start, end));
    if (this.eofLine === undefined && data[start] === HASH && this.comments.has(raw)) return;
    const parsed = parsePromLine(raw, line);
    if (parsed.kind === 'blank') return;
    if (this.eofLine !== undefined) {
      this.malformed.push({ line, reason: `after # EOF on line ${this.eofLine}`, text: raw });
      return;
    }
    if (parsed.kind === 'eof') {
      this.eofLine = line;
      this.predicted = undefined;
      return;
    }
    if (parsed.kind === 'malformed') {
      this.malformed.push({ line, reason: parsed.reason, text: raw });
      return;
    }
    if (parsed.kind !== 'sample') {
      if (data[start] === HASH && this.comments.size < CACHE_LIMIT) this.comments.add(raw);
      return;
    }
    const { sample } = parsed;
    const field = dcgmFieldName(sample.name);
    let series: Series = null;
    if (field !== undefined) {
      const normalised = normaliseDcgmSample(sample, field);
      if (normalised.gpuKey !== undefined) {
        series = { field, gpuKey: normalised.gpuKey, hostname: normalised.gpu.hostname };
      }
    }
    const index = series === null ? -1 : this.indexOf(series);
    if (
      prefix !== undefined &&
      !prefix.includes(' # ') &&
      this.tail(data, close + 1, stop) === stop &&
      Object.is(this.value, sample.value) &&
      (this.stamped ? this.timestamp === sample.timestamp : sample.timestamp === undefined)
    ) {
      if (this.cache.size >= CACHE_LIMIT) this.cache.clear();
      const entry: Entry = {
        prefix: Buffer.from(data.subarray(start, close + 1)),
        words: wordsOf(data, start, close + 1),
        series,
        index,
        ...(series === null && { name: sample.name }),
        next: undefined,
      };
      this.cache.set(prefix, entry);
      this.emit(entry);
      return;
    }
    if (series === null) {
      this.skipped++;
      countSkipped(this.skippedByName, sample.name);
    } else this.push(index, sample.timestamp === undefined ? this.scrapedAt : sample.timestamp / 1000, sample.value);
  }
}

/** Columns as GPU points, for a store that takes no columns. */
function pointsOf(columns: GpuPointColumns): GpuPoint[] {
  const points: GpuPoint[] = [];
  for (let i = 0; i < columns.length; i++) {
    const series = columns.series[columns.seriesIndex[i] as number] as GpuSeriesKey;
    points.push({
      time: columns.time[i] as number,
      gpuKey: series.gpuKey,
      ...(series.hostname !== undefined && { hostname: series.hostname }),
      field: series.field,
      value: columns.value[i] as number,
    });
  }
  return points;
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
  // Small files share a batch: their points, events and cursors commit in one transaction (appendGpuBatch).
  const batched = takesGpuPointColumns(store);
  // NaN (each file sets its own): a double, as the file times it will hold (see DcgmReader.keepShape).
  const reader = new DcgmReader(Number.NaN, DCGM_BATCH_POINTS);
  // One read buffer for every file (the reader keeps no view of it): a fresh one per file cost its page faults.
  let buffer = Buffer.allocUnsafe(chunkBytes);
  /** The cursors (and events) of the batch being read, by source. */
  const pending = new Map<string, GpuBatchSource>();
  // One commit in flight while the next lines are read: DuckDB writes on its own threads meanwhile.
  let inflight: Promise<void> = Promise.resolve();
  const submit = async () => {
    if (pending.size === 0) return;
    const columns = reader.take();
    const sources = [...pending.values()];
    pending.clear();
    await inflight;
    points += columns.length;
    for (const entry of sources) malformed += entry.events?.length ?? 0;
    const progress = {
      points,
      malformed,
      skipped: skipped + reader.skipped,
      skippedByName: Object.fromEntries(reader.skippedByName),
      lines,
    };
    inflight = (async () => {
      if (batched) await store.appendGpuBatch(run, { columns, sources });
      else {
        for (const entry of sources) {
          if (entry.events === undefined)
            await store.appendGpuPoints(run, entry.source, pointsOf(columns), entry.cursor);
          else await store.appendEvents(run, entry.source, entry.events, entry.cursor);
        }
      }
      options.onCommit?.(progress);
    })();
    // Awaited before the next commit; the no-op handler keeps a failure from counting as unhandled meanwhile.
    inflight.catch(() => undefined);
  };
  try {
    for (const path of paths) {
      throwIfAborted(options.signal);
      const pointsSource = fileSourceName('dcgm', path);
      const eventsSource = `${pointsSource}#malformed`;
      let pointsAt = (await store.cursor(run, pointsSource)) ?? START;
      let eventsAt = (await store.cursor(run, eventsSource)) ?? START;
      const from = further(pointsAt, eventsAt);
      const handle = await openForReading(path, 'the dcgm scrape file');
      try {
        const info = await handle.stat();
        if (info.size < from.offset) {
          throw new TokenworksError(
            'FILE_UNREADABLE',
            `${path} is shorter (${info.size} bytes) than what the store already read of it (${from.offset} bytes): it was truncated or replaced; ingest it into a new run`,
            { file: path },
          );
        }
        reader.startFile(info.mtimeMs / 1000);
        let committed = from.offset;
        /** Adds this file's cursors (and malformed lines) to the batch; commits it when `now` (or unbatched). */
        const commit = async (cursor: SourceCursor, now: boolean) => {
          const bad = reader.malformed.splice(0).filter((entry) => entry.line >= eventsAt.nextLine);
          if (cursor.offset > pointsAt.offset) {
            pending.set(pointsSource, { source: pointsSource, cursor });
            pointsAt = cursor;
          }
          if (cursor.offset > eventsAt.offset) {
            const events = bad.map((entry) => malformedEvent(path, entry.line, entry.reason, entry.text));
            pending.set(eventsSource, { source: eventsSource, cursor, events });
            eventsAt = cursor;
          }
          committed = cursor.offset;
          if (now || !batched) await submit();
        };
        /** Bytes of `buffer` filled; `buffer[0]` is the file's byte `offset`. */
        let have = 0;
        let offset = from.offset;
        let nextLine = from.nextLine;
        for (;;) {
          throwIfAborted(options.signal);
          if (have === buffer.length) {
            // A line longer than the buffer: make room for the rest of it.
            const larger = Buffer.allocUnsafe(buffer.length * 2);
            buffer.copy(larger, 0, 0, have);
            buffer = larger;
          }
          const { bytesRead } = await handle.read(buffer, have, buffer.length - have, offset + have);
          have += bytesRead;
          const end = bytesRead === 0;
          const data = buffer.subarray(0, have);
          // Complete lines only; at the end of the file a last line without a newline is whole.
          const limit = end ? have : data.lastIndexOf(NEWLINE) + 1;
          let pos = 0;
          while (pos < limit) {
            const read = reader.read(
              data,
              pos,
              limit,
              nextLine,
              Math.min(pointsAt.nextLine, eventsAt.nextLine),
              pointsAt.nextLine,
            );
            lines += read.line - nextLine;
            pos = read.pos;
            nextLine = read.line;
            if (reader.full) await commit({ offset: offset + pos, nextLine }, true);
          }
          buffer.copy(buffer, 0, pos, have);
          have -= pos;
          offset += pos;
          if (offset - committed >= COMMIT_BYTES) await commit({ offset, nextLine }, true);
          if (end) break;
        }
        if (offset > committed) await commit({ offset, nextLine }, false);
      } finally {
        await handle.close();
      }
    }
    await submit();
    await inflight;
  } finally {
    await inflight.catch(() => undefined);
  }
  skipped += reader.skipped;
  return { points, malformed, skipped, skippedByName: Object.fromEntries(reader.skippedByName), lines };
}
