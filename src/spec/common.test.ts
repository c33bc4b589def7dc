import { describe, expect, it } from 'vitest';
import { parseQuantity, quantity } from './common.js';

describe('quantities with SI suffixes', () => {
  it('parses plain numbers and suffixes', () => {
    expect(parseQuantity('4096')).toBe(4096);
    expect(parseQuantity('16M')).toBe(16e6);
    expect(parseQuantity('15.6T')).toBeCloseTo(15.6e12);
    expect(parseQuantity('300b')).toBe(300e9);
    expect(parseQuantity('2e12')).toBe(2e12);
  });

  it('rejects anything else', () => {
    expect(parseQuantity('lots')).toBeUndefined();
    expect(parseQuantity('16 Mi')).toBeUndefined();
    expect(parseQuantity('')).toBeUndefined();
  });

  it('the schema rounds to an integer and refuses zero and negatives', () => {
    expect(quantity().parse('15.6T')).toBe(15_600_000_000_000);
    expect(quantity().safeParse(0).success).toBe(false);
    expect(quantity().safeParse(-5).success).toBe(false);
    expect(quantity().safeParse('5X').success).toBe(false);
  });
});
