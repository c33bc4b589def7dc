/**
 * Types of the device capabilities fitted from training runs (scripts/fit-device-capability.ts writes
 * device-fit.ts; calibration.ts carries them).
 * @module
 */

/**
 * What training shows of a part the catalog has no GEMM measurement for, relative to one it has
 * (scripts/fit-device-capability.ts, fitted on the same release's recipe run on both parts).
 */
export interface DeviceCapability {
  /** BF16 GEMM capability in the units of a measured MAMF (TFLOP/s), used where the catalog has none. */
  readonly bf16GemmTflops: number;
  /** Rate of FP4 GEMMs over FP8 GEMMs, used instead of the ratio of dense peaks. */
  readonly fp4OverFp8?: number;
}

/** One fitted part as scripts/fit-device-capability.ts writes it: the capability, its reference and its rows. */
export interface DeviceFit extends DeviceCapability {
  /** The part with a measured MAMF it was fitted against. */
  readonly reference: string;
  /** Ids of the rows of this part the fit used. */
  readonly rows: readonly string[];
}
