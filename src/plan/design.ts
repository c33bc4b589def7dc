/**
 * Design search: over accelerators and cluster sizes, the best plan of each (plan search), its factory (racks,
 * network, power, cost) and KPIs; the Pareto front over time-to-train, run cost and facility power; the
 * recommended point under the user's constraints, or which constraint binds and by how much.
 * @module
 */
import { ACCELERATORS, findFabric } from '../catalog/index.js';
import { systemPreset } from '../catalog/systems.js';
import type { MatmulPrecision } from '../perf/compute-rates.js';
import type { Estimate } from '../perf/estimate.js';
import type { Constraints } from '../spec/constraints.js';
import {
  acceleratorFromEntry,
  type ResolvedFacility,
  type ResolvedPlan,
  type ResolvedSystem,
  type ResolvedWorkload,
} from '../spec/resolve.js';
import { significant } from '../util/number.js';
import { explainPlan } from './explain.js';
import { designFactory, type Factory } from './factory.js';
import { searchPlans, withPrecision } from './search.js';

/** One evaluated design. */
export interface DesignPoint {
  readonly accelerator: string;
  readonly acceleratorName: string;
  readonly gpus: number;
  readonly system: ResolvedSystem;
  /** Matmul precision of its best plan (one of the precisions searched). */
  readonly precision: MatmulPrecision;
  readonly plan: ResolvedPlan;
  readonly estimate: Estimate;
  readonly factory: Factory;
  /** Which constraints it meets. */
  readonly meets: { readonly deadline: boolean; readonly power: boolean; readonly budget: boolean };
}

/** A constraint no design meets, and by how much the best design misses it. */
export interface BindingConstraint {
  readonly constraint: 'deadlineDays' | 'powerCapMW' | 'budgetUSD' | 'maxGpus' | 'cooling';
  readonly message: string;
}

/** The outcome of a design search. */
export interface DesignResult {
  readonly points: DesignPoint[];
  readonly pareto: DesignPoint[];
  readonly recommended?: DesignPoint;
  /** Why the recommended point was chosen, then the three strongest reasons for its plan. */
  readonly reasons: string[];
  readonly binding: BindingConstraint[];
  readonly skipped: { readonly accelerator: string; readonly gpus?: number; readonly reason: string }[];
}

/** Options of {@link searchDesigns}. */
export interface DesignOptions {
  readonly constraints?: Constraints;
  /** Accelerator ids to consider; default every catalog accelerator with a system preset. */
  readonly accelerators?: readonly string[];
  /** Matmul precisions each plan search may try (default: the workload's). */
  readonly precisions?: readonly MatmulPrecision[];
  /** GPU counts to try; default node- or rack-sized powers of two up to the GPU budget (or 65,536). */
  readonly gpuCounts?: readonly number[];
  /** Called after each evaluated point with (done, total), for progress bars. */
  readonly onProgress?: (done: number, total: number) => void;
}

const NIC_FABRIC: Readonly<Record<number, string>> = { 400: 'ndr-ib', 800: 'xdr-ib' };

/** The catalog system around an accelerator at a given size (reference server, its NICs, a fat tree). */
export function catalogSystem(acceleratorId: string, gpus: number): ResolvedSystem | undefined {
  const entry = ACCELERATORS.find((candidate) => candidate.id === acceleratorId);
  const preset = systemPreset(acceleratorId);
  if (!entry || !preset) return undefined;
  const nic = entry.scaleOutGbps?.value ?? 400;
  const fabricId = NIC_FABRIC[nic];
  const fabric = fabricId ? findFabric(fabricId) : undefined;
  const accelerator = acceleratorFromEntry(entry);
  return {
    accelerator,
    gpuCount: gpus,
    gpusPerNode: preset.gpusPerNode,
    nodes: gpus / preset.gpusPerNode,
    scaleUp: { domainSize: entry.scaleUp.domainSize.value, bandwidthGBps: entry.scaleUp.bandwidthGBps.value },
    scaleOut: {
      ...(fabric?.found && { fabricId: fabric.entry.id }),
      nicBandwidthGbps: nic,
      topology: 'rail-optimized',
      oversubscription: 1,
      podSize: gpus,
      tiersSpecified: false,
      ...(fabric?.found && { switchRadix: fabric.entry.switch.radix.value }),
    },
  };
}

/**
 * Default sizes: 64 GPUs, doubling. NVL72 systems too: a job of 64·2^k GPUs spreads over whole racks and leaves
 * the rest of the last rack's GPUs as spares (the batch rarely divides by 9).
 */
