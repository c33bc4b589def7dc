/**
 * How fast one accelerator runs each kind of kernel: GEMMs (Hockney model fitted on the H100), causal flash
 * attention (saturating in sequence length), and memory-bound kernels (bytes over achieved HBM bandwidth).
 * Other accelerators inherit the H100 fit scaled by their best measured GEMM rate (MAMF) where the catalog has
 * one, else by their dense peak; docs/model.md explains the transfer. A GPU power cap below the TDP (`gpuPowerLimitW`)
 * slows the compute kernels by the sustained SM clock the cap allows (power-clock-fit.ts, docs/model.md § Power cap).
 * @module
 */
import { findAccelerator } from '../catalog/index.js';
import type { Accelerator } from '../spec/resolve.js';
import type { MatmulPrecision } from '../spec/workload.js';
import { type Calibration, DEFAULT_CALIBRATION } from './calibration.js';
import { H100_FIT } from './h100-fit.js';
import { POWER_CLOCK_FIT } from './power-clock-fit.js';

/** Precisions of matrix multiplies (defined in spec/workload.ts; re-exported for existing importers). */
export type { MatmulPrecision } from '../spec/workload.js';

/**
 * The H100 the microbenchmark ran on, read from its catalog entry (`h100-sxm`, sourced there): the reference of
 * every transfer.
 */
const REFERENCE = referenceH100();

function referenceH100() {
  const found = findAccelerator('h100-sxm');
  const mamf = found.found ? found.entry.measuredGemmTflops.bf16 : undefined;
  const fp8 = found.found ? found.entry.peakTflops.fp8 : undefined;
  if (!found.found || !mamf || !fp8) throw new Error('internal: the catalog lacks the reference H100 (h100-sxm)');
  const h100 = found.entry;
  return {
    peakTflops: { bf16: h100.peakTflops.bf16.value, fp8: fp8.value },
    measuredGemmTflops: { bf16: mamf.value }, // stas00 MAMF table
    hbmBandwidthGBps: h100.hbmBandwidthGBps.value,
  } as const;
}

/** Kernel rates of one accelerator. */
export interface DeviceRates {
  /** Asymptotic GEMM rate per precision (Hockney r∞), FLOP/s. */
  readonly gemmFlops: Readonly<Record<MatmulPrecision, number>>;
  /** Fixed time per GEMM kernel (Hockney t0), seconds. */
  readonly gemmOverheadSeconds: number;
  /** Asymptotic causal flash-attention rate, forward and forward+backward, FLOP/s (BF16). */
  readonly attentionForwardFlops: number;
  readonly attentionTrainingFlops: number;
  /** Achieved HBM bandwidth for memory-bound kernels, bytes/s. */
  readonly memoryBytesPerSecond: number;
}

/**
 * Ratio of an accelerator's BF16 GEMM capability to the reference H100: measured MAMF over the H100's where the
 * catalog has it, else the ratio of dense BF16 peaks. One ratio serves every precision, each then scaled by the
 * device's own peak ratio to BF16: measured FP8 MAMF is power-capped differently on each part, and the BF16 ratio
 * tracks published FP8 training throughput across generations better (docs/validation.md).
 */
function gemmScale(accelerator: Accelerator): number {
  const measured = accelerator.measuredGemmTflops.bf16;
  if (measured !== undefined) return measured / REFERENCE.measuredGemmTflops.bf16;
  return accelerator.peakTflops.bf16 / REFERENCE.peakTflops.bf16;
}

/**
 * Lowest power limit the driver accepts, as a share of the TDP: 200 of 700 W on the H100 SXM (`nvidia-smi -q`, Min
 * Power Limit 200.00 W, Max 700.00 W: ../shared/data/telemetry/nvidia-smi/captures, H100 80GB HBM3, driver 590.48.01).
 * The clock law is applied down to this share; a lower cap is taken at it (the driver would refuse it).
 */
export const MIN_POWER_LIMIT_SHARE = 200 / 700;

/**
 * Sustained SM clock under a power cap over the clock at the TDP, for a power-bound (compute) kernel: the cube law
 * P(f) = P0 + (TDP − P0)·(f/f_TDP)³ (dynamic power α·C·V²·f with V ∝ f in the DVFS range, Weste & Harris, CMOS VLSI
 * Design, 4th ed., sec. 5.2) solved for f: ((L − P0)/(TDP − P0))^(1/3), with P0 the floor share of the TDP fitted on
 * our H100 (power-clock-fit.ts: 118 W idle of 700 W). 1 without a TDP or a cap below it; the cap is taken at least at
 * {@link MIN_POWER_LIMIT_SHARE} of the TDP. GEMMs sit at the 700 W cap on the H100 (1.3–1.44 GHz of 1.98 GHz), so
 * compute kernels are power-bound at the TDP and a lower cap slows them by this ratio.
 */
export function powerCapClockRatio(tdpW: number | undefined, powerLimitW: number | undefined): number {
  if (tdpW === undefined || powerLimitW === undefined || !(powerLimitW < tdpW)) return 1;
  const floorW = POWER_CLOCK_FIT.floorShareOfLimit * tdpW;
  const limitW = Math.max(powerLimitW, MIN_POWER_LIMIT_SHARE * tdpW);
  return ((limitW - floorW) / (tdpW - floorW)) ** (1 / POWER_CLOCK_FIT.exponent);
}

