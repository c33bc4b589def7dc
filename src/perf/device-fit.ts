/**
 * What training shows of parts the catalog has no GEMM measurement for, fitted by scripts/fit-device-capability.ts on
 * pairs of one recipe of one release run on the part and on a reference part with a measured MAMF
 * (data/calibration/published-runs.calibration.json): gb300 against gb200 (MAMF 1822 TFLOP/s): bf16GemmTflops 2296 (1.26 × gb200) on 21 pairs not FP4 (FP8, MXFP8, FP8-CS (FP8-MX), FP8-CS): ratio error median 11.0% with the ratio of peaks, 1.3% fitted (per model, signed: LLAMA3.1_405B 11 pairs +0.8%, LLAMA3_70B 9 pairs -0.9%, LLAMA3_8B 1 pairs +1.7%); gb300: fp4OverFp8 1.97 on 9 FP4 pairs: ratio error median 14.4% with the ratio of peaks, 1.7% fitted (per model, signed: LLAMA3.1_405B 5 pairs -0.5%, LLAMA3_70B 4 pairs -18.7%); gb300 MoE rows (held out, 40): median 13.1% with the ratio of peaks, 10.8% fitted; 34 MoE pairs: ratio error median 10.1% with the ratio of peaks, 8.8% fitted. Generated: do not edit by hand.
 * @module
 */

import type { DeviceFit } from './device-capability.js';

/** Fitted capability per catalog accelerator, with the reference part and the rows fitted on. */
export const DEVICE_FIT: Readonly<Record<string, DeviceFit>> = {
  gb300: {
    reference: 'gb200',
    bf16GemmTflops: 2296,
    fp4OverFp8: 1.97,
    rows: [
      'bridge-arch-25.11-llama3-1-405b-dgx-gb300-256-fp8cs-207',
      'bridge-arch-25.11-llama3-70b-dgx-gb300-64-fp8cs-206',
      'bridge-arch-25.11-llama3-8b-dgx-gb300-8-fp8csfp8mx-205',
      'bridge-arch-26.02-llama3-1-405b-dgx-gb300-256-fp8-183',
      'bridge-arch-26.02-llama3-1-405b-dgx-gb300-256-mxfp8-181',
      'bridge-arch-26.02-llama3-1-405b-dgx-gb300-256-nvfp4-179',
      'bridge-arch-26.02-llama3-70b-dgx-gb300-64-fp8-176',
      'bridge-arch-26.02-llama3-70b-dgx-gb300-64-mxfp8-174',
      'bridge-arch-26.02-llama3-70b-dgx-gb300-64-nvfp4-172',
      'bridge-arch-26.02.01-llama3-1-405b-dgx-gb300-256-fp8-147',
      'bridge-arch-26.02.01-llama3-1-405b-dgx-gb300-256-mxfp8-145',
      'bridge-arch-26.02.01-llama3-1-405b-dgx-gb300-256-nvfp4-143',
      'bridge-arch-26.02.01-llama3-70b-dgx-gb300-64-fp8-140',
      'bridge-arch-26.02.01-llama3-70b-dgx-gb300-64-mxfp8-138',
      'bridge-arch-26.02.01-llama3-70b-dgx-gb300-64-nvfp4-136',
      'bridge-arch-26.04-llama3-1-405b-dgx-gb300-256-fp8-103',
      'bridge-arch-26.04-llama3-1-405b-dgx-gb300-256-mxfp8-101',
      'bridge-arch-26.04-llama3-1-405b-dgx-gb300-256-nvfp4-99',
      'bridge-arch-26.04-llama3-70b-dgx-gb300-64-fp8-96',
      'bridge-arch-26.04-llama3-70b-dgx-gb300-64-mxfp8-94',
      'bridge-arch-26.04-llama3-70b-dgx-gb300-64-nvfp4-92',
      'bridge-arch-26.04.01-llama3-1-405b-dgx-gb300-256-fp8-52',
      'bridge-arch-26.04.01-llama3-1-405b-dgx-gb300-256-mxfp8-53',
      'bridge-arch-26.04.01-llama3-1-405b-dgx-gb300-256-nvfp4-54',
      'bridge-arch-26.04.01-llama3-70b-dgx-gb300-64-fp8-45',
      'bridge-arch-26.04.01-llama3-70b-dgx-gb300-64-mxfp8-46',
      'bridge-arch-26.04.01-llama3-70b-dgx-gb300-64-nvfp4-47',
      'bridge-arch-26.06-llama3-1-405b-dgx-gb300-256-fp8-14',
      'bridge-arch-26.06-llama3-1-405b-dgx-gb300-256-mxfp8-15',
      'bridge-arch-26.06-llama3-1-405b-dgx-gb300-256-nvfp4-16',
    ],
  },
};
