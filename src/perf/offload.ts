/**
 * The fewest layers whose activations must go to host memory for a plan to fit in HBM (activation offload,
 * Megatron-Core cpu_offloading_num_layers), shared by plan search, explain and validation.
 * @module
 */
import type { Estimate, EstimateResult } from './estimate.js';

/**
 * The fewest offloaded layers (1 to layers − 1: Megatron-Core offloads fewer than num_layers) with which `attempt`
 * fits in HBM, by bisection: HBM need falls as layers are offloaded while host-memory need grows, so the fewest is
 * also the likeliest to fit the host. At most ⌈log2 layers⌉ + 1 attempts; undefined when none fits.
 */
export function fewestOffloaded<P>(
  layers: number,
  attempt: (offloaded: number) => { readonly plan: P; readonly result: EstimateResult },
): { readonly plan: P; readonly result: Estimate } | undefined {
  if (layers < 2) return undefined;
  const outOfHbm = (tried: { readonly result: EstimateResult }) =>
    !tried.result.ok && tried.result.issues[0]?.code === 'out_of_memory';
  let best = attempt(layers - 1);
  if (outOfHbm(best)) return undefined;
  let low = 1;
  let high = layers - 1; // fits in HBM
  while (low < high) {
    const middle = (low + high) >> 1;
    const tried = attempt(middle);
    if (outOfHbm(tried)) {
      low = middle + 1;
    } else {
      best = tried;
      high = middle;
    }
  }
  return best.result.ok ? { plan: best.plan, result: best.result } : undefined;
}

/**
 * Activation offload as the other way to fit: for each weight option (BF16 weights, then FP8 weights on a
 * low-precision run), the fewest offloaded layers that fit ({@link fewestOffloaded}); the fastest of them, kept only
 * when it beats `current` or `current` does not fit (the recipes are tuned for throughput). Undefined otherwise.
 */
export function offloadInstead<P>(
  layers: number,
  weightOptions: readonly boolean[],
  attempt: (offloaded: number, lowPrecisionWeights: boolean) => { readonly plan: P; readonly result: EstimateResult },
  current: EstimateResult,
): { readonly plan: P; readonly result: Estimate } | undefined {
  let best: { readonly plan: P; readonly result: Estimate } | undefined;
  for (const lowPrecisionWeights of weightOptions) {
    const found = fewestOffloaded(layers, (offloaded) => attempt(offloaded, lowPrecisionWeights));
    const bar = best?.result ?? (current.ok ? current : undefined);
    if (found && (!bar || found.result.tokensPerSecond > bar.tokensPerSecond)) best = found;
  }
  return best;
}