const defaultRates = new WeakMap<Accelerator, DeviceRates>();

/**
 * Kernel rates of `accelerator` in training: the H100 fit, transferred, times the sustained efficiency, with GEMM and
 * attention rates scaled by {@link powerCapClockRatio} when the accelerator carries a power limit below its TDP
 * (`powerLimitW`, set from the spec's `system.gpuPowerLimitW` when resolved). Memory-bound kernels keep their rate:
 * HBM bandwidth follows the memory clock, which the SM power cap does not lower, and those kernels draw less than
 * the cap; communication is unchanged too.
 */
export function deviceRates(
  accelerator: Accelerator,
  calibration: Calibration = DEFAULT_CALIBRATION,
  powerLimitW: number | undefined = accelerator.powerLimitW,
): DeviceRates {
  if (calibration !== DEFAULT_CALIBRATION || powerLimitW !== accelerator.powerLimitW)
    return computeRates(accelerator, calibration, powerLimitW);
  let rates = defaultRates.get(accelerator);
  if (!rates) {
    rates = computeRates(accelerator, calibration, powerLimitW);
    defaultRates.set(accelerator, rates);
  }
  return rates;
}

function computeRates(
  accelerator: Accelerator,
  calibration: Calibration,
  powerLimitW: number | undefined,
): DeviceRates {
  const clock = powerCapClockRatio(accelerator.tdpW, powerLimitW);
  const sustained = calibration.sustainedEfficiency;
  const scale = gemmScale(accelerator);
  const bf16 = H100_FIT.gemm.bf16.tflops * 1e12 * scale;
  const fp8Peak = accelerator.peakTflops.fp8;
  const peakRatio = (peak: number | undefined) => (peak ?? accelerator.peakTflops.bf16) / accelerator.peakTflops.bf16;
  const referenceFp8Ratio = REFERENCE.peakTflops.fp8 / REFERENCE.peakTflops.bf16;
  const fp8 =
    fp8Peak === undefined ? bf16 : H100_FIT.gemm.fp8.tflops * 1e12 * scale * (peakRatio(fp8Peak) / referenceFp8Ratio);
  // No FP4 measurement: scale the FP8 rate by the ratio of dense peaks (an assumption, docs/model.md).
  const fp4Peak = accelerator.peakTflops.fp4;
  const fp4 = fp4Peak === undefined || fp8Peak === undefined ? fp8 : fp8 * (fp4Peak / fp8Peak);
  const attentionScale = scale * clock;
  return {
    gemmFlops: {
      bf16: bf16 * sustained.bf16 * clock,
      fp8: fp8 * sustained.fp8 * clock,
      fp4: fp4 * sustained.fp4 * clock,
    },
    gemmOverheadSeconds: H100_FIT.gemm.bf16.overheadSeconds,
    attentionForwardFlops: H100_FIT.attention.forward.tflops * 1e12 * attentionScale * sustained.bf16,
    attentionTrainingFlops: H100_FIT.attention.forwardBackward.tflops * 1e12 * attentionScale * sustained.bf16,
    memoryBytesPerSecond: accelerator.hbmBandwidthGBps * 1e9 * (H100_FIT.copyGBps / REFERENCE.hbmBandwidthGBps),
  };
}

/** Bytes per element of GEMM operands at each precision. */
export const OPERAND_BYTES: Readonly<Record<MatmulPrecision, number>> = { bf16: 2, fp8: 1, fp4: 0.5 };

/**
 * Seconds of one GEMM (m×k)·(k×n): Hockney's t0 + max(2mnk / r∞, bytes / bandwidth) (Hockney 1991; roofline,
 * Williams et al. 2009). Fitted on 192 H100 shapes with a 3.9% median error (h100-fit.ts).
 */
export function gemmSeconds(rates: DeviceRates, m: number, n: number, k: number, precision: MatmulPrecision): number {
  const flops = 2 * m * n * k;
  const bytes = OPERAND_BYTES[precision] * (m * k + k * n) + 2 * m * n;
  return rates.gemmOverheadSeconds + Math.max(flops / rates.gemmFlops[precision], bytes / rates.memoryBytesPerSecond);
}

/**
 * Seconds of causal flash attention for `flops` (hardware FLOPs, causal half counted) at sequence length
 * `sequence` and head dimension `headDim`: rate = r∞ · s/(s + s½) · f(d), with f(d) = [d/(d + d½)] / [128/(128 + d½)]
 * (fitted on the H100 benchmark; h100-fit.ts).
 */
export function attentionSeconds(
  rates: DeviceRates,
  flops: number,
  sequence: number,
  headDim: number,
  pass: 'forward' | 'training',
): number {
  const fit = pass === 'forward' ? H100_FIT.attention.forward : H100_FIT.attention.forwardBackward;
  const peak = pass === 'forward' ? rates.attentionForwardFlops : rates.attentionTrainingFlops;
  const half = H100_FIT.attention.headDimHalf;
  const headFactor = headDim / (headDim + half) / (128 / (128 + half));
  return flops / (peak * (sequence / (sequence + fit.halfSequence)) * headFactor);
}

/** Seconds of a memory-bound kernel moving `bytes` (reads plus writes) at the achieved HBM bandwidth. */
export function memorySeconds(rates: DeviceRates, bytes: number): number {
  return bytes / rates.memoryBytesPerSecond;
}
