/**
 * Turns the H100 microbenchmark (data/calibration/h100-microbench.json) into the constants of the compute-rate
 * model: Hockney fits of BF16 and FP8 GEMMs, saturating fits of causal flash attention, the head-dimension
 * factor and the achieved HBM bandwidth.
 * @module
 */
import { errorStats, fitHockney, fitSaturating } from './fit.js';

/** The parts of the microbenchmark file the fit reads. */
export interface H100Microbench {
  readonly copy_GBps_rw: number;
  readonly gemm_bf16: readonly { m: number; n: number; k: number; seconds: number }[];
  readonly gemm_fp8: readonly { m: number; n: number; k: number; seconds: number }[];
  readonly attention_causal_bf16: readonly {
    seq: number;
    head_dim: number;
    heads: number;
    batch: number;
    fwd_s: number;
    fwdbwd_s: number;
  }[];
}

const round = (value: number, digits = 4) => Number(value.toPrecision(digits));

/** Fits every constant of the compute-rate model and reports the fit errors. */
export function fitH100(bench: H100Microbench) {
  const gemmKernels = (rows: H100Microbench['gemm_bf16']) =>
    rows.map((row) => ({ flops: 2 * row.m * row.n * row.k, seconds: row.seconds }));
  const hockneyErrors = (rows: H100Microbench['gemm_bf16'], fit: { overheadSeconds: number; tflops: number }) =>
    gemmKernels(rows).map((k) => (fit.overheadSeconds + k.flops / (fit.tflops * 1e12)) / k.seconds - 1);

  const bf16 = fitHockney(gemmKernels(bench.gemm_bf16));
  const fp8 = fitHockney(gemmKernels(bench.gemm_fp8));

  // Causal attention FLOPs as the benchmark counts them: forward 4·b·heads·s²·d / 2, forward+backward 3.5x that.
  const attention = bench.attention_causal_bf16.map((row) => {
    const forwardFlops = (4 * row.batch * row.heads * row.seq * row.seq * row.head_dim) / 2;
    return {
      ...row,
      forwardFlops,
      fwdTflops: forwardFlops / row.fwd_s / 1e12,
      fwdbwdTflops: (3.5 * forwardFlops) / row.fwdbwd_s / 1e12,
    };
  });
  const d128 = attention.filter((row) => row.head_dim === 128);
  const forward = fitSaturating(d128.map((row) => ({ x: row.seq, tflops: row.fwdTflops })));
  const forwardBackward = fitSaturating(d128.map((row) => ({ x: row.seq, tflops: row.fwdbwdTflops })));
  // Head-dimension factor d/(d + dHalf), solved from the one d = 64 point against the d = 128 fit at its length.
  const d64 = attention.find((row) => row.head_dim === 64);
  let headDimHalf = 64;
  if (d64) {
    const ratio = d64.fwdbwdTflops / ((forwardBackward.tflops * d64.seq) / (d64.seq + forwardBackward.half));
    // ratio = [64/(64+x)] / [128/(128+x)]  =>  x = 128·(1 − ratio) / (2·ratio − 1)
    headDimHalf = (128 * (1 - ratio)) / (2 * ratio - 1);
  }
  const attentionErrors = d128.map(
    (row) => (forwardBackward.tflops * (row.seq / (row.seq + forwardBackward.half))) / row.fwdbwdTflops - 1,
  );
  const gemmStats = errorStats(hockneyErrors(bench.gemm_bf16, bf16));
  const fp8Stats = errorStats(hockneyErrors(bench.gemm_fp8, fp8));
  const attentionStats = errorStats(attentionErrors);
  return {
    gemm: {
      bf16: { overheadSeconds: round(bf16.overheadSeconds), tflops: round(bf16.tflops) },
      fp8: { overheadSeconds: round(fp8.overheadSeconds), tflops: round(fp8.tflops) },
    },
    attention: {
      forward: { tflops: round(forward.tflops), halfSequence: round(forward.half) },
      forwardBackward: { tflops: round(forwardBackward.tflops), halfSequence: round(forwardBackward.half) },
      headDimHalf: round(headDimHalf),
    },
    copyGBps: round(bench.copy_GBps_rw),
    errors: {
      gemmBf16: { median: round(gemmStats.median, 3), p90: round(gemmStats.p90, 3), points: bench.gemm_bf16.length },
      gemmFp8: { median: round(fp8Stats.median, 3), p90: round(fp8Stats.p90, 3), points: bench.gemm_fp8.length },
      attention: { median: round(attentionStats.median, 3), max: round(attentionStats.max, 3), points: d128.length },
    },
  };
}
