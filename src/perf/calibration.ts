/**
 * The few constants of the performance model that no microbenchmark gives: how much of the isolated kernel
 * rate a GEMM keeps inside a full training step (clock throttling under whole-GPU load, SMs taken by
 * overlapped communication kernels, Transformer Engine scaling work), per precision. They are fitted by
 * scripts/fit-training-efficiency.ts on the H100 rows of the published-run set only (FIT_SET below); every
 * other row validates them. docs/model.md and docs/validation.md give the figures.
 * @module
 */
import type { MatmulPrecision } from '../spec/workload.js';
import { ATTENTION_FIT } from './attention-fit.js';
import type { DeviceCapability } from './device-capability.js';
import { DEVICE_FIT } from './device-fit.js';

export type { DeviceCapability } from './device-capability.js';

/** Constants fitted on published runs. */
export interface Calibration {
  /** Share of the microbenchmark GEMM and attention rate sustained in training, per precision. */
  readonly sustainedEfficiency: Readonly<Record<MatmulPrecision, number>>;
  /**
   * Share of the modelled speed an MoE layer reaches: routing, token sorting, capacity bookkeeping and the many
   * small kernels of the Megatron-Core MoE path that the per-kernel model does not see.
   */
  readonly moeLayerEfficiency: number;
  /** d½ of the published attention kernels' head-dimension factor (attention-fit.ts); cuDNN's is measured. */
  readonly publishedHeadDimHalf: number;
  /** Capabilities fitted from training runs, by catalog accelerator id (device-fit.ts). */
  readonly deviceCapability: Readonly<Record<string, DeviceCapability>>;
}

/**
 * Rows each constant is fitted on (scripts/fit-training-efficiency.ts): BF16 and FP8 efficiency on dense H100
 * rows, the MoE layer efficiency on MoE H100 rows, FP4 efficiency on dense GB200 FP4 rows (no H100 runs FP4); the
 * device capabilities on the dense rows of their pairs (scripts/fit-device-capability.ts, listed in device-fit.ts).
 */
export function isFitRow(row: { id: string; gpu: string; arch: 'dense' | 'moe'; precision: string }): boolean {
  return (
    row.gpu === 'h100-sxm' ||
    (row.gpu === 'gb200' && row.arch === 'dense' && row.precision === 'fp4') ||
    DEVICE_FIT_ROWS.has(row.id)
  );
}

const DEVICE_FIT_ROWS: ReadonlySet<string> = new Set(Object.values(DEVICE_FIT).flatMap((fit) => fit.rows));

/** The fitted calibration (scripts/fit-training-efficiency.ts). */
export const DEFAULT_CALIBRATION: Calibration = {
  sustainedEfficiency: { bf16: 0.87, fp8: 0.81, fp4: 0.61 },
  moeLayerEfficiency: 0.63,
  publishedHeadDimHalf: ATTENTION_FIT.publishedHeadDimHalf,
  deviceCapability: Object.fromEntries(
    Object.entries(DEVICE_FIT).map(([id, fit]) => [
      id,
      { bf16GemmTflops: fit.bf16GemmTflops, ...(fit.fp4OverFp8 === undefined ? {} : { fp4OverFp8: fit.fp4OverFp8 }) },
    ]),
  ),
};