function defaultCounts(maxGpus: number): number[] {
  const unit = 64;
  const counts: number[] = [];
  for (let gpus = unit; gpus <= maxGpus; gpus *= 2) counts.push(gpus);
  return counts;
}

/** Points no other point beats on all of time, cost and power. */
export function paretoFront(points: readonly DesignPoint[]): DesignPoint[] {
  const metrics = (p: DesignPoint) => [
    p.factory.kpis.timeToTrainDays,
    p.factory.costUSD.run,
    p.factory.powerKW.facility,
  ];
  return points.filter((point) => {
    const a = metrics(point);
    return !points.some((other) => {
      if (other === point) return false;
      const b = metrics(other);
      return b.every((value, i) => value <= (a[i] ?? 0)) && b.some((value, i) => value < (a[i] ?? 0));
    });
  });
}

/** Searches accelerators and sizes for the factory that trains `workload` under `constraints`. */
export function searchDesigns(
  workload: ResolvedWorkload,
  facility: ResolvedFacility,
  options: DesignOptions = {},
): DesignResult {
  const constraints = options.constraints ?? {};
  const { jobs, skipped } = designJobs(options);
  const points: DesignPoint[] = [];
  let done = 0;
  for (const { accelerator, gpus } of jobs) {
    const outcome = evaluateDesign(workload, facility, constraints, accelerator, gpus, options.precisions);
    if ('reason' in outcome) skipped.push(outcome);
    else points.push(outcome);
    options.onProgress?.(++done, jobs.length);
  }
  return summarizeDesigns(workload, constraints, points, skipped);
}

/** The GPU counts and accelerators a design search tries, in a fixed order. */
export function designJobs(options: DesignOptions = {}): {
  jobs: { accelerator: string; gpus: number }[];
  skipped: DesignResult['skipped'];
} {
  const maxGpus = options.constraints?.maxGpus ?? 65536;
  const accelerators = options.accelerators ?? ACCELERATORS.filter((a) => systemPreset(a.id)).map((a) => a.id);
  const jobs: { accelerator: string; gpus: number }[] = [];
  const skipped: DesignResult['skipped'] = [];
  for (const accelerator of accelerators) {
    const counts = options.gpuCounts ?? defaultCounts(maxGpus);
    if (counts.length === 0)
      skipped.push({ accelerator, reason: `its smallest unit is larger than the ${maxGpus}-GPU budget` });
    for (const gpus of counts) jobs.push({ accelerator, gpus });
  }
  return { jobs, skipped };
}

/** Evaluates one accelerator at one size: its best plan, its factory and which constraints it meets. */
export function evaluateDesign(
  workload: ResolvedWorkload,
  facility: ResolvedFacility,
  constraints: Constraints,
  accelerator: string,
  gpus: number,
  precisions?: readonly MatmulPrecision[],
): DesignPoint | DesignResult['skipped'][number] {
  const system = catalogSystem(accelerator, gpus);
  if (!system) return { accelerator, gpus, reason: 'no server power or price in the catalog' };
  const wanted = precisions ?? [workload.training.precision];
  if (wanted.every((precision) => precision !== 'bf16' && system.accelerator.peakTflops[precision] === undefined)) {
    return { accelerator, gpus, reason: `no ${wanted.map((p) => p.toUpperCase()).join(' or ')} support` };
  }
  const search = searchPlans(workload, system, { top: 1, precisions: wanted });
  const best = search.best[0];
  if (!best) {
    const [reason] = Object.entries(search.rejected).sort((a, b) => b[1] - a[1]);
    return {
      accelerator,
      gpus,
      reason: `no plan fits (${reason ? `${reason[1]} layouts ${reason[0].replaceAll('_', ' ')}` : 'no layout'})`,
    };
  }
  const factory = designFactory(withPrecision(workload, best.precision), system, facility, best.estimate, best.plan);
  if (!factory.ok) return { accelerator, gpus, reason: factory.issues.map((issue) => issue.message).join('; ') };
  return {
    accelerator,
    acceleratorName: system.accelerator.name,
    gpus,
    system,
    precision: best.precision,
    plan: best.plan,
    estimate: best.estimate,
    factory,
    meets: {
      deadline: constraints.deadlineDays === undefined || factory.kpis.timeToTrainDays <= constraints.deadlineDays,
      // A power cap limits what the site can supply: the provisioned (maximum) facility power.
      power:
        constraints.powerCapMW === undefined || factory.powerKW.provisionedFacility / 1000 <= constraints.powerCapMW,
      budget: constraints.budgetUSD === undefined || factory.costUSD.run <= constraints.budgetUSD,
    },
  };
}

