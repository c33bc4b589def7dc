/**
 * Building blocks shared by every spec schema: counts, positive numbers and the SI-suffixed quantities that users
 * write in YAML (`15.6T` tokens, `16M` tokens per batch).
 * @module
 */
import { z } from 'zod';

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

/**
 * Physical ranges shared by several fields. Each bound is argued to sit far beyond any real system, so that it
 * only ever refuses typos and nonsense (1e308 GPUs), never a machine someone builds.
 */
export const LIMITS = {
  /** GPUs in one cluster or job: 2^24 = 16.8 M, 16× the largest fabric modelled and 80× xAI's 200k-GPU Colossus. */
  gpus: 2 ** 24,
  /** Transformer layers: 10,000, 50× the deepest published LLMs (GPT-3 96, Llama 3 405B 126). */
  layers: 10_000,
  /** Model widths (hidden, FFN, ranks): 2^22 = 4.2 M, 80× the widest published FFN (53,248 in Llama 3 405B). */
  width: 2 ** 22,
  /** Attention heads: 16,384, 128× Llama 3 405B's 128. */
  heads: 16_384,
  /** Tokens in one sequence: 2^24 = 16.8 M, beyond the 10 M-token contexts published. */
  sequence: 2 ** 24,
  /** Tokens of a whole training run: 10^16, 250× Llama 3's 15.6 T and 1,000× any public run today. */
  tokens: 1e16,
  /** Power of one GPU, W: 10 kW, 7× a B300 (1,400 W). */
  gpuWatts: 10_000,
  /** Bandwidths in GB/s (HBM, scale-up, storage per GPU): 10^6, 125× an 8 TB/s B200 HBM stack. */
  bandwidthGBps: 1e6,
  /** Dense peak of one accelerator, TFLOP/s: 10^6 (1 EFLOP/s), 100× a B300 at FP4. */
  tflops: 1e6,
  /** Seconds of any one delay (detection, restart, swap): a week. */
  delaySeconds: 7 * 86400,
  /** Wall-clock days of one run or deadline: ten years. */
  days: 3650,
  /** Money in USD for one budget: 10^13, 30× the largest announced AI build-outs. */
  usd: 1e13,
} as const;

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
