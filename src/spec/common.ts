/**
 * Building blocks shared by every spec schema: counts, positive numbers and the SI-suffixed quantities that users
 * write in YAML (`15.6T` tokens, `16M` tokens per batch).
 * @module
 */
import { z } from 'zod';
import { LIMITS } from './limits.js';

const SI_SUFFIX: Readonly<Record<string, number>> = { K: 1e3, M: 1e6, B: 1e9, G: 1e9, T: 1e12, P: 1e15 };
const QUANTITY_PATTERN = /^\s*(\d+(?:\.\d+)?(?:e[+-]?\d+)?)\s*([KMBGTP]?)\s*$/i;

/**
 * Parses `'15.6T'`, `'16M'`, `'2e12'` or `'4096'` into a number (SI: K = 1e3, M = 1e6, B = G = 1e9, T = 1e12,
 * P = 1e15). Returns undefined for anything else.
 */
export function parseQuantity(text: string): number | undefined {
  const match = QUANTITY_PATTERN.exec(text);
  if (!match) return undefined;
  const [, digits = '', suffix = ''] = match;
  const scale = suffix === '' ? 1 : SI_SUFFIX[suffix.toUpperCase()];
  return scale === undefined ? undefined : Number(digits) * scale;
}

export { LIMITS } from './limits.js';

/** A positive integer count no larger than `max` (layers, heads, GPUs). */
export const positiveInt = (max: number) => z.number().int().positive().max(max);

/** A positive number no larger than `max` (bandwidths, powers, prices); the bound also rules out Infinity. */
export const positiveNumber = (max: number) => z.number().positive().max(max);

/** A number from 0 to `max` (rates that may be switched off, times that may be zero). */
export const nonNegativeNumber = (max: number) => z.number().nonnegative().max(max);

/**
 * A large positive count that may be written with an SI suffix (`15.6T`, `16M`); rounds to the nearest integer.
 * JSON Schema shows it as a number or a suffixed string.
 */
export const quantity = (max: number = LIMITS.tokens) =>
  z
    .union([
      z.number(),
      z
        .string()
        .regex(QUANTITY_PATTERN, { message: 'expected a number, optionally with an SI suffix such as 16M or 15.6T' }),
    ])
    .transform((value) => (typeof value === 'number' ? value : (parseQuantity(value) ?? Number.NaN)))
    .pipe(z.number().positive().max(max))
    .transform((value) => Math.round(value));

/**
 * Refinement options that run a cross-field check even when some fields failed their own checks, so one pass
 * reports every problem. The check still needs an object to look at; inside it, fields must be guarded with
 * {@link isCount} since they may hold anything.
 */
export const ALWAYS = {
  when: (payload: { value: unknown }) => typeof payload.value === 'object' && payload.value !== null,
} as const;

/** True for a positive integer (a field that passed, or would pass, {@link positiveInt}). */
export function isCount(value: unknown): value is number {
  return typeof value === 'number' && Number.isInteger(value) && value > 0;
}
