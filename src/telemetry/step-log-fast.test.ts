/**
 * The quick paths of src/telemetry/step-log.ts (fields read in place, plain decimals read digit by digit, Megatron
 * time stamps read without Date.parse) give what the plain algorithms give, on generated lines and stamps.
 */
import { describe, expect, it } from 'vitest';
import {
  createStepLogParser,
  MegatronRows,
  parseLogNumber,
  parseStepLog,
  segmentSamples,
  stampSeconds,
} from './step-log.js';

/** The plain algorithm: split on `|`, cut each part at its last `:`, read the value with parseLogNumber. */
function referenceFields(rest: string): Record<string, number> | string {
  const fields: Record<string, number> = {};
  for (const part of rest.split('|')) {
    if (part.trim() === '') continue;
    const colon = part.lastIndexOf(':');
    if (colon < 0) return `field without ':' ('${part.trim()}')`;
    const key = part.slice(0, colon).trim();
    const value = parseLogNumber(part.slice(colon + 1));
    if (value === undefined) return `bad number for '${key}': '${part.slice(colon + 1).trim()}'`;
    fields[key] = value;
  }
  return fields;
}

/** The plain algorithm of stampSeconds. */
function referenceStamp(stamp: string): number | undefined {
  const match = /^(\d{4}-\d{2}-\d{2})[ T](\d{2}:\d{2}:\d{2}(?:\.\d+)?)$/.exec(stamp.trim());
  if (!match) return undefined;
  const ms = Date.parse(`${match[1]}T${match[2]}Z`);
  return Number.isFinite(ms) ? ms / 1000 : undefined;
}

/** A small seeded generator (xorshift32). */
function random(seed: number): () => number {
  let x = seed >>> 0 || 1;
  return () => {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    return (x >>> 0) / 2 ** 32;
  };
}

const VALUES = [
  '0',
  '-0',
  '+1',
  '1.',
  '.5',
  '007',
  '1e5',
  '1E+05',
  '-2.5e-3',
  '1.500000E-04',
  '123456789012345',
  '1234567890123456',
  '0.1234567890123456',
  '9007199254740993',
  '1,024',
  '4,376',
  'nan',
  '-NaN',
  'inf',
  '-Infinity',
  '',
  ' ',
  '.',
  '-',
  'e5',
  '1e',
  '1e+',
  '0x10',
  '1_000',
  '12abc',
  '\u00a012',
  '12\u00a0',
  '1.2.3',
  '  3.25  ',
  '\t7\t',
  '1e400',
  '5e-400',
];

