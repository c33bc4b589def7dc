/**
 * A streaming parser of training-log step lines: text goes in by chunks, typed step samples come out, and a line
 * that looks like a step line but cannot be read is counted as malformed with its line number. Never throws.
 *
 * Formats (docs/research operate.md §1.5):
 * - **Megatron-LM**, `megatron/training/training.py` `training_log`, printed by the last rank every `--log-interval`:
 *   ` [YYYY-mm-dd HH:MM:SS[.ffffff]] iteration {it:8d}/{train_iters:8d} | consumed samples: {n} |
 *   elapsed time per iteration (ms): {x:.1f} | [throughput per GPU (TFLOP/s/GPU): {t:.1f} |] learning rate: {lr:.6E} |
 *   global batch size: {gbs:5d} | {loss name}: {v:.6E} | … | loss scale: {s:.1f} | [grad norm: {g:.3f} |] …
 *   number of skipped iterations: {k:3d} | number of nan iterations: {k:3d} |` (one physical line). The elapsed time
 *   is the mean over the log interval.
 * - **NeMo 2 / Megatron-Bridge** (Lightning progress logger): `Training epoch 0, iteration 74/99 | lr: 1.124e-05 |
 *   global_batch_size: 128 | global_step: 74 | reduced_train_loss: 11.87 | train_step_timing in s: 8.768 |
 *   [TFLOPS_per_GPU: 865.7 |] [tokens_per_sec_per_gpu: 1.073e+04 |] consumed_samples: 9600`; NeMo 1 printed the same
 *   keys as `key=value` in a tqdm bar (`…, train_step_timing in s=0.615]`).
 * - **torchtitan**, `torchtitan/components/metrics.py` (colour codes stripped): `step: 20  loss: 11.83506
 *   grad_norm:  9.6669  memory: 48.87GiB(51.44%)  tps: 4,376  tflops: 253.41  mfu: 25.62%` (`mfu: N/A` under FP8);
 *   it prints no step time.
 * - **Plain step records** `step,time,tokens|samples,loss`: a CSV with that header line (the third column named
 *   `tokens` or `samples`; columns in any order, only `step` required), or JSON lines with those keys. `time` is the
 *   step's duration in seconds.
 * Any other line (warnings, banners) is ignored and counted.
 *
 * Pure: no Node APIs.
 * @module
 */
import type { StepPoint } from './megatron-ci.js';

/** Which log dialect a step line was read as. */
export type StepLogFormat = 'megatron' | 'nemo' | 'torchtitan' | 'csv' | 'jsonl';

/** One training step (or log interval) read from a log line. Fields the line did not carry are absent. */
export interface StepSample {
  readonly format: StepLogFormat;
  /** 1-based line number in the stream. */
  readonly line: number;
  readonly step: number;
  /** Seconds per iteration (Megatron: the log interval's mean). */
  readonly iterationSeconds?: number;
  readonly loss?: number;
  /** The run's total iterations (Megatron's `/ train_iters`, NeMo's `/ max`). */
  readonly trainIterations?: number;
  /** Time stamp as printed (Megatron). */
  readonly timestamp?: string;
  readonly consumedSamples?: number;
  readonly tokens?: number;
  readonly learningRate?: number;
  readonly globalBatchSize?: number;
  readonly tflopsPerGpu?: number;
  /** Tokens per second per device (torchtitan `tps`, NeMo `tokens_per_sec_per_gpu`). */
  readonly tokensPerSecondPerGpu?: number;
  readonly gradNorm?: number;
  readonly mfuPercent?: number;
  readonly memoryGiB?: number;
  readonly skippedIterations?: number;
  readonly nanIterations?: number;
  /** Every numeric field of the line, by its name as printed. */
  readonly fields: Readonly<Record<string, number>>;
}

/** A line that looked like a step line of some format but could not be read. */
export interface MalformedStepLine {
  readonly line: number;
  readonly text: string;
  readonly format: StepLogFormat;
  readonly reason: string;
}

/** What one line was. */
export type StepLineResult =
  | { readonly kind: 'step'; readonly sample: StepSample }
  | { readonly kind: 'malformed'; readonly malformed: MalformedStepLine }
  | { readonly kind: 'header' }
  | { readonly kind: 'ignored' };

/** A whole log read: samples in order, malformed lines, and the count of lines that were no step line. */
export interface StepLog {
  readonly samples: StepSample[];
  readonly malformed: MalformedStepLine[];
  readonly ignored: number;
}

type Mutable<T> = { -readonly [K in keyof T]: T[K] };
type Draft = Mutable<Omit<StepSample, 'fields'>> & { fields: Record<string, number> };

