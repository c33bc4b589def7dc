/**
 * The parts of an estimate's step time and memory as labelled rows, shared by `tokenworks estimate` and the
 * plan reports so both show the same breakdown.
 * @module
 */
import type { MemoryBreakdown, StepBreakdown } from '../perf/estimate.js';

/** The step's parts that took time, in seconds, in a fixed order (they add up to `step.seconds`). */
export function stepParts(step: StepBreakdown): [string, number][] {
  const comm = step.exposedCommunication;
  const parts: [string, number][] = [
    ['compute (forward, backward, recompute)', step.compute],
    ['pipeline bubble', step.bubble],
    ['stage imbalance', step.imbalance],
    ['exposed TP communication', comm.tp],
    ['exposed CP communication', comm.cp],
    ['exposed EP all-to-all', comm.ep],
    ['exposed PP send/receive', comm.pp],
    ['exposed DP gradient/parameter sync', comm.dp],
    ['optimizer step', step.optimizer],
    ['exposed activation offload (host copies)', step.offload],
  ];
  return parts.filter(([, seconds]) => seconds !== 0);
}

/** The busiest GPU's memory by kind, in bytes, ending with the total. */
export function memoryParts(memory: MemoryBreakdown): [string, number][] {
  return [
    ['weights', memory.weights],
    ['gradients', memory.gradients],
    ['optimizer state', memory.optimizer],
    ['activations', memory.activations],
    ['communication buffers', memory.buffers],
    ['allocator reserve', memory.reserve],
    ['total', memory.total],
  ];
}