describe('step-log quick paths', () => {
  it('read the fields of a Megatron line as the plain algorithm does', () => {
    const next = random(7);
    for (let n = 0; n < 3000; n++) {
      const parts = Array.from({ length: 1 + Math.floor(next() * 6) }, (_, k) => {
        const value =
          next() < 0.5
            ? (VALUES[Math.floor(next() * VALUES.length)] as string)
            : (next() * 10 ** Math.floor(next() * 30 - 10)).toPrecision(1 + Math.floor(next() * 17));
        const key = next() < 0.1 ? `odd: key ${k}` : `key ${k}`;
        return next() < 0.05 ? ` no colon ${k} ` : ` ${key}:${' '.repeat(Math.floor(next() * 3))}${value} `;
      });
      const rest = `${parts.join('|')}${next() < 0.5 ? '|' : ''}`;
      const line = `iteration 1/ 10 | elapsed time per iteration (ms): 1.0 |${rest}`;
      const { samples, malformed } = parseStepLog(line);
      const expected = referenceFields(` elapsed time per iteration (ms): 1.0 |${rest}`);
      if (typeof expected === 'string') expect(malformed[0]?.reason, line).toBe(expected);
      else {
        const fields = samples[0]?.fields;
        expect(fields, line).toEqual(expected);
        for (const key of Object.keys(expected))
          expect(Object.is(fields?.[key], expected[key]), `${line} ${key}`).toBe(true);
      }
    }
  });

  it('read Megatron time stamps as Date.parse does', () => {
    const next = random(11);
    const two = (n: number) => String(n).padStart(2, '0');
    const stamps = [
      '2024-09-03 15:54:54',
      '2024-09-03T15:54:54',
      '2024-02-30 00:00:00',
      '2024-13-01 00:00:00',
      '2024-09-03 24:00:00',
      '2024-09-03 23:60:00',
      '2024-09-03 23:59:60',
      '2024-09-03 1a:00:00',
      ' 2024-09-03 15:54:5',
      '2024-09-03 15:54:54.250000',
      '2024-09-03_15:54:54',
      '0000-01-01 00:00:00',
      '+02024-09-03',
      '2024-9-03 15:54:54',
    ];
    for (let n = 0; n < 5000; n++) {
      const y = 1990 + Math.floor(next() * 60);
      stamps.push(
        `${y}-${two(Math.floor(next() * 14))}-${two(Math.floor(next() * 33))}${next() < 0.5 ? ' ' : 'T'}${two(Math.floor(next() * 26))}:${two(Math.floor(next() * 62))}:${two(Math.floor(next() * 62))}`,
      );
    }
    for (const stamp of stamps) expect(stampSeconds(stamp), stamp).toBe(referenceStamp(stamp));
  });

  it('read a log from bytes (Megatron lines in place, any chunking) as the text path does', () => {
    const next = random(23);
    const pick = <T>(items: readonly T[]) => items[Math.floor(next() * items.length)] as T;
    const two = (n: number) => String(n).padStart(2, '0');
    const number = () =>
      next() < 0.3
        ? pick(VALUES)
        : next() < 0.5
          ? (next() * 10 ** Math.floor(next() * 12)).toFixed(Math.floor(next() * 7))
          : `${(next() * 10).toFixed(6)}${pick(['E', 'e'])}${pick(['+', '-', ''])}${two(Math.floor(next() * 40))}`;
    const stamp = () =>
      pick([
        () =>
          `2026-0${1 + Math.floor(next() * 9)}-${two(1 + Math.floor(next() * 31))} ${two(Math.floor(next() * 25))}:${two(Math.floor(next() * 61))}:${two(Math.floor(next() * 61))}`,
        () => '2026-03-04T05:06:07',
        () => '2026-03-04 05:06:07.250000',
        () => '0999-03-04 05:06:07',
        () => 'not a stamp',
      ])();
    const layouts = [
      ['consumed samples', 'elapsed time per iteration (ms)', 'learning rate', 'lm loss', 'loss scale', 'grad norm'],
      ['elapsed time per iteration (ms)', 'mtp loss', 'number of nan iterations'],
      ['consumed samples', 'learning rate'],
      ['elapsed time per iteration (ms)', 'lm loss', 'lm loss'],
    ];
    const lines: string[] = [];
    let layout = layouts[0] as string[];
    for (let n = 0; n < 4000; n++) {
      if (next() < 0.02) layout = pick(layouts);
      const kind = next();
      if (kind < 0.05)
        lines.push(pick(['', 'WARNING: something', 'step: 5  loss: 1.5', '{"step": 3, "time": 1}', 'ö ünïcode']));
      else {
        const blank = () => ' '.repeat(Math.floor(next() * 3)) + (next() < 0.05 ? '\t' : '');
        const head = `${next() < 0.9 ? `[${stamp()}]` : ''}${next() < 0.5 ? ' ' : blank()}iteration${next() < 0.05 ? '' : ' '.repeat(1 + Math.floor(next() * 6))}${n + 1}${blank()}/${blank()}${4000}${blank()}|`;
        const fields = layout.map((key) => `${blank()}${key}${blank()}:${blank()}${number()}${blank()}`).join('|');
        const end = pick(['|', '', ' |', '| ', '|\r', '| tail']);
        lines.push(`${next() < 0.05 ? ' rank0: ' : ' '}${head}${fields}${end}`);
      }
    }
    const text = `${lines.join('\n')}\n`;
    const expected = parseStepLog(text);
    const bytes = new TextEncoder().encode(text);
    for (let trial = 0; trial < 4; trial++) {
      const parser = createStepLogParser();
      const segments = [];
      for (let at = 0; at < bytes.length; ) {
        const size = trial === 0 ? bytes.length : 1 + Math.floor(next() * 4000);
        segments.push(...parser.pushSegments(bytes.subarray(at, at + size)));
        at += size;
      }
      const samples = [...segmentSamples(segments), ...parser.end()];
      expect(samples).toStrictEqual(expected.samples);
      expect(parser.malformed).toStrictEqual(expected.malformed);
      expect(parser.ignored).toBe(expected.ignored);
      // The in-place path was taken (the messier lines go to the general path).
      const inPlace = segments.reduce((sum, segment) => sum + (segment instanceof MegatronRows ? segment.count : 0), 0);
      expect(inPlace).toBeGreaterThan(samples.length / 10);
    }
    // Rows refilled by each push (reuseRows), each push's read before the next: the same samples.
    const parser = createStepLogParser({ reuseRows: true });
    const samples = [];
    for (let at = 0; at < bytes.length; ) {
      const size = 1 + Math.floor(next() * 4000);
      samples.push(...segmentSamples(parser.pushSegments(bytes.subarray(at, at + size))));
      at += size;
    }
    samples.push(...parser.end());
    expect(samples).toStrictEqual(expected.samples);
  });

  it('read every line of a plain Megatron log after the first in place', () => {
    const text = Array.from(
      { length: 500 },
      (_, i) =>
        ` [2026-01-01 00:${String(Math.floor(i / 60)).padStart(2, '0')}:${String(i % 60).padStart(2, '0')}] iteration ${String(i + 1).padStart(8)}/    1000 | consumed samples: ${(i + 1) * 512} | elapsed time per iteration (ms): 9500.${i % 10} | learning rate: 1.500000E-04 | global batch size:   512 | lm loss: ${(2 + 1 / (i + 1)).toExponential(6).toUpperCase()} | loss scale: 1.0 | grad norm: 0.912 | number of skipped iterations:   0 | number of nan iterations:   0 |\n`,
    ).join('');
    const parser = createStepLogParser();
    const segments = parser.pushSegments(new TextEncoder().encode(text));
    expect(segments.map((segment) => (segment instanceof MegatronRows ? segment.count : -segment.length))).toEqual([
      -1, 499,
    ]);
    expect(segmentSamples(segments)).toStrictEqual(parseStepLog(text).samples);
  });
});
