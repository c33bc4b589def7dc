/**
 * The size of a job, before any performance model: parameters, FLOPs per token, weight and training-state
 * memory, optimizer steps and total training compute, and the lower bound on time at 100% of dense peak.
 * This is what `tokenworks check` prints.
 * @module
 */
import { findModelPreset } from '../catalog/index.js';
import type { ActiveParamsConvention } from '../catalog/models.js';
import type { ResolvedSpec } from '../spec/resolve.js';
import {
  ADAM_STATE_BYTES_PER_PARAMETER,
  countParameters,
  type FlopsPerToken,
  flopsPerToken,
  type ParameterCounts,
  WEIGHT_BYTES_PER_PARAMETER,
} from './model-size.js';

/** Published parameter totals of a catalog model, for comparison. */
export interface PublishedParameters {
  readonly total: number;
  readonly active?: number;
  readonly activeConvention?: ActiveParamsConvention;
  readonly source: string;
}

/** Sizes of a spec's job. */
export interface SpecSummary {
  readonly parameters: ParameterCounts;
  readonly published?: PublishedParameters;
  readonly flopsPerToken: FlopsPerToken;
  /** BF16 weights of the whole model, bytes. */
  readonly weightBytes: number;
  /** Weights, gradients and Adam state of the whole model without sharding, bytes. */
  readonly trainingStateBytes: number;
  readonly optimizerSteps: number;
  /** Model FLOPs of the whole run: FLOPs per token × tokens. */
  readonly trainingFlops: number;
  readonly system?: {
    /** Dense peak of all GPUs at the training precision, FLOP/s. */
    readonly peakFlopsPerSecond: number;
    /** HBM of all GPUs, bytes. */
    readonly hbmBytes: number;
    /** Training time if every GPU ran at 100% of dense peak: a hard lower bound, seconds. */
    readonly lowerBoundSeconds: number;
  };
}

/** Computes the sizes of a resolved spec's job. */
export function summarizeSpec(spec: ResolvedSpec): SpecSummary {
  const { model, training } = spec.workload;
  const parameters = countParameters(model);
  const perToken = flopsPerToken(model, training.sequenceLength);
  const trainingFlops = perToken.total * training.totalTokens;
  const preset = spec.workload.modelId === undefined ? undefined : findModelPreset(spec.workload.modelId);
  let published: PublishedParameters | undefined;
  if (preset?.found) {
    const figures = preset.entry.published;
    published = {
      total: figures.totalParamsB.value * 1e9,
      ...(figures.activeParamsB && {
        active: figures.activeParamsB.value * 1e9,
        activeConvention: figures.activeParamsB.convention,
      }),
      source: figures.totalParamsB.source,
    };
  }
  let system: SpecSummary['system'];
  if (spec.system) {
    const { accelerator, gpuCount } = spec.system;
    const peakTflops =
      training.precision === 'fp8'
        ? (accelerator.peakTflops.fp8 ?? accelerator.peakTflops.bf16)
        : accelerator.peakTflops.bf16;
    const peakFlopsPerSecond = gpuCount * peakTflops * 1e12;
    system = {
      peakFlopsPerSecond,
      hbmBytes: gpuCount * accelerator.hbmGiB * 2 ** 30,
      lowerBoundSeconds: trainingFlops / peakFlopsPerSecond,
    };
  }
  return {
    parameters,
    ...(published && { published }),
    flopsPerToken: perToken,
    weightBytes: parameters.total * WEIGHT_BYTES_PER_PARAMETER,
    trainingStateBytes: parameters.total * ADAM_STATE_BYTES_PER_PARAMETER,
    optimizerSteps: Math.ceil(training.totalTokens / training.globalBatchTokens),
    trainingFlops,
    ...(system && { system }),
  };
}