/** A number as these logs print it: decimal, exponent, thousands commas (torchtitan), `nan`/`inf`. */
export function parseLogNumber(text: string): number | undefined {
  const trimmed = text.trim();
  const bare = trimmed.includes(',') ? trimmed.replace(/,/g, '') : trimmed;
  if (/^[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?$/.test(bare)) return Number(bare);
  if (/^[+-]?nan$/i.test(bare)) return Number.NaN;
  if (/^[+-]?inf(?:inity)?$/i.test(bare)) return bare.startsWith('-') ? -Infinity : Infinity;
  return undefined;
}

const ESCAPE = String.fromCharCode(27);
const ANSI = new RegExp(`${ESCAPE}\\[[0-9;]*m`, 'g');
const MEGATRON = /(?:\[(\d{4}-\d\d-\d\d[ T]\d\d:\d\d:\d\d(?:\.\d+)?)\]\s*)?\biteration\s+(\d+)\s*\/\s*(\d+)\s*\|(.*)$/;
const MEGATRON_HINT = /\biteration\s+\d+\s*\//;
const NEMO2 = /Training epoch\s+\d+,\s*iteration\s+(\d+)\s*\/\s*(\d+)\s*\|(.*)$/;
const NEMO_HINT = /Training epoch\s+\d+,\s*iteration/;
const TITAN = /\bstep:\s*(\d+)\s+loss:/;
const CSV_COLUMNS = new Set(['step', 'time', 'tokens', 'samples', 'loss']);

/** Fills typed fields from `key: value` pairs by the key names each format prints. */
const MEGATRON_KEYS: Readonly<Record<string, (draft: Draft, value: number) => void>> = {
  'consumed samples': (d, v) => {
    d.consumedSamples = v;
  },
  'elapsed time per iteration (ms)': (d, v) => {
    d.iterationSeconds = v / 1000;
  },
  'throughput per GPU (TFLOP/s/GPU)': (d, v) => {
    d.tflopsPerGpu = v;
  },
  'learning rate': (d, v) => {
    d.learningRate = v;
  },
  'global batch size': (d, v) => {
    d.globalBatchSize = v;
  },
  'lm loss': (d, v) => {
    d.loss = v;
  },
  'grad norm': (d, v) => {
    d.gradNorm = v;
  },
  'number of skipped iterations': (d, v) => {
    d.skippedIterations = v;
  },
  'number of nan iterations': (d, v) => {
    d.nanIterations = v;
  },
};

const NEMO_KEYS: Readonly<Record<string, (draft: Draft, value: number) => void>> = {
  lr: (d, v) => {
    d.learningRate = v;
  },
  global_batch_size: (d, v) => {
    d.globalBatchSize = v;
  },
  reduced_train_loss: (d, v) => {
    d.loss = v;
  },
  'train_step_timing in s': (d, v) => {
    d.iterationSeconds = v;
  },
  TFLOPS_per_GPU: (d, v) => {
    d.tflopsPerGpu = v;
  },
  tokens_per_sec_per_gpu: (d, v) => {
    d.tokensPerSecondPerGpu = v;
  },
  consumed_samples: (d, v) => {
    d.consumedSamples = v;
  },
};

type Parsed = StepSample | string;

const isBlank = (c: number) => c === 32 || c === 9;
const isDigit = (c: number) => c >= 48 && c <= 57;

/** Powers of ten a double holds exactly (10^0 … 10^22). */
const TEN = Array.from({ length: 23 }, (_, k) => 10 ** k);

/**
 * `Number(text.slice(i, j))` of a decimal {@link decimalEnd} accepted: up to 15 digits without an exponent are read
 * digit by digit (an integer below 2^53 divided by an exact power of ten is the correctly rounded double, as
 * `Number` gives), anything else by `Number`.
 */
function decimalValue(text: string, i: number, j: number): number {
  let k = i;
  const sign = text.charCodeAt(k);
  if (sign === 43 || sign === 45) k++;
  let mantissa = 0;
  let digits = 0;
  let scale = -1;
  for (; k < j; k++) {
    const c = text.charCodeAt(k);
    if (isDigit(c)) {
      mantissa = mantissa * 10 + (c - 48);
      digits++;
      if (scale >= 0) scale++;
    } else if (c === 46) scale = 0;
    else return Number(text.slice(i, j));
  }
  if (digits > 15) return Number(text.slice(i, j));
  const magnitude = scale > 0 ? mantissa / (TEN[scale] as number) : mantissa;
  return sign === 45 ? -magnitude : magnitude;
}

/**
 * The end of a plain decimal `[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?` starting at `text[i]` (parseLogNumber's form
 * without commas), or -1 when none starts there.
 */
function decimalEnd(text: string, i: number, end: number): number {
  let k = i;
  let c = text.charCodeAt(k);
  if (c === 43 || c === 45) c = text.charCodeAt(++k);
  let digits = 0;
  while (k < end && isDigit(c)) {
    digits++;
    c = text.charCodeAt(++k);
  }
  if (k < end && c === 46) {
    c = text.charCodeAt(++k);
    while (k < end && isDigit(c)) {
      digits++;
      c = text.charCodeAt(++k);
    }
  }
  if (digits === 0) return -1;
  if (k < end && (c === 101 || c === 69)) {
    c = text.charCodeAt(++k);
    if (c === 43 || c === 45) c = text.charCodeAt(++k);
    const first = k;
    while (k < end && isDigit(c)) c = text.charCodeAt(++k);
    if (k === first) return -1;
  }
  return k;
}

type Setter = (draft: Draft, value: number) => void;

/** The keys {@link barKey} read last, by their place on the line, with their table and typed-field setter. */
const lastKeys: string[] = [];
const lastTables: (Readonly<Record<string, Setter>> | undefined)[] = [];
const lastSetters: (Setter | undefined)[] = [];

/** Whether `c` is a character no `trim` removes and not ASCII blank (printable ASCII). */
const isPrintable = (c: number) => c > 32 && c < 127;

/**
 * `rest.slice(start, colon).trim()`, the `field`-th key of the line: when it is the key the line before had at this
 * place (consecutive lines print the same keys) that same string, with no new string to slice, trim and intern.
 * Notes the key's setter in `keys` at {@link lastSetters}.
 */
function barKey(
  rest: string,
  start: number,
  colon: number,
  field: number,
  keys: Readonly<Record<string, Setter>>,
): string {
  let from = start;
  let to = colon;
  while (from < to && isBlank(rest.charCodeAt(from))) from++;
  while (to > from && isBlank(rest.charCodeAt(to - 1))) to--;
  const last = lastKeys[field];
  if (
    last !== undefined &&
    last.length === to - from &&
    lastTables[field] === keys &&
    // Ends that trim keeps: the key between them is what trim gives.
    isPrintable(rest.charCodeAt(from)) &&
    isPrintable(rest.charCodeAt(to - 1)) &&
    rest.startsWith(last, from)
  ) {
    return last;
  }
  const key = rest.slice(start, colon).trim();
  template = undefined;
  lastKeys[field] = key;
  lastTables[field] = keys;
  lastSetters[field] = Object.hasOwn(keys, key) ? keys[key] : undefined;
  return key;
}

/** The values of the line's fields, by their place ({@link lastKeys} their keys). */
const lineValues: number[] = [];
/** A `fields` of the last line that read keys {@link lastKeys} (`count` of them) without a new one, to clone. */
let template: Record<string, number> | undefined;
let templateCount = 0;

/**
 * The `fields` of a line whose `count` keys are {@link lastKeys} and values {@link lineValues}: a clone of the last
 * such line's object when its keys were the same (one allocation of the right shape), else built key by key.
 */
function barFields(count: number): Record<string, number> {
  if (template !== undefined && templateCount === count) {
    const fields = { ...template };
    for (let k = 0; k < count; k++) fields[lastKeys[k] as string] = lineValues[k] as number;
    return fields;
  }
  const fields: Record<string, number> = {};
  for (let k = 0; k < count; k++) fields[lastKeys[k] as string] = lineValues[k] as number;
  template = fields;
  templateCount = count;
  return fields;
}

/**
 * Reads the `| key: value |` fields of a Megatron or NeMo 2 line into `draft` (every one into `fields`, the known
 * keys into their typed fields); the reason when one cannot be read. The same as splitting on `|`, cutting each part
 * at its last `:` and reading the value with {@link parseLogNumber}, with the plain decimals read in place.
 */
function readBarFields(
  rest: string,
  draft: Draft,
  keys: Readonly<Record<string, (draft: Draft, value: number) => void>>,
): string | undefined {
  let start = 0;
  let field = 0;
  for (;;) {
    let bar = rest.indexOf('|', start);
    if (bar < 0) bar = rest.length;
    let colon = bar - 1;
    while (colon >= start && rest.charCodeAt(colon) !== 58) colon--;
    if (colon < start) {
      const part = rest.slice(start, bar);
      if (part.trim() !== '') return `field without ':' ('${part.trim()}')`;
    } else {
      const key = barKey(rest, start, colon, field++, keys);
      let i = colon + 1;
      while (i < bar && isBlank(rest.charCodeAt(i))) i++;
      const stop = i < bar ? decimalEnd(rest, i, bar) : -1;
      let j = stop;
      while (j >= 0 && j < bar && isBlank(rest.charCodeAt(j))) j++;
      const value = j === bar ? decimalValue(rest, i, stop) : parseLogNumber(rest.slice(colon + 1, bar));
      if (value === undefined) return `bad number for '${key}': '${rest.slice(colon + 1, bar).trim()}'`;
      lineValues[field - 1] = value;
      (lastSetters[field - 1] as Setter | undefined)?.(draft, value);
    }
    if (bar === rest.length) {
      draft.fields = barFields(field);
      return undefined;
    }
    start = bar + 1;
  }
}

function parseMegatron(text: string, line: number): Parsed {
  const match = MEGATRON.exec(text);
  if (match === null) return 'iteration header without "| field: value" fields';
  const [, timestamp, iteration, total, rest = ''] = match;
  const draft: Draft = {
    format: 'megatron',
    line,
    step: Number(iteration),
    trainIterations: Number(total),
    fields: {},
  };
  if (timestamp !== undefined) draft.timestamp = timestamp;
  const error = readBarFields(rest, draft, MEGATRON_KEYS);
  if (error !== undefined) return error;
  if (draft.iterationSeconds === undefined) return "no 'elapsed time per iteration (ms)' field";
  // A loss under another name (`lm loss` is the usual one): the first `… loss` field that is not the loss scale.
  if (draft.loss === undefined) {
    const other = Object.keys(draft.fields).find((key) => / loss$/.test(key));
    if (other !== undefined) draft.loss = draft.fields[other];
  }
  return draft;
}

function parseNemo2(text: string, line: number): Parsed {
  const match = NEMO2.exec(text);
  if (match === null) return 'NeMo iteration header without "| key: value" fields';
  const [, iteration, total, rest = ''] = match;
  const draft: Draft = { format: 'nemo', line, step: Number(iteration), trainIterations: Number(total), fields: {} };
  return readBarFields(rest, draft, NEMO_KEYS) ?? draft;
}

function parseNemo1(text: string, line: number): Parsed {
  // tqdm redraws with '\r': read the last bar on the line, the one inside its last [...].
  const open = text.lastIndexOf('[', text.indexOf('train_step_timing in s=', text.lastIndexOf('\r') + 1));
  const close = text.indexOf(']', open);
  if (open < 0) return 'tqdm bar without [...]';
  const body = text.slice(open + 1, close < 0 ? undefined : close);
  const draft: Draft = { format: 'nemo', line, step: Number.NaN, fields: {} };
  for (const part of body.split(',')) {
    const equals = part.lastIndexOf('=');
    if (equals < 0) continue; // the elapsed<remaining, it/s part
    const key = part.slice(0, equals).trim();
    const value = parseLogNumber(part.slice(equals + 1).replace(/[a-zA-Z/]+$/, ''));
    if (value === undefined) return `bad number for '${key}': '${part.slice(equals + 1).trim()}'`;
    draft.fields[key] = value;
    NEMO_KEYS[key]?.(draft, value);
  }
  const step = draft.fields.global_step;
  if (step === undefined || !Number.isInteger(step)) return 'no integer global_step';
  draft.step = step;
  return draft;
}

function parseTorchtitan(text: string, line: number): Parsed {
  const start = TITAN.exec(text)?.index ?? 0;
  const draft: Draft = { format: 'torchtitan', line, step: Number.NaN, fields: {} };
  const pairs = [...text.slice(start).matchAll(/([a-z_]+):\s+(\S+)/g)];
  for (const [, key = '', raw = ''] of pairs) {
    if (key === 'memory') {
      const memory = /^([\d.]+)GiB(?:\(([\d.]+)%\))?$/.exec(raw);
      if (memory === null) return `bad memory '${raw}'`;
      draft.memoryGiB = Number(memory[1]);
      draft.fields.memory_gib = draft.memoryGiB;
      if (memory[2] !== undefined) draft.fields.memory_percent = Number(memory[2]);
      continue;
    }
    if (key === 'mfu' && raw === 'N/A') continue;
    const value = parseLogNumber(raw.replace(/%$/, ''));
    if (value === undefined) return `bad number for '${key}': '${raw}'`;
    draft.fields[key] = value;
    if (key === 'step') draft.step = value;
    else if (key === 'loss') draft.loss = value;
    else if (key === 'grad_norm') draft.gradNorm = value;
    else if (key === 'tps') draft.tokensPerSecondPerGpu = value;
    else if (key === 'tflops') draft.tflopsPerGpu = value;
    else if (key === 'mfu') draft.mfuPercent = value;
  }
  return draft;
}

/** Fills a plain record (CSV row or JSON line) into a sample. */
function plainRecord(record: Record<string, unknown>, format: 'csv' | 'jsonl', line: number): Parsed {
  const fields: Record<string, number> = {};
  for (const [key, raw] of Object.entries(record)) {
    if (!CSV_COLUMNS.has(key)) continue;
    const value = typeof raw === 'number' ? raw : typeof raw === 'string' ? parseLogNumber(raw) : undefined;
    if (value === undefined) return `bad number for '${key}': '${String(raw)}'`;
    fields[key] = value;
  }
  const step = fields.step;
  if (step === undefined) return "no 'step'";
  if (!Number.isInteger(step)) return `step is not an integer: ${step}`;
  const draft: Draft = { format, line, step, fields };
  if (fields.time !== undefined) draft.iterationSeconds = fields.time;
  if (fields.loss !== undefined) draft.loss = fields.loss;
  if (fields.tokens !== undefined) draft.tokens = fields.tokens;
  if (fields.samples !== undefined) draft.consumedSamples = fields.samples;
  return draft;
}

/**
 * The layout of the last Megatron line the general path read (its keys in order as UTF-8 bytes, their typed-field
 * setters, the key a missing `lm loss` falls back to), for {@link readMegatronBytes}: consecutive lines of one log
 * print the same keys, so the next line is read by matching those keys' bytes in place, with no decoding, regular
 * expression, split or trim.
 */
interface MegatronLayout {
  readonly keys: readonly string[];
  readonly keyBytes: readonly Uint8Array[];
  /** Each key's whole little-endian 32-bit words ({@link startsWithBytes}). */
  readonly keyWords: readonly Int32Array[];
  readonly setters: readonly (Setter | undefined)[];
  /** The index of the key a sample without `lm loss` takes its loss from (the first `… loss` key), or -1. */
  readonly lossIndex: number;
  /** A `fields` object with the keys in order, cloned for each line (one allocation of the right shape). */
  readonly shape: Readonly<Record<string, number>>;
}

const ENCODER = new TextEncoder();

/** The layout of a sample the general path read as Megatron, or undefined when its keys do not round-trip. */
function megatronLayout(sample: StepSample): MegatronLayout | undefined {
  const keys = Object.keys(sample.fields);
  // Keys the general path would send elsewhere or read differently are left to it.
  if (keys.some((key) => key.includes('Training epoch') || key.includes('train_step_timing') || key.includes(ESCAPE))) {
    return undefined;
  }
  // A line without the iteration time is malformed: the general path says so.
  if (!keys.includes('elapsed time per iteration (ms)')) return undefined;
  const setters = keys.map((key) => (Object.hasOwn(MEGATRON_KEYS, key) ? MEGATRON_KEYS[key] : undefined));
  const lossIndex = keys.includes('lm loss') ? -1 : keys.findIndex((key) => / loss$/.test(key));
  const keyBytes = keys.map((key) => ENCODER.encode(key));
  const keyWords = keyBytes.map((bytes) => {
    const words = new Int32Array(bytes.length >> 2);
    const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    for (let w = 0; w < words.length; w++) words[w] = view.getInt32(4 * w, true);
    return words;
  });
  const layout = { keys, keyBytes, keyWords, setters, lossIndex, shape: { ...sample.fields } };
  KEPT.layout = layout;
  KEPT.rows ??= new MegatronRows(layout, new Uint8Array(0), 0);
  return layout;
}

/**
 * The last layout made and one empty MegatronRows, kept for the module's life: V8 drops the optimized code of the
 * reader (readMegatronBytes, pushSegments, MegatronRows' methods) when the last object of a hidden class it was
 * compiled for dies at a GC, and compiles it again in the next read (a fifth of bench/observe's 1× log). One layout
 * (the last log format read) and one row set of no capacity: bounded, whatever the number of logs read.
 */
const KEPT: { layout: MegatronLayout | undefined; rows: MegatronRows | undefined } = {
  layout: undefined,
  rows: undefined,
};

/** Whether `sample`'s fields are the keys of `layout`, in its order. */
function sameKeys(layout: MegatronLayout | undefined, sample: StepSample): boolean {
  if (layout === undefined) return false;
  let k = 0;
  for (const key in sample.fields) if (layout.keys[k++] !== key) return false;
  return k === layout.keys.length;
}

/** Skips spaces and tabs from `i`. */
function skipBlankBytes(data: Uint8Array, i: number, end: number): number {
  let k = i;
  while (k < end && (data[k] === 32 || data[k] === 9)) k++;
  return k;
}

/** The end of the ASCII digits starting at `i` (at least one), or -1. */
function digitBytesEnd(data: Uint8Array, i: number, end: number): number {
  let k = i;
  while (k < end && ((data[k] as number) - 48) >>> 0 < 10) k++;
  return k > i ? k : -1;
}

/**
 * The end of a plain decimal `[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?` at `data[i]`, or -1: {@link decimalEnd} on
 * bytes (the same grammar, every character of it ASCII).
 */
function decimalBytesEnd(data: Uint8Array, i: number, end: number): number {
  let k = i;
  let c = data[k];
  if (c === 43 || c === 45) c = data[++k];
  let digits = 0;
  while (k < end && ((c as number) - 48) >>> 0 < 10) {
    digits++;
    c = data[++k];
  }
  if (k < end && c === 46) {
    c = data[++k];
    while (k < end && ((c as number) - 48) >>> 0 < 10) {
      digits++;
      c = data[++k];
    }
  }
  if (digits === 0) return -1;
  if (k < end && (c === 101 || c === 69)) {
    c = data[++k];
    if (c === 43 || c === 45) c = data[++k];
    const first = k;
    while (k < end && ((c as number) - 48) >>> 0 < 10) c = data[++k];
    if (k === first) return -1;
  }
  return k;
}

/** The ASCII bytes `data[i, j)` as a flat string (one call: a string built by `+=` is a rope, one node a byte). */
function asciiText(data: Uint8Array, i: number, j: number): string {
  return String.fromCharCode.apply(null, data.subarray(i, j) as unknown as number[]);
}

/**
 * `Number` of the decimal {@link decimalBytesEnd} accepted at `data[i, j)`: {@link decimalValue}'s digit-by-digit
 * reading (exact up to 15 digits without an exponent), anything else through `Number` of its text.
 */
function decimalBytesValue(data: Uint8Array, i: number, j: number): number {
  let k = i;
  const sign = data[k];
  if (sign === 43 || sign === 45) k++;
  let mantissa = 0;
  let digits = 0;
  let scale = -1;
  let power = 0;
  for (; k < j; k++) {
    const c = data[k] as number;
    if ((c - 48) >>> 0 < 10) {
      mantissa = mantissa * 10 + (c - 48);
      digits++;
      if (scale >= 0) scale++;
    } else if (c === 46) scale = 0;
    else if (c === 101 || c === 69) {
      // The exponent (decimalBytesEnd checked its digits): `1.500000E-04`, as Megatron prints the learning rate.
      let e = k + 1;
      const negative = data[e] === 45;
      if (negative || data[e] === 43) e++;
      let exponent = 0;
      for (; e < j && exponent < 1000; e++) exponent = exponent * 10 + ((data[e] as number) - 48);
      power = negative ? -exponent : exponent;
      break;
    } else return Number(asciiText(data, i, j));
  }
  // Clinger's fast path (W. D. Clinger, "How to read floating point numbers accurately", PLDI 1990): an integer
  // below 2^53 times or divided by an exact power of ten (10^0 … 10^22) is one correctly rounded operation.
  const shift = power - Math.max(0, scale);
  if (digits > 15 || shift > 22 || shift < -22) return Number(asciiText(data, i, j));
  const magnitude = shift < 0 ? mantissa / (TEN[-shift] as number) : mantissa * (TEN[shift] as number);
  return sign === 45 ? -magnitude : magnitude;
}

/** Whether `data[i, i + 19)` is a `YYYY-MM-DD HH:MM:SS` stamp (or with `T`), the general path's stamp's form. */
function isStampBytes(data: Uint8Array, i: number): boolean {
  for (let k = 0; k < 19; k++) {
    const c = data[i + k] as number;
    if (k === 4 || k === 7) {
      if (c !== 45) return false;
    } else if (k === 10) {
      if (c !== 32 && c !== 84) return false;
    } else if (k === 13 || k === 16) {
      if (c !== 58) return false;
    } else if ((c - 48) >>> 0 >= 10) return false;
  }
  return true;
}

/**
 * Whether `data[i, …)` (read through `view`, the same bytes) starts with the bytes of `key`: four bytes at a time
 * (`words`, the key's whole little-endian words), then the last `key.length % 4` one by one.
 */
function startsWithBytes(
  data: Uint8Array,
  view: DataView,
  i: number,
  end: number,
  key: Uint8Array,
  words: Int32Array,
): boolean {
  const length = key.length;
  if (i + length > end) return false;
  for (let w = 0; w < words.length; w++) if (view.getInt32(i + 4 * w, true) !== words[w]) return false;
  for (let k = words.length * 4; k < length; k++) if (data[i + k] !== key[k]) return false;
  return true;
}

/**
 * Megatron lines of one layout read in place ({@link StepLogParser.pushSegments}), as columns: no object per line
 * until one is asked for ({@link MegatronRows.sample}, or {@link MegatronRows.fill} into one reused object).
 */
export class MegatronRows {
  /** Rows held. */
  count = 0;
  /** Rows before this one are passed over by readers (a resumed source's lines stored before). */
  start = 0;
  lines: Float64Array;
  steps: Float64Array;
  totals: Float64Array;
  /** Row `r`'s value of key `k` at `r * keys.length + k`. */
  values: Float64Array;
  /** Seconds of each row's time stamp ({@link stampSeconds}), NaN for a row without one. */
  times: Float64Array;
  /** Where each row's time stamp text starts in {@link data} (-1: none), and its length. */
  stampAt: Int32Array;
  stampLength: Uint8Array;

  constructor(
    public layout: MegatronLayout,
    /** The bytes the rows were read from (their time stamps' text is read from it when asked). */
    public data: Uint8Array,
    capacity = 64,
  ) {
    this.lines = new Float64Array(capacity);
    this.steps = new Float64Array(capacity);
    this.totals = new Float64Array(capacity);
    this.values = new Float64Array(capacity * layout.keys.length);
    this.times = new Float64Array(capacity);
    this.stampAt = new Int32Array(capacity);
    this.stampLength = new Uint8Array(capacity);
  }

  /** The field names of every row, in order. */
  get keys(): readonly string[] {
    return this.layout.keys;
  }

  /** Empties these rows for lines of `layout` read from `data`, keeping their arrays (no allocation): itself. */
  reuse(layout: MegatronLayout, data: Uint8Array): MegatronRows {
    if (layout.keys.length !== this.layout.keys.length) {
      this.values = new Float64Array(this.lines.length * layout.keys.length);
    }
    this.layout = layout;
    this.data = data;
    this.count = 0;
    this.start = 0;
    return this;
  }

  /** Room for one more row (doubling). */
  grow(): void {
    if (this.count < this.lines.length) return;
    const capacity = this.lines.length * 2;
    const widen = <T extends Float64Array | Int32Array | Uint8Array>(from: T, to: T): T => {
      to.set(from);
      return to;
    };
    this.lines = widen(this.lines, new Float64Array(capacity));
    this.steps = widen(this.steps, new Float64Array(capacity));
    this.totals = widen(this.totals, new Float64Array(capacity));
    this.values = widen(this.values, new Float64Array(capacity * this.layout.keys.length));
    this.times = widen(this.times, new Float64Array(capacity));
    this.stampAt = widen(this.stampAt, new Int32Array(capacity));
    this.stampLength = widen(this.stampLength, new Uint8Array(capacity));
  }

  /** Row `r`'s time stamp as printed, or undefined. */
  timestamp(r: number): string | undefined {
    const at = this.stampAt[r] as number;
    return at < 0 ? undefined : asciiText(this.data, at, at + (this.stampLength[r] as number));
  }

  /**
   * How row `r`'s stamp prints back from its {@link times} entry: 1 for `YYYY-MM-DD HH:MM:SS`, 2 for
   * `YYYY-MM-DD HH:MM:SS.fff` (a space between, year 1000 to 9999; `strftime` of the time's milliseconds, `%S` or
   * `%S.%g`), 0 for a stamp kept as text or none.
   */
  stampForm(r: number): 0 | 1 | 2 {
    const at = this.stampAt[r] as number;
    if (at < 0 || this.data[at + 10] !== 32 || this.data[at] === 48) return 0;
    const length = this.stampLength[r];
    return length === 19 ? 1 : length === 23 ? 2 : 0;
  }

  /** Row `r` as the sample the general path gives for its line. */
  sample(r: number): StepSample {
    const timestamp = this.timestamp(r);
    const draft: Draft = {
      format: 'megatron',
      line: this.lines[r] as number,
      step: this.steps[r] as number,
      trainIterations: this.totals[r] as number,
      fields: {},
    };
    if (timestamp !== undefined) draft.timestamp = timestamp;
    const fields = { ...this.layout.shape };
    this.fillTyped(r, draft);
    this.writeFields(r, fields);
    draft.fields = fields;
    return draft;
  }

  /**
   * Row `r` written into `into`, an object {@link sample} made for a row of this segment: every value a fresh sample
   * would hold (its `fields` too) but the time stamp, left as it was (read it with {@link timestamp}); no allocation.
   */
  fill(r: number, into: StepSample): StepSample {
    this.fillTyped(r, into);
    this.writeFields(r, into.fields as Record<string, number>);
    return into;
  }

  /**
   * {@link fill} of the typed fields only (`into.fields` is left as it was): for a reader that takes the printed
   * fields from {@link values}.
   */
  fillTyped(r: number, into: StepSample): StepSample {
    const draft = into as Draft;
    draft.line = this.lines[r] as number;
    draft.step = this.steps[r] as number;
    draft.trainIterations = this.totals[r] as number;
    const { keys, setters, lossIndex } = this.layout;
    const width = keys.length;
    const values = this.values;
    for (let k = 0; k < width; k++) (setters[k] as Setter | undefined)?.(draft, values[r * width + k] as number);
    if (lossIndex >= 0) draft.loss = values[r * width + lossIndex] as number;
    return draft;
  }

  /** The printed fields of row `r`, by key, into `fields`. */
  private writeFields(r: number, fields: Record<string, number>): void {
    const { keys } = this.layout;
    const width = keys.length;
    for (let k = 0; k < width; k++) fields[keys[k] as string] = this.values[r * width + k] as number;
  }
}
/** The day {@link readMegatronBytes} read last, as its ten bytes, and its milliseconds at midnight (UTC). */
const byteDay = { bytes: new Uint8Array(10), ms: Number.NaN };

/**
 * Seconds of the stamp at `data[i, i + length)` ({@link isStampBytes} true, then nothing or `.` and digits), as
 * {@link stampSeconds} reads its text (with a fraction, `Date.parse`: its milliseconds, the first three digits);
 * NaN where that reading would not give a time this way (an hour, minute or second out of range, a day that is no
 * calendar day): the general path then reads the line.
 */
function stampBytesSeconds(data: Uint8Array, i: number, length: number): number {
  const two = (at: number) => ((data[at] as number) - 48) * 10 + ((data[at + 1] as number) - 48);
  const hours = two(i + 11);
  const minutes = two(i + 14);
  const seconds = two(i + 17);
  if (hours >= 24 || minutes >= 60 || seconds >= 60) return Number.NaN;
  const day = byteDay.bytes;
  let same = true;
  for (let k = 0; k < 10 && same; k++) same = day[k] === data[i + k];
  if (!same) {
    day.set(data.subarray(i, i + 10));
    const text = asciiText(data, i, i + 10);
    const ms = Date.parse(`${text}T00:00:00Z`);
    // A day that does not print back as itself (2026-02-30) is left to the general path.
    byteDay.ms = Number.isFinite(ms) && new Date(ms).toISOString().slice(0, 10) === text ? ms : Number.NaN;
  }
  let ms = 0;
  for (let k = 0, scale = 100; k < length - 20 && k < 3; k++, scale /= 10) {
    ms += ((data[i + 20 + k] as number) - 48) * scale;
  }
  return (byteDay.ms + ((hours * 60 + minutes) * 60 + seconds) * 1000 + ms) / 1000;
}

/**
 * Reads `data[start, end)` (one line, no `\n`) as a Megatron line of `layout` (` [stamp] iteration N/ M | key:
 * value | … |`, the keys those of the layout in its order, each value a plain decimal), giving exactly the sample
 * the general path gives for the line's text; undefined for any other line (the general path then reads it).
 * Spaces and tabs may vary wherever the general path allows them.
 */
function readMegatronBytes(
  data: Uint8Array,
  view: DataView,
  start: number,
  end: number,
  line: number,
  rows: MegatronRows,
): boolean {
  const layout = rows.layout;
  let i = skipBlankBytes(data, start, end);
  let stampAt = -1;
  let stampLength = 0;
  let time = Number.NaN;
  if (data[i] === 91) {
    // `[` + stamp (fractions allowed) + `]`.
    if (i + 20 >= end || !isStampBytes(data, i + 1)) return false;
    let k = i + 20;
    if (data[k] === 46) {
      const fraction = digitBytesEnd(data, k + 1, end);
      if (fraction < 0) return false;
      k = fraction;
    }
    if (data[k] !== 93) return false;
    stampAt = i + 1;
    stampLength = k - i - 1;
    // Up to nine digits of fraction (Date.parse keeps the milliseconds, the first three); more: the general path.
    time = stampLength <= 29 ? stampBytesSeconds(data, i + 1, stampLength) : Number.NaN;
    if (Number.isNaN(time)) return false;
    i = skipBlankBytes(data, k + 1, end);
  }
  // `iteration`
  if (
    i + 9 > end ||
    data[i] !== 105 ||
    data[i + 1] !== 116 ||
    data[i + 2] !== 101 ||
    data[i + 3] !== 114 ||
    data[i + 4] !== 97 ||
    data[i + 5] !== 116 ||
    data[i + 6] !== 105 ||
    data[i + 7] !== 111 ||
    data[i + 8] !== 110
  ) {
    return false;
  }
  i += 9;
  const stepAt = skipBlankBytes(data, i, end);
  if (stepAt === i) return false;
  const stepEnd = digitBytesEnd(data, stepAt, end);
  if (stepEnd < 0) return false;
  i = skipBlankBytes(data, stepEnd, end);
  if (data[i] !== 47) return false;
  const totalAt = skipBlankBytes(data, i + 1, end);
  const totalEnd = digitBytesEnd(data, totalAt, end);
  if (totalEnd < 0) return false;
  i = skipBlankBytes(data, totalEnd, end);
  if (data[i] !== 124) return false;
  i++;
  const { keys, keyBytes, keyWords } = layout;
  rows.grow();
  const values = rows.values;
  const base = rows.count * keys.length;
  for (let k = 0; k < keys.length; k++) {
    const key = keyBytes[k] as Uint8Array;
    i = skipBlankBytes(data, i, end);
    if (!startsWithBytes(data, view, i, end, key, keyWords[k] as Int32Array)) return false;
    i = skipBlankBytes(data, i + key.length, end);
    if (data[i] !== 58) return false;
    const from = skipBlankBytes(data, i + 1, end);
    const stop = from < end ? decimalBytesEnd(data, from, end) : -1;
    if (stop < 0) return false;
    i = skipBlankBytes(data, stop, end);
    if (i < end) {
      if (data[i] !== 124) return false;
      i++;
    } else if (k < keys.length - 1) return false;
    values[base + k] = decimalBytesValue(data, from, stop);
  }
  if (skipBlankBytes(data, i, end) !== end) return false;
  // The row is whole: its values went in at `count` above.
  const r = rows.count;
  rows.lines[r] = line;
  rows.steps[r] = decimalBytesValue(data, stepAt, stepEnd);
  rows.totals[r] = decimalBytesValue(data, totalAt, totalEnd);
  rows.times[r] = time;
  rows.stampAt[r] = stampAt;
  rows.stampLength[r] = stampLength;
  rows.count = r + 1;
  return true;
}

/** A run of samples in line order: Megatron lines of one layout as columns, or samples of any format. */
export type StepSegment = MegatronRows | readonly StepSample[];

/** The samples of segments, in order (each {@link MegatronRows} row from its `start` made an object). */
export function segmentSamples(segments: readonly StepSegment[]): StepSample[] {
  const out: StepSample[] = [];
  for (const segment of segments) {
    if (segment instanceof MegatronRows) {
      for (let r = segment.start; r < segment.count; r++) out.push(segment.sample(r));
    } else out.push(...segment);
  }
  return out;
}

/** A streaming step-log parser: feed chunks with `push`, then call `end` once for a last line without a newline. */
export interface StepLogParser {
  /** Parses the complete lines in `chunk` (plus what was left over), returning the samples they held. */
  push(chunk: string): StepSample[];
  /**
   * {@link push} for UTF-8 bytes (a file's chunk, split anywhere): the same samples as the decoded text gives, with
   * lines of the last Megatron line's layout read in place from the bytes. A parser takes one kind of chunk.
   */
  pushBytes(chunk: Uint8Array): StepSample[];
  /**
   * {@link pushBytes} as segments in line order: runs of Megatron lines of one layout as {@link MegatronRows}
   * (columns, no object per line), the other lines' samples as arrays.
   */
  pushSegments(chunk: Uint8Array): StepSegment[];
  /** Parses what is left in the buffer; returns its samples. */
  end(): StepSample[];
  /** Malformed lines so far. */
  readonly malformed: readonly MalformedStepLine[];
  /** Lines so far that were no step line of any format. */
  readonly ignored: number;
}

/** Options of {@link createStepLogParser}. */
export interface StepLogParserOptions {
  /** The number of the first line pushed (default 1). */
  readonly firstLine?: number;
  /**
   * Refill the {@link MegatronRows} of one {@link StepLogParser.pushSegments} in the next (their arrays kept, no
   * allocation per chunk): for a reader done with a chunk's segments when it pushes the next.
   */
  readonly reuseRows?: boolean;
}

/** Creates a {@link StepLogParser}; `firstLine` numbers the first line fed (a source resuming mid-file). */
export function createStepLogParser(options: StepLogParserOptions = {}): StepLogParser {
  let buffer = '';
  let lineNumber = Math.max(1, Math.floor(options.firstLine ?? 1)) - 1;
  let ignored = 0;
  let csvColumns: string[] | undefined;
  const malformed: MalformedStepLine[] = [];

  const classify = (raw: string, line: number): StepLineResult => {
    // The cheap tests first (each a literal a regular expression needs): same results, most lines read once.
    const bare = raw.includes(ESCAPE) ? raw.replace(ANSI, '') : raw;
    const text = bare.endsWith('\r') ? bare.slice(0, -1) : bare;
    const trimmed = text.trim();
    const result = (format: StepLogFormat, parsed: Parsed): StepLineResult =>
      typeof parsed === 'string'
        ? { kind: 'malformed', malformed: { line, text: raw, format, reason: parsed } }
        : { kind: 'step', sample: parsed };
    if (trimmed === '') return { kind: 'ignored' };
    if (trimmed.startsWith('{')) {
      let record: unknown;
      try {
        record = JSON.parse(trimmed);
      } catch {
        return result('jsonl', 'not a JSON object');
      }
      if (typeof record !== 'object' || record === null || Array.isArray(record)) {
        return result('jsonl', 'not a JSON object');
      }
      return result('jsonl', plainRecord(record as Record<string, unknown>, 'jsonl', line));
    }
    // A header's first cell is `step`: its lower case starts so, and lower-casing maps code point by code point.
    const first = trimmed.charCodeAt(0);
    if ((first === 115 || first === 83) && trimmed.slice(0, 8).toLowerCase().startsWith('step')) {
      const header = trimmed
        .toLowerCase()
        .split(',')
        .map((cell) => cell.trim());
      if (header[0] === 'step' && header.length > 1 && header.every((cell) => CSV_COLUMNS.has(cell))) {
        csvColumns = header;
        return { kind: 'header' };
      }
    }
    if (text.includes('Training epoch') && NEMO_HINT.test(text)) return result('nemo', parseNemo2(text, line));
    if (text.includes('train_step_timing in s=')) return result('nemo', parseNemo1(text, line));
    if (text.includes('iteration') && MEGATRON_HINT.test(text)) return result('megatron', parseMegatron(text, line));
    if (TITAN.test(text)) return result('torchtitan', parseTorchtitan(text, line));
    if (/^[+-]?\d[^,]*(,[^,]*)+$/.test(trimmed)) {
      if (csvColumns === undefined) return result('csv', 'CSV row before a step,time,… header line');
      const cells = trimmed.split(',');
      if (cells.length !== csvColumns.length) {
        return result('csv', `${cells.length} cells, the header has ${csvColumns.length}`);
      }
      const record: Record<string, string> = {};
      csvColumns.forEach((column, index) => {
        record[column] = cells[index] ?? '';
      });
      return result('csv', plainRecord(record, 'csv', line));
    }
    return { kind: 'ignored' };
  };

  /** The layout of the last Megatron line read ({@link readMegatronBytes}). */
  let layout: MegatronLayout | undefined;
  /** The rows the last {@link StepLogParser.pushSegments} returned, refilled by the next ({@link reuseRows}). */
  let lastRows: MegatronRows[] = [];
  /** What {@link StepLogParser.pushBytes} held back: the bytes of a line whose newline has not come. */
  let pendingBytes: Uint8Array = new Uint8Array(0);
  const decoder = new TextDecoder('utf-8');

  const take = (raw: string, out: StepSample[]) => {
    lineNumber += 1;
    const parsed = classify(raw, lineNumber);
    if (parsed.kind === 'step') {
      out.push(parsed.sample);
      // A layout is kept while lines print its keys: its rows (and their key bytes) are not made again.
      if (parsed.sample.format === 'megatron' && !sameKeys(layout, parsed.sample))
        layout = megatronLayout(parsed.sample);
    } else if (parsed.kind === 'malformed') malformed.push(parsed.malformed);
    else if (parsed.kind === 'ignored') ignored += 1;
  };

  return {
    push(chunk) {
      const out: StepSample[] = [];
      const text = buffer + chunk;
      let start = 0;
      let newline = text.indexOf('\n');
      while (newline >= 0) {
        take(text.slice(start, newline), out);
        start = newline + 1;
        newline = text.indexOf('\n', start);
      }
      buffer = text.slice(start);
      return out;
    },
    pushBytes(chunk) {
      return segmentSamples(this.pushSegments(chunk));
    },
    pushSegments(chunk) {
      const segments: StepSegment[] = [];
      const spare = options.reuseRows === true ? lastRows : [];
      lastRows = [];
      /** The rows lines of the layout go into, and whether they are in `segments` yet (from their first row). */
      let rows: MegatronRows | undefined;
      let listed = false;
      let samples: StepSample[] | undefined;
      let data = chunk;
      if (pendingBytes.length > 0) {
        data = new Uint8Array(pendingBytes.length + chunk.length);
        data.set(pendingBytes);
        data.set(chunk, pendingBytes.length);
      }
      const view = new DataView(data.buffer, data.byteOffset, data.byteLength);
      let start = 0;
      let newline = data.indexOf(10);
      while (newline >= 0) {
        // A `\r\n` line ends before its `\r`, as the general path reads it.
        const end = newline > start && data[newline - 1] === 13 ? newline - 1 : newline;
        if (layout !== undefined && rows?.layout !== layout) {
          // Room for a line per 256 bytes of the chunk from the start (a Megatron line is longer): no regrowing.
          rows = spare.pop()?.reuse(layout, data) ?? new MegatronRows(layout, data, Math.max(64, data.length >> 8));
          if (options.reuseRows === true) lastRows.push(rows);
          listed = false;
        }
        if (rows !== undefined && readMegatronBytes(data, view, start, end, lineNumber + 1, rows)) {
          lineNumber += 1;
          if (!listed) {
            segments.push(rows);
            listed = true;
            samples = undefined;
          }
        } else {
          const out: StepSample[] = [];
          take(decoder.decode(data.subarray(start, newline)), out);
          if (out.length > 0) {
            if (samples === undefined) {
              samples = [];
              segments.push(samples);
            }
            samples.push(...out);
            // A step line read by the general path ends a run of columns (the next row begins a new one); rows not
            // yet listed stay for the next line of the layout.
            if (listed) rows = undefined;
          }
        }
        start = newline + 1;
        newline = data.indexOf(10, start);
      }
      pendingBytes = data.slice(start);
      return segments;
    },
    end() {
      const out: StepSample[] = [];
      if (pendingBytes.length > 0) buffer += decoder.decode(pendingBytes);
      pendingBytes = new Uint8Array(0);
      if (buffer !== '') take(buffer, out);
      buffer = '';
      return out;
    },
    get malformed() {
      return malformed;
    },
    get ignored() {
      return ignored;
    },
  };
}

/** Parses a whole log text at once (the streaming parser fed one chunk). */
export function parseStepLog(text: string): StepLog {
  const parser = createStepLogParser();
  const samples = [...parser.push(text), ...parser.end()];
  return { samples, malformed: [...parser.malformed], ignored: parser.ignored };
}

/** The samples as a step series for `detectRestarts` and `stalls` (src/telemetry/megatron-ci.ts), in log order. */
export function toStepPoints(samples: readonly StepSample[]): StepPoint[] {
  return samples.map((sample) => {
    const point: Mutable<StepPoint> = { step: sample.step };
    if (sample.iterationSeconds !== undefined) point.iterationSeconds = sample.iterationSeconds;
    if (sample.loss !== undefined) point.loss = sample.loss;
    const time = stampSeconds(sample.timestamp);
    if (time !== undefined) point.time = time;
    return point;
  });
}

/** The two decimal digits at `text[i]` as a number, or -1. */
function twoDigits(text: string, i: number): number {
  const a = text.charCodeAt(i) - 48;
  const b = text.charCodeAt(i + 1) - 48;
  return a >= 0 && a <= 9 && b >= 0 && b <= 9 ? a * 10 + b : -1;
}

/** The day {@link stampSeconds} read last and its milliseconds at midnight (UTC). */
const lastDay = { date: '', ms: Number.NaN };

/**
 * Seconds of a Megatron time stamp (`2024-09-03 15:54:54`, with or without fractions), read as UTC: the log's zone
 * is not printed, and only differences between stamps are used.
 */
export function stampSeconds(stamp: string | undefined): number | undefined {
  if (stamp === undefined) return undefined;
  // `YYYY-MM-DD HH:MM:SS` (Megatron's stamp): the day's milliseconds (parsed once per day) plus the time of day,
  // which is what Date.parse gives for any time of day it accepts.
  if (
    stamp.length === 19 &&
    (stamp.charCodeAt(10) === 32 || stamp.charCodeAt(10) === 84) &&
    stamp.charCodeAt(13) === 58 &&
    stamp.charCodeAt(16) === 58
  ) {
    const hours = twoDigits(stamp, 11);
    const minutes = twoDigits(stamp, 14);
    const seconds = twoDigits(stamp, 17);
    if (hours >= 0 && hours < 24 && minutes >= 0 && minutes < 60 && seconds >= 0 && seconds < 60) {
      const date = stamp.slice(0, 10);
      if (date !== lastDay.date) {
        lastDay.date = date;
        lastDay.ms = /^\d{4}-\d{2}-\d{2}$/.test(date) ? Date.parse(`${date}T00:00:00Z`) : Number.NaN;
      }
      if (Number.isFinite(lastDay.ms)) return (lastDay.ms + ((hours * 60 + minutes) * 60 + seconds) * 1000) / 1000;
    }
  }
  const match = /^(\d{4}-\d{2}-\d{2})[ T](\d{2}:\d{2}:\d{2}(?:\.\d+)?)$/.exec(stamp.trim());
  if (!match) return undefined;
  const ms = Date.parse(`${match[1]}T${match[2]}Z`);
  return Number.isFinite(ms) ? ms / 1000 : undefined;
}
