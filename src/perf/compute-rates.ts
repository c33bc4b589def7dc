/**
 * How fast one accelerator runs each kind of kernel: GEMMs (Hockney model fitted on the H100), causal flash
 * attention (saturating in sequence length), and memory-bound kernels (bytes over achieved HBM bandwidth).
 * Other accelerators inherit the H100 fit scaled by their best measured GEMM rate (MAMF) where the catalog has
 * one, else by the capability fitted from training runs where there is one (device-fit.ts), else by their dense peak;
 * docs/model.md explains the transfer. A GPU power cap below the TDP (`gpuPowerLimitW`)
 * slows the compute kernels by the sustained SM clock the cap allows (power-clock-fit.ts, docs/model.md § Power cap).
 * @module
 */
import { findAccelerator } from '../catalog/index.js';
import type { AttentionKernel } from '../catalog/stacks.js';
import type { Accelerator } from '../spec/resolve.js';
import type { MatmulPrecision } from '../spec/workload.js';
import { type Calibration, DEFAULT_CALIBRATION, type DeviceCapability } from './calibration.js';
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
  /** Asymptotic causal flash-attention rate, forward and forward+backward, FLOP/s (BF16): the measured (cuDNN) kernel. */
  readonly attentionForwardFlops: number;
  readonly attentionTrainingFlops: number;
  /** Asymptotic rates of every fused attention kernel, forward and forward+backward, FLOP/s (BF16). */
  readonly attention: Readonly<Record<FusedAttentionKernel, AttentionRate>>;
  /** Achieved HBM bandwidth for memory-bound kernels, bytes/s. */
  readonly memoryBytesPerSecond: number;
  /** d½ of the head-dimension factor of the published (non-cuDNN) attention kernels (calibration). */
  readonly publishedHeadDimHalf: number;
}

/**
 * Ratio of an accelerator's BF16 GEMM capability to the reference H100: measured MAMF over the H100's where the
 * catalog has it, else the capability fitted from training runs against a part with a MAMF (calibration
 * `deviceCapability`, scripts/fit-device-capability.ts), else the ratio of dense BF16 peaks. One ratio serves every
 * precision, each then scaled by the device's own peak ratio to BF16: measured FP8 MAMF is power-capped differently
 * on each part, and the BF16 ratio tracks published FP8 training throughput across generations better
 * (docs/validation.md).
 */
