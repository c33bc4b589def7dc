/**
 * Compute-rate constants fitted to one H100 SXM (data/calibration/h100-microbench.json) by
 * scripts/fit-compute-rates.ts. Generated: do not edit by hand; test/compute-fit.test.ts checks it.
 * @module
 */

/** The fitted H100 constants and how well they reproduce the measurements. */
export const H100_FIT = {
  gemm: {
    bf16: {
      overheadSeconds: 0.00003001,
      tflops: 706.2,
    },
    fp8: {
      overheadSeconds: 0.00003589,
      tflops: 1350,
    },
  },
  attention: {
    forward: {
      tflops: 597,
      halfSequence: 529,
    },
    forwardBackward: {
      tflops: 604.1,
      halfSequence: 1569,
    },
    headDimHalf: 61.6,
  },
  copyGBps: 2957,
  errors: {
    gemmBf16: {
      median: 0.0385,
      p90: 0.114,
      points: 192,
    },
    gemmFp8: {
      median: 0.0307,
      p90: 0.1,
      points: 7,
    },
    attention: {
      median: 0.0074,
      max: 0.0206,
      points: 5,
    },
  },
} as const;
