/**
 * The physical ranges of spec fields, as plain numbers (no schema library), so that front-ends can check flags
 * against them at start-up without loading the schemas.
 * @module
 */

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

/** Job sizes one comparison may sweep: 64 (a doubling sweep from 1 GPU to 2^24 has 25). */
export const MAX_SIZES = 64;

/** The multi-tenancy effects of a comparison, by their names in the spec's `compare.effects`. */
export const EFFECT_NAMES = [
  'queue',
  'fragmentation',
  'contention',
  'interference',
  'mixedGenerations',
  'preemption',
  'noSpares',
] as const;