function gemmScale(accelerator: Accelerator, fitted: DeviceCapability | undefined): number {
  const measured = accelerator.measuredGemmTflops.bf16 ?? fitted?.bf16GemmTflops;
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

/** Fused attention kernels (everything but the unfused core, which runs as GEMMs and memory-bound kernels). */
export type FusedAttentionKernel = Exclude<AttentionKernel, 'unfused'>;

/** Asymptotic rate of one attention kernel (Hockney r∞ of the saturating fit), FLOP/s. */
export interface AttentionRate {
  readonly forward: number;
  readonly training: number;
}

/**
 * Published attention-kernel efficiency: share of the dense BF16 peak at sequence 16K, head dimension 128, causal,
 * forward (f) and backward (b) with the FlashAttention-2 paper's FLOP convention (backward = 2.5 × forward FLOPs;
 * Dao 2023, arXiv:2307.08691 sec. 4.1). The forward+backward share follows: 3.5 / (1/f + 2.5/b).
 */
export interface KernelEfficiency {
  readonly forward: number;
  readonly backward: number;
}

/** Share of the forward+backward of a kernel, from its forward and backward shares (FLOPs F and 2.5 F). */
export const trainingShare = (e: KernelEfficiency): number => 3.5 / (1 / e.forward + 2.5 / e.backward);

/** Backward share that gives forward+backward share `both` with forward share `forward` (inverse of trainingShare). */
const backwardShare = (forward: number, both: number): number => 2.5 / (3.5 / both - 1 / forward);

// FlashAttention-2 on A100: forward up to 73% of peak (230 TFLOP/s; Dao 2023 abstract and sec. 4); forward+backward
// about 61% (≈ 190 TFLOP/s causal, head dim 128, Fig. 4d; read from the figure, not re-checked in text).
const FA2_AMPERE: KernelEfficiency = { forward: 0.73, backward: backwardShare(0.73, 0.61) };
// FlashAttention-2 on H100 without Hopper instructions: forward 35% (Shah et al. 2024, arXiv:2407.08608 abstract:
// "FlashAttention-2 achieving only 35% utilization on the H100"), forward+backward up to 335 TFLOP/s of 989 (Dao 2023
// sec. 4.1, Fig. 7).
const FA2_HOPPER: KernelEfficiency = { forward: 0.35, backward: backwardShare(0.35, 335 / 989) };
// FlashAttention in Triton: FlashAttention-2 is 1.3-1.5× faster forward (1.4 taken) and about 2× faster backward
// (Dao 2023 sec. 4.1); the same ratios on H100 (the 2023 Triton kernel used no Hopper instructions either).
const tritonOf = (fa2: KernelEfficiency): KernelEfficiency => ({
  forward: fa2.forward / 1.4,
  backward: fa2.backward / 2,
});
// FlashAttention-3 on H100: forward up to 740 TFLOP/s BF16, 75% (Shah et al. 2024 abstract); backward 1.5-1.75×
// FlashAttention-2's (sec. 4.1; 1.625 taken). FlashAttention-3 runs on Hopper only: elsewhere FlashAttention-2's.
const FA3_HOPPER: KernelEfficiency = { forward: 0.75, backward: 1.625 * FA2_HOPPER.backward };

/** Published kernel efficiencies by GPU generation; generations without figures take Hopper's (an assumption). */
export const PUBLISHED_ATTENTION: Readonly<
  Record<'ampere' | 'hopper', Readonly<Record<Exclude<FusedAttentionKernel, 'cudnn'>, KernelEfficiency>>>
> = {
  ampere: { 'flash-attention-2': FA2_AMPERE, 'flash-attention-3': FA2_AMPERE, triton: tritonOf(FA2_AMPERE) },
  hopper: { 'flash-attention-2': FA2_HOPPER, 'flash-attention-3': FA3_HOPPER, triton: tritonOf(FA2_HOPPER) },
};

/** Sequence length at which the published efficiencies are read (the longest of Dao 2023's benchmarks). */
export const PUBLISHED_ATTENTION_SEQUENCE = 16384;

/** GPU generation of an accelerator for the published kernel figures: Ampere (A100, A800), else Hopper's. */
export function attentionGeneration(accelerator: Pick<Accelerator, 'id' | 'name'>): 'ampere' | 'hopper' {
  return /\ba[18]00\b|a[18]00-/i.test(`${accelerator.id ?? ''} ${accelerator.name}`) ? 'ampere' : 'hopper';
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
  // A fitted capability stands in for a missing MAMF only, and for the catalog part only (an inline one has no id).
  const fitted =
    accelerator.id === undefined || accelerator.measuredGemmTflops.bf16 !== undefined
      ? undefined
      : calibration.deviceCapability[accelerator.id];
  const scale = gemmScale(accelerator, fitted);
  const bf16 = H100_FIT.gemm.bf16.tflops * 1e12 * scale;
  const fp8Peak = accelerator.peakTflops.fp8;
  const peakRatio = (peak: number | undefined) => (peak ?? accelerator.peakTflops.bf16) / accelerator.peakTflops.bf16;
  const referenceFp8Ratio = REFERENCE.peakTflops.fp8 / REFERENCE.peakTflops.bf16;
  const fp8 =
    fp8Peak === undefined ? bf16 : H100_FIT.gemm.fp8.tflops * 1e12 * scale * (peakRatio(fp8Peak) / referenceFp8Ratio);
  // No FP4 measurement: scale the FP8 rate by the ratio fitted from training where there is one, else by the ratio
  // of dense peaks (an assumption, docs/model.md).
  const fp4Peak = accelerator.peakTflops.fp4;
  const fp4 = fp4Peak === undefined || fp8Peak === undefined ? fp8 : fp8 * (fitted?.fp4OverFp8 ?? fp4Peak / fp8Peak);
  const attentionScale = scale * clock;
  const cudnn: AttentionRate = {
    forward: H100_FIT.attention.forward.tflops * 1e12 * attentionScale * sustained.bf16,
    training: H100_FIT.attention.forwardBackward.tflops * 1e12 * attentionScale * sustained.bf16,
  };
  // Published kernels: efficiency × dense BF16 peak × the power-capped clock × the sustained share, as r∞ of the
  // saturating fit s/(s + s½) read at the published sequence length.
  const published = PUBLISHED_ATTENTION[attentionGeneration(accelerator)];
  const peak = accelerator.peakTflops.bf16 * 1e12 * clock * sustained.bf16;
  const atSequence = (half: number) => (PUBLISHED_ATTENTION_SEQUENCE + half) / PUBLISHED_ATTENTION_SEQUENCE;
  const rateOf = (e: KernelEfficiency): AttentionRate => ({
    forward: e.forward * peak * atSequence(H100_FIT.attention.forward.halfSequence),
    training: trainingShare(e) * peak * atSequence(H100_FIT.attention.forwardBackward.halfSequence),
  });
  return {
    gemmFlops: {
      bf16: bf16 * sustained.bf16 * clock,
      fp8: fp8 * sustained.fp8 * clock,
      fp4: fp4 * sustained.fp4 * clock,
    },
    gemmOverheadSeconds: H100_FIT.gemm.bf16.overheadSeconds,
    attentionForwardFlops: cudnn.forward,
    attentionTrainingFlops: cudnn.training,
    attention: {
      cudnn,
      'flash-attention-3': rateOf(published['flash-attention-3']),
      'flash-attention-2': rateOf(published['flash-attention-2']),
      triton: rateOf(published.triton),
    },
    memoryBytesPerSecond: accelerator.hbmBandwidthGBps * 1e9 * (H100_FIT.copyGBps / REFERENCE.hbmBandwidthGBps),
    publishedHeadDimHalf: calibration.publishedHeadDimHalf,
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
  kernel: FusedAttentionKernel = 'cudnn',
): number {
  const fit = pass === 'forward' ? H100_FIT.attention.forward : H100_FIT.attention.forwardBackward;
  const rate = rates.attention[kernel];
  const peak = pass === 'forward' ? rate.forward : rate.training;
  // cuDNN's head-dimension factor is measured (h100-fit.ts); the published kernels' is fitted (attention-fit.ts).
  const half = kernel === 'cudnn' ? H100_FIT.attention.headDimHalf : rates.publishedHeadDimHalf;
  const headFactor = headDim / (headDim + half) / (128 / (128 + half));
  return flops / (peak * (sequence / (sequence + fit.halfSequence)) * headFactor);
}

/** Seconds of a memory-bound kernel moving `bytes` (reads plus writes) at the achieved HBM bandwidth. */
export function memorySeconds(rates: DeviceRates, bytes: number): number {
  return bytes / rates.memoryBytesPerSecond;
}
