/**
 * GEMM efficiency of the stacks other than the calibration's own, relative to the calibrated rate, fitted by
 * scripts/fit-stack-efficiency.ts on the even-indexed rows of each stack (PyTorch stacks in
 * data/calibration/published-runs.pytorch.json, older Megatron stacks in data/calibration/published-runs.calibration.json;
 * the odd-indexed rows are held out; docs/validation.md reports both). Generated: do not edit by hand.
 * @module
 */

/** Fitted efficiency per stack and precision (1 where fewer than 4 rows could be fitted on). */
export const STACK_FIT = {
  'pytorch-fsdp': { bf16: 1.09, fp8: 1.03 },
  torchtitan: { bf16: 1, fp8: 0.97 },
  'megatron-lm-2021': { bf16: 1.04, fp8: 1 },
  'megatron-lm-2022': { bf16: 1.06, fp8: 1 },
  'megatron-deepspeed': { bf16: 1, fp8: 1 },
} as const;