/** Pareto front, recommendation and binding constraints of evaluated designs (in job order). */
export function summarizeDesigns(
  workload: ResolvedWorkload,
  constraints: Constraints,
  points: DesignPoint[],
  skipped: DesignResult['skipped'],
): DesignResult {
  const pareto = paretoFront(points).sort((a, b) => a.factory.kpis.timeToTrainDays - b.factory.kpis.timeToTrainDays);
  const feasible = points.filter((p) => p.meets.deadline && p.meets.power && p.meets.budget);
  // The cheapest run that meets every constraint; among runs within 2% of that cost, the fastest.
  const cheapestCost = Math.min(...feasible.map((p) => p.factory.costUSD.run));
  const recommended = feasible
    .filter((p) => p.factory.costUSD.run <= cheapestCost * 1.02)
    .sort(
      (a, b) =>
        a.factory.kpis.timeToTrainDays - b.factory.kpis.timeToTrainDays ||
        a.factory.costUSD.run - b.factory.costUSD.run,
    )[0];
  const binding = recommended ? [] : bindingConstraints(points, constraints, skipped);
  const reasons: string[] = [];
  if (recommended) {
    const runner = [...feasible]
      .filter((p) => p !== recommended)
      .sort((a, b) => a.factory.costUSD.run - b.factory.costUSD.run)[0];
    const limits = [
      constraints.deadlineDays !== undefined ? `the ${constraints.deadlineDays}-day deadline` : undefined,
      constraints.powerCapMW !== undefined ? `the ${constraints.powerCapMW} MW cap` : undefined,
      constraints.budgetUSD !== undefined ? `the ${usd(constraints.budgetUSD)} budget` : undefined,
    ].filter(Boolean);
    reasons.push(
      `${recommended.gpus} × ${recommended.acceleratorName} is the cheapest run (or within 2% of it and faster)${limits.length ? ` that meets ${limits.join(' and ')}` : ''}: ${usd(recommended.factory.costUSD.run)} in ${recommended.factory.kpis.timeToTrainDays.toFixed(1)} days${runner ? ` (next: ${runner.gpus} × ${runner.acceleratorName}, ${usd(runner.factory.costUSD.run)} in ${runner.factory.kpis.timeToTrainDays.toFixed(1)} days)` : ''}`,
    );
    reasons.push(...explainPlan(workload, recommended.system, recommended.plan, recommended.estimate));
  }
  return { points, pareto, ...(recommended && { recommended }), reasons, binding, skipped };
}

/** How far `value` lies above `limit`, as people say it: "23% over", "45× over" (never a seven-digit percent). */
export function over(value: number, limit: number): string {
  const ratio = value / limit;
  return ratio < 10 ? `${(100 * (ratio - 1)).toFixed(0)}% over` : `${significant(ratio, 2)}× over`;
}

/** A limit as the user wrote it, to three significant digits without trailing zeros: 90, 0.01, 1.5. */
const plain = (value: number) => String(Number(significant(value)));

/** Dollars in the unit that reads, to the cent of that unit: $950.00K, $2.63M, $1.20B. */
export function usd(value: number): string {
  if (Math.abs(value) >= 1e9) return `$${(value / 1e9).toFixed(2)}B`;
  if (Math.abs(value) >= 1e6) return `$${(value / 1e6).toFixed(2)}M`;
  return `$${(value / 1e3).toFixed(2)}K`;
}

/**
 * The constraints one design misses, each with by how much: for a spec that names its system, where there is no
 * choice of design to make, only a verdict to give.
 */
