/**
 * The case bench/estimate.mjs and bench/estimate-ab.mjs time: Llama 3 405B on 16,384 H100 with the Llama 3 paper's
 * 16K-GPU layout (TP 8, PP 16, DP 128), as a spec text each build loads with its own loader.
 */
export const ESTIMATE_CASE = `
workload:
  model: llama3-405b
  training: { totalTokens: 15.6T, sequenceLength: 8192, globalBatch: { sequences: 2048 }, precision: bf16 }
system:
  accelerator: h100-sxm
  gpuCount: 16384
  scaleOut: { nicBandwidthGbps: 400, topology: fat-tree, tiers: 3, podSize: 3072, oversubscription: 7 }
plan: { tp: 8, pp: 16, dp: 128, virtualStages: 1, microBatch: 1, recomputation: selective }
`;
