/**
 * A line-based parser of the Prometheus text exposition format 0.0.4, which also reads OpenMetrics text.
 *
 * Format source: Prometheus "Exposition formats" (prometheus.io/docs/instrumenting/exposition_formats/, text format
 * 0.0.4) and the OpenMetrics 1.0 text specification. A line is one of
 * - `# HELP <name> <text>` (text may be empty; escapes `\\` and `\n`),
 * - `# TYPE <name> counter|gauge|histogram|summary|untyped` (OpenMetrics adds `unknown`, `gaugehistogram`,
 *   `stateset`, `info`), at most one per name,
 * - `# UNIT <name> <unit>` (OpenMetrics), `# EOF` (OpenMetrics: the end of the exposition), any other `#` line is a
 *   comment (dcgm-exporter fixtures carry `# NOTE …`),
 * - `<name>[{<label>="<value>",…}] <value> [<timestamp>]`, label values escaping `\\`, `\"` and `\n`, the value a
 *   float including `NaN`, `+Inf` and `-Inf`; the timestamp is integer milliseconds in 0.0.4 and seconds in
 *   OpenMetrics (kept as written: see {@link Exposition.openMetrics}); an OpenMetrics exemplar (` # {…} v [t]`) after
 *   the sample is skipped,
 * - an empty line (ignored).
 * `\r\n` line ends are accepted and a missing final newline is not an error. A line that fits none of these is
 * counted as malformed with its 1-based line number; the parser never throws.
 *
 * Pure: no Node APIs, so it runs in the browser and in workers.
 * @module
 */

/** Metric types of the 0.0.4 text format and of OpenMetrics. */
export type MetricType =
  | 'counter'
  | 'gauge'
  | 'histogram'
  | 'summary'
  | 'untyped'
  | 'unknown'
  | 'gaugehistogram'
  | 'stateset'
  | 'info';

const METRIC_TYPES: ReadonlySet<string> = new Set<MetricType>([
  'counter',
  'gauge',
  'histogram',
  'summary',
  'untyped',
  'unknown',
  'gaugehistogram',
  'stateset',
  'info',
]);

/** One sample line. */
export interface PromSample {
  readonly name: string;
  /** Label values unescaped; in the order written (a repeated label name keeps its last value). */
  readonly labels: Readonly<Record<string, string>>;
  readonly value: number;
  /** As written: milliseconds in the 0.0.4 format, seconds in OpenMetrics. */
  readonly timestamp?: number;
  /** 1-based line number. */
  readonly line: number;
}

/** HELP, TYPE and UNIT of one metric family, as far as the text gave them. */
export interface PromFamily {
  readonly name: string;
  help?: string;
  type?: MetricType;
  unit?: string;
}

/** A line that is none of the forms the format allows. */
export interface MalformedLine {
  /** 1-based line number. */
  readonly line: number;
  readonly text: string;
  readonly reason: string;
}

/** A parsed exposition. */
export interface Exposition {
  readonly samples: PromSample[];
  /** Families by name, from HELP/TYPE/UNIT lines, in the order first met. */
  readonly families: Map<string, PromFamily>;
  readonly malformed: MalformedLine[];
  /** `#` lines that are neither HELP, TYPE, UNIT nor EOF. */
  readonly comments: number;
  /** An OpenMetrics `# EOF` was met (timestamps are then seconds). */
  readonly openMetrics: boolean;
}

/** What one line is. */
export type PromLine =
  | { readonly kind: 'sample'; readonly sample: PromSample }
  | { readonly kind: 'help'; readonly name: string; readonly help: string }
  | { readonly kind: 'type'; readonly name: string; readonly type: MetricType }
  | { readonly kind: 'unit'; readonly name: string; readonly unit: string }
  | { readonly kind: 'comment' }
  | { readonly kind: 'eof' }
  | { readonly kind: 'blank' }
  | { readonly kind: 'malformed'; readonly reason: string };

const NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*/;
const LABEL_NAME = /^[a-zA-Z_][a-zA-Z0-9_]*/;
const FLOAT = /^[+-]?(?:(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?|[Ii]nf(?:inity)?|NaN|nan)$/;
const TIMESTAMP = /^-?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?$/;

/** Parses a sample value: a decimal float, `NaN`, `+Inf`, `-Inf` (or `Inf`); `undefined` when it is none. */
export function parsePromValue(text: string): number | undefined {
  if (!FLOAT.test(text)) return undefined;
  const sign = text.startsWith('-') ? -1 : 1;
  const bare = text.replace(/^[+-]/, '');
  if (/^[Ii]nf/.test(bare)) return sign * Number.POSITIVE_INFINITY;
  if (/^nan$/i.test(bare)) return Number.NaN;
  return Number(text);
}

const unescapeHelp = (text: string) => text.replace(/\\(\\|n)/g, (_, c: string) => (c === 'n' ? '\n' : '\\'));

/** Reads a `{…}` label set starting at `text[start]` === '{'; the index after '}' and the labels, or a reason. */
function readLabels(text: string, start: number): { end: number; labels: Record<string, string> } | string {
  const labels: Record<string, string> = {};
  let at = start + 1;
  const skipSpace = () => {
    while (text[at] === ' ' || text[at] === '\t') at += 1;
  };
  for (;;) {
    skipSpace();
    if (text[at] === '}') return { end: at + 1, labels };
    const name = LABEL_NAME.exec(text.slice(at))?.[0];
    if (name === undefined) return `bad label name at column ${at + 1}`;
    at += name.length;
    skipSpace();
    if (text[at] !== '=') return `expected '=' after label ${name}`;
    at += 1;
    skipSpace();
    if (text[at] !== '"') return `expected '"' to open the value of label ${name}`;
    at += 1;
    let value = '';
    for (;;) {
      const c = text[at];
      if (c === undefined) return `unterminated value of label ${name}`;
      if (c === '"') break;
      if (c === '\\') {
        const next = text[at + 1];
        if (next === '\\' || next === '"') value += next;
        else if (next === 'n') value += '\n';
        else return `bad escape '\\${next ?? ''}' in label ${name}`;
        at += 2;
        continue;
      }
      value += c;
      at += 1;
    }
    at += 1;
    labels[name] = value;
    skipSpace();
    if (text[at] === ',') {
      at += 1;
      continue;
    }
    if (text[at] === '}') return { end: at + 1, labels };
    return `expected ',' or '}' after label ${name}`;
  }
}

/**
 * Classifies and parses one line of an exposition (without its line end). `lineNumber` is 1-based and is carried
 * into the sample. Never throws.
 */
export function parsePromLine(raw: string, lineNumber: number): PromLine {
  const text = raw.endsWith('\r') ? raw.slice(0, -1) : raw;
  if (text.trim() === '') return { kind: 'blank' };
  if (text.startsWith('#')) {
    if (text === '# EOF') return { kind: 'eof' };
    const directive = /^#[ \t]+(HELP|TYPE|UNIT)(?:[ \t]+(.*))?$/.exec(text);
    if (directive === null) return { kind: 'comment' };
    const [, keyword, rest = ''] = directive;
    const name = NAME.exec(rest)?.[0];
    if (name === undefined) return { kind: 'malformed', reason: `${keyword} without a metric name` };
    const after = rest.slice(name.length);
    if (after !== '' && !/^[ \t]/.test(after)) return { kind: 'malformed', reason: `bad metric name in ${keyword}` };
    const body = after.replace(/^[ \t]/, '');
    if (keyword === 'HELP') return { kind: 'help', name, help: unescapeHelp(body) };
    if (keyword === 'UNIT') return { kind: 'unit', name, unit: body.trim() };
    const type = body.trim();
    if (!METRIC_TYPES.has(type)) return { kind: 'malformed', reason: `unknown metric type '${type}'` };
    return { kind: 'type', name, type: type as MetricType };
  }
  const trimmed = text.replace(/^[ \t]+/, '');
  const name = NAME.exec(trimmed)?.[0];
  if (name === undefined) return { kind: 'malformed', reason: 'does not start with a metric name' };
  let at = name.length;
  let labels: Record<string, string> = {};
  while (trimmed[at] === ' ' || trimmed[at] === '\t') at += 1;
  if (trimmed[at] === '{') {
    const read = readLabels(trimmed, at);
    if (typeof read === 'string') return { kind: 'malformed', reason: read };
    labels = read.labels;
    at = read.end;
  } else if (at === name.length && at < trimmed.length) {
    return { kind: 'malformed', reason: 'bad character in metric name' };
  }
  // OpenMetrics exemplar: ` # {labels} value [timestamp]` after the sample.
  let rest = trimmed.slice(at);
  const exemplar = rest.indexOf(' # ');
  if (exemplar >= 0) rest = rest.slice(0, exemplar);
  const fields = rest.trim().split(/[ \t]+/);
  if (fields.length === 0 || fields[0] === '') return { kind: 'malformed', reason: 'no value' };
  if (fields.length > 2) return { kind: 'malformed', reason: 'text after the timestamp' };
  const value = parsePromValue(fields[0] as string);
  if (value === undefined) return { kind: 'malformed', reason: `bad value '${fields[0]}'` };
  const sample: { -readonly [K in keyof PromSample]: PromSample[K] } = { name, labels, value, line: lineNumber };
  if (fields[1] !== undefined) {
    if (!TIMESTAMP.test(fields[1])) return { kind: 'malformed', reason: `bad timestamp '${fields[1]}'` };
    sample.timestamp = Number(fields[1]);
  }
  return { kind: 'sample', sample };
}

/**
 * Parses a whole exposition body. Malformed lines are counted with their line numbers and skipped; a second TYPE
 * (or HELP) for one name and any line after an OpenMetrics `# EOF` are malformed too. Never throws.
 */
export function parsePrometheusText(text: string): Exposition {
  const samples: PromSample[] = [];
  const families = new Map<string, PromFamily>();
  const malformed: MalformedLine[] = [];
  let comments = 0;
  let eofLine: number | undefined;
  const family = (name: string) => {
    let entry = families.get(name);
    if (entry === undefined) {
      entry = { name };
      families.set(name, entry);
    }
    return entry;
  };
  const lines = text.split('\n');
  // A body that ends in '\n' leaves one empty string after the split: not a line.
  if (lines.length > 0 && lines[lines.length - 1] === '') lines.pop();
  lines.forEach((raw, index) => {
    const line = index + 1;
    const parsed = parsePromLine(raw, line);
    if (eofLine !== undefined && parsed.kind !== 'blank') {
      malformed.push({ line, text: raw, reason: `after # EOF on line ${eofLine}` });
      return;
    }
    switch (parsed.kind) {
      case 'sample':
        samples.push(parsed.sample);
        break;
      case 'help': {
        const entry = family(parsed.name);
        if (entry.help !== undefined) malformed.push({ line, text: raw, reason: `second HELP for ${parsed.name}` });
        else entry.help = parsed.help;
        break;
      }
      case 'type': {
        const entry = family(parsed.name);
        if (entry.type !== undefined) malformed.push({ line, text: raw, reason: `second TYPE for ${parsed.name}` });
        else entry.type = parsed.type;
        break;
      }
      case 'unit':
        family(parsed.name).unit = parsed.unit;
        break;
      case 'comment':
        comments += 1;
        break;
      case 'eof':
        eofLine = line;
        break;
      case 'blank':
        break;
      case 'malformed':
        malformed.push({ line, text: raw, reason: parsed.reason });
        break;
    }
  });
  return { samples, families, malformed, comments, openMetrics: eofLine !== undefined };
}