export function missedConstraints(
  design: { readonly gpus: number; readonly factory: Factory },
  constraints: Constraints,
): BindingConstraint[] {
  const out: BindingConstraint[] = [];
  const { factory, gpus } = design;
  const days = factory.kpis.timeToTrainDays;
  if (constraints.maxGpus !== undefined && gpus > constraints.maxGpus) {
    out.push({
      constraint: 'maxGpus',
      message: `the system has ${gpus.toLocaleString('en-US')} GPUs, ${over(gpus, constraints.maxGpus)} the budget of ${constraints.maxGpus.toLocaleString('en-US')}`,
    });
  }
  if (constraints.deadlineDays !== undefined && days > constraints.deadlineDays) {
    out.push({
      constraint: 'deadlineDays',
      message: `the deadline binds: this plan trains in ${significant(days)} days, ${over(days, constraints.deadlineDays)} the ${plain(constraints.deadlineDays)}-day deadline`,
    });
  }
  const mw = factory.powerKW.provisionedFacility / 1000;
  if (constraints.powerCapMW !== undefined && mw > constraints.powerCapMW) {
    out.push({
      constraint: 'powerCapMW',
      message: `the power cap binds: the factory needs ${significant(mw)} MW at full draw, ${over(mw, constraints.powerCapMW)} the ${plain(constraints.powerCapMW)} MW cap`,
    });
  }
  if (constraints.budgetUSD !== undefined && factory.costUSD.run > constraints.budgetUSD) {
    out.push({
      constraint: 'budgetUSD',
      message: `the budget binds: the run costs ${usd(factory.costUSD.run)}, ${over(factory.costUSD.run, constraints.budgetUSD)} the ${usd(constraints.budgetUSD)} budget`,
    });
  }
  return out;
}

/** For each constraint, the best any design does while meeting the others, when that still misses it. */
function bindingConstraints(
  points: readonly DesignPoint[],
  constraints: Constraints,
  skipped: DesignResult['skipped'],
): BindingConstraint[] {
  const out: BindingConstraint[] = [];
  if (points.length === 0) {
    const reasons = [...new Set(skipped.map((s) => s.reason))].slice(0, 3).join('; ');
    return [{ constraint: 'maxGpus', message: `no design could be built: ${reasons || 'nothing to try'}` }];
  }
  const others = (skip: keyof DesignPoint['meets']) =>
    points.filter((p) =>
      (Object.keys(p.meets) as (keyof DesignPoint['meets'])[]).every((k) => k === skip || p.meets[k]),
    );

  if (constraints.deadlineDays !== undefined) {
    const candidates = others('deadline');
    const fastest = [...(candidates.length ? candidates : points)].sort(
      (a, b) => a.factory.kpis.timeToTrainDays - b.factory.kpis.timeToTrainDays,
    )[0];
    if (fastest && fastest.factory.kpis.timeToTrainDays > constraints.deadlineDays) {
      out.push({
        constraint: 'deadlineDays',
        message: `the deadline binds: the fastest design${candidates.length ? ' within the other limits' : ''} (${fastest.gpus} × ${fastest.acceleratorName}) needs ${significant(fastest.factory.kpis.timeToTrainDays)} days, ${over(fastest.factory.kpis.timeToTrainDays, constraints.deadlineDays)} ${plain(constraints.deadlineDays)} day${constraints.deadlineDays === 1 ? '' : 's'}`,
      });
    }
  }
  if (constraints.powerCapMW !== undefined) {
    const candidates = others('power');
    const leanest = [...(candidates.length ? candidates : points)].sort(
      (a, b) => a.factory.powerKW.provisionedFacility - b.factory.powerKW.provisionedFacility,
    )[0];
    if (leanest && leanest.factory.powerKW.provisionedFacility / 1000 > constraints.powerCapMW) {
      out.push({
        constraint: 'powerCapMW',
        message: `the power cap binds: the least power-hungry design${candidates.length ? ' within the other limits' : ''} (${leanest.gpus} × ${leanest.acceleratorName}) needs ${significant(leanest.factory.powerKW.provisionedFacility / 1000)} MW at full draw, ${over(leanest.factory.powerKW.provisionedFacility / 1000, constraints.powerCapMW)} ${plain(constraints.powerCapMW)} MW`,
      });
    }
  }
  if (constraints.budgetUSD !== undefined) {
    const candidates = others('budget');
    const cheapest = [...(candidates.length ? candidates : points)].sort(
      (a, b) => a.factory.costUSD.run - b.factory.costUSD.run,
    )[0];
    if (cheapest && cheapest.factory.costUSD.run > constraints.budgetUSD) {
      out.push({
        constraint: 'budgetUSD',
        message: `the budget binds: the cheapest run${candidates.length ? ' within the other limits' : ''} (${cheapest.gpus} × ${cheapest.acceleratorName}) costs ${usd(cheapest.factory.costUSD.run)}, ${over(cheapest.factory.costUSD.run, constraints.budgetUSD)} ${usd(constraints.budgetUSD)}`,
      });
    }
  }
  if (out.length === 0)
    out.push({
      constraint: 'deadlineDays',
      message: 'the constraints together admit no design, though each alone does',
    });
  return out;
}
