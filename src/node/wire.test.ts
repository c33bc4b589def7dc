/** The wire form keeps what JSON loses, refuses what is not plain data, and carries a task error's code. */
import { describe, expect, it } from 'vitest';
import { TokenworksError } from '../errors.js';
import { errorFromWire, errorToWire, fromWire, toWire } from './wire.js';

describe('wire JSON', () => {
  it('round-trips undefined properties and items, NaN, ±Infinity and -0 exactly', () => {
    const value = {
      a: undefined,
      b: [1, undefined, Number.NaN],
      c: { d: Number.POSITIVE_INFINITY, e: -Infinity },
      f: -0,
      g: 'x',
      h: null,
    };
    const back = fromWire(JSON.parse(JSON.stringify(toWire(value))));
    expect(back).toStrictEqual(value);
    expect(Object.is((back as { f: number }).f, -0)).toBe(true);
    expect('a' in (back as object)).toBe(true);
    // Plain JSON would not: the property is dropped, NaN and Infinity become null, -0 becomes 0.
    expect(JSON.parse(JSON.stringify(value))).not.toStrictEqual(value);
  });

  it('refuses values that are not plain data, naming where they are', () => {
    expect(() => toWire({ runs: [{ at: new Map() }] })).toThrow(/\$\.runs\[0\]\.at is a Map/);
    expect(() => toWire({ f: () => 1 })).toThrow(/\$\.f is a function/);
  });

  it("rebuilds a TokenworksError's code, message, file and issues, and keeps other errors' name and message", () => {
    const error = new TokenworksError('SPEC_INVALID', 'pods.csv: 2 bad rows', {
      file: 'pods.csv',
      issues: [{ code: 'row', path: 'line 3', message: 'num_gpu is not a number' }],
    });
    const reason = errorToWire(error);
    expect(reason.startsWith('pods.csv: 2 bad rows\n')).toBe(true);
    expect(errorFromWire(reason, 'job 1')).toStrictEqual(error);
    const range = errorFromWire(errorToWire(new RangeError('replicas must be ≥ 1')), 'job 2');
    expect([range.name, range.message]).toEqual(['RangeError', 'replicas must be ≥ 1']);
    expect(errorFromWire('job stalled more than allowable limit', 'queue job 7 failed').message).toBe(
      'queue job 7 failed: job stalled more than allowable limit',
    );
  });
});
