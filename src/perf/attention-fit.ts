/**
 * Head-dimension sensitivity of the published attention kernels (FlashAttention-2/3 and Triton; cuDNN's is measured,
 * h100-fit.ts), fitted by scripts/fit-attention-head-dim.ts on the even-indexed rows of
 * data/calibration/published-runs.pytorch.json whose head dimension is not 128 (the odd-indexed ones are held out;
 * docs/validation.md reports both). Generated: do not edit by hand.
 * @module
 */

/** The fitted constant: d½ of the factor [d/(d + d½)] / [128/(128 + d½)]. */
export const ATTENTION_FIT = {
  publishedHeadDimHalf: 5,
} as const;
