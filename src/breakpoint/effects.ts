/**
 * What multi-tenancy costs a synchronous training job, effect by effect, each a pure function that a test checks
 * against a hand computation (docs/breakpoint.md):
 * - fragmented placement on a tapered shared fabric: the plan re-costed with `estimate` on the bandwidth its
 *   placement really gets (GPUs per leaf domain as the full-bisection pod, the fabric's taper above it, less the
 *   share of the tapered links other tenants use);
 * - interference: the per-step spread of worker times in shared clusters (Alibaba PAI mini-batch trace); a
 *   synchronous step waits for the slowest of its n workers;
 * - mixed GPU generations: a placement that includes an older GPU runs every step at that GPU's pace.
 * @module
 */
import { type EstimateResult, estimate } from '../perf/estimate.js';
import type { ResolvedPlan, ResolvedSystem, ResolvedWorkload } from '../spec/resolve.js';

/** The shared data center's scale-out fabric. */
export interface SharedFabric {
  /** GPUs under one leaf switch (full bisection inside). */
  readonly gpusPerLeaf: number;
  /** Oversubscription above the leaf (r in r:1). */
  readonly taper: number;
  /** Share of the tapered links' bandwidth other tenants use. */
  readonly tenantLinkLoad: number;
}

/**
 * The system as a job placed over `leaves` leaf domains sees it: its GPUs split evenly over the leaves form the
 * full-bisection pods, and traffic between them crosses the taper, of which other tenants hold a share.
 */
export function placedSystem(system: ResolvedSystem, leaves: number, fabric: SharedFabric): ResolvedSystem {
  if (leaves <= 1)
    return { ...system, scaleOut: { ...system.scaleOut, podSize: system.gpuCount, oversubscription: 1 } };
  const perLeaf = Math.max(system.gpusPerNode, Math.floor(system.gpuCount / leaves));
  return {
    ...system,
    scaleOut: {
      ...system.scaleOut,
      podSize: Math.min(perLeaf, fabric.gpusPerLeaf),
      oversubscription: fabric.taper / (1 - fabric.tenantLinkLoad),
    },
  };
}

/** Step times of a plan placed aligned (one full-bisection fabric) and as placed in the shared cluster. */
export interface PlacementCost {
  readonly alignedSeconds: number;
  readonly placedSeconds: number;
  /** placed / aligned. */
  readonly slowdown: number;
}

/** Re-costs `plan` on its placement over `leaves` leaf domains (with `estimate`). */
export function placementCost(
  workload: ResolvedWorkload,
  system: ResolvedSystem,
  plan: ResolvedPlan,
  leaves: number,
  fabric: SharedFabric,
): PlacementCost | undefined {
  const seconds = (result: EstimateResult) => (result.ok ? result.step.seconds : undefined);
  const aligned = seconds(estimate(workload, placedSystem(system, 1, fabric), plan));
  const placed = seconds(estimate(workload, placedSystem(system, leaves, fabric), plan));
  if (aligned === undefined || placed === undefined) return undefined;
  return { alignedSeconds: aligned, placedSeconds: placed, slowdown: placed / aligned };
}

/** Standard normal density and distribution (Abramowitz and Stegun 26.2.17 for Φ, error < 7.5e-8). */
function phi(x: number): number {
  return Math.exp(-0.5 * x * x) / Math.sqrt(2 * Math.PI);
}
function Phi(x: number): number {
  const t = 1 / (1 + 0.2316419 * Math.abs(x));
  const poly = t * (0.31938153 + t * (-0.356563782 + t * (1.781477937 + t * (-1.821255978 + t * 1.330274429))));
  const tail = phi(x) * poly;
  return x >= 0 ? 1 - tail : tail;
}

/** E[max of n independent standard normals] = ∫ x·n·φ(x)·Φ(x)^(n−1) dx, by the midpoint rule on [−10, 10]. */
export function expectedMaxNormal(n: number): number {
  if (n <= 1) return 0;
  const steps = 20000;
  const width = 20 / steps;
  let sum = 0;
  for (let i = 0; i < steps; i++) {
    const x = -10 + (i + 0.5) * width;
    sum += x * n * phi(x) * Phi(x) ** (n - 1) * width;
  }
  return sum;
}

/**
 * Mean step slowdown of a synchronous job of `workers` workers whose per-step times spread with coefficient of
 * variation `cov` (independent normal): the step takes the slowest, E[max] = 1 + cov·E[max of n N(0,1)].
 */
export function interferenceSlowdown(cov: number, workers: number): number {
  return 1 + cov * expectedMaxNormal(workers);
}

/**
 * Expected step time when a fraction `olderShare` of the cluster's nodes is an older generation and the job's
 * `nodes` are drawn from it at random: with probability 1 − (1 − f)^nodes at least one is old, and every step
 * then runs at the older GPU's step time.
 */
export function mixedGenerationStep(
  newerSeconds: number,
  olderSeconds: number,
  olderShare: number,
  nodes: number,
): { readonly seconds: number; readonly probabilityOlder: number } {
  const probabilityOlder = 1 - (1 - olderShare) ** nodes;
  return {
    seconds: (1 - probabilityOlder) * newerSeconds + probabilityOlder * Math.max(newerSeconds, olderSeconds),
    probabilityOlder,
  };
}

/**
 * The per-iteration coefficients of variation of the Alibaba PAI mini-batch trace, sorted: rows are jobs (a name,
 * then one value per iteration, blank where the job had ended), after a header row.
 */
export function traceCovValues(rows: readonly (readonly string[])[]): number[] {
  return rows
    .slice(1)
    .flatMap((row) =>
      row
        .slice(1)
        .filter((v) => v !== '')
        .map(Number),
    )
    .filter(Number.isFinite)
    .sort((a, b) => a - b);
}
