/**
 * The quick paths of src/telemetry/step-log.ts (fields read in place, plain decimals read digit by digit, Megatron
 * time stamps read without Date.parse) give what the plain algorithms give, on generated lines and stamps.
 */
import { describe, expect, it } from 'vitest';
import { parseLogNumber, parseStepLog, stampSeconds } from './step-log.js';

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
});
