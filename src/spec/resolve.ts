/**
 * Resolution: turns a parsed spec into the plain data the engines take. Catalog ids become entries, left-out
 * fields get their catalog defaults, and derived counts (nodes, data-parallel degree, batch in sequences and
 * tokens) are filled in. Problems come back as issues, never as exceptions.
 * @module
 */

import {
  CHECKPOINT_WRITE_SECONDS,
  CONSTRUCTION_USD_PER_MW,
  FACILITY_LIFE_YEARS,
  HARDWARE_LIFE_YEARS,
  STORAGE_POWER_SHARE,
} from '../catalog/costs.js';
import {
  type AcceleratorEntry,
  DEFAULT_ELECTRICITY_PRICE,
  facilityPreset,
  findAccelerator,
  findFabric,
  findModelPreset,
} from '../catalog/index.js';
import { mustFind } from './catalog-refs.js';
import type { CompareInput } from './compare.js';
import type { Constraints } from './constraints.js';
import type { Cooling, FacilityInput } from './facility.js';
import type { Result, SpecIssue } from './issues.js';
import type { Plan } from './plan.js';
import type { SpecInput } from './spec.js';
import type { InlineAccelerator, SystemInput } from './system.js';
import type { TwinInput } from './twin.js';
import { type Model, ModelSchema, type Training, type WorkloadInput } from './workload.js';

/** An accelerator as the engines see it: plain numbers. */
export interface Accelerator {
  /** Catalog id, absent for inline accelerators. */
  readonly id?: string;
  readonly name: string;
  /** Dense peak matrix throughput per precision, TFLOP/s. */
  readonly peakTflops: { readonly bf16: number; readonly fp8?: number; readonly fp4?: number };
  readonly hbmGiB: number;
  readonly hbmBandwidthGBps: number;
  readonly tdpW?: number;
  /** Power cap below the TDP (`system.gpuPowerLimitW`); compute rates follow the clock it allows (compute-rates.ts). */
  readonly powerLimitW?: number;
  readonly measuredGemmTflops: { readonly bf16?: number; readonly fp8?: number };
  /** Link to host memory per GPU per direction, GB/s, and host memory per GPU, GiB (activation offload). */
  readonly hostLinkGBps?: number;
  readonly hostMemoryGiB?: number;
}

/** A model with its defaults made explicit. */
export type ResolvedModel = Model & { readonly kvHeads: number; readonly headDim: number };

/** Training settings with the global batch in both units. */
export type ResolvedTraining = Training & {
  readonly globalBatchSequences: number;
  readonly globalBatchTokens: number;
};

/** A workload with its model resolved. */
export interface ResolvedWorkload {
  /** Catalog preset id when the model came from the catalog. */
  readonly modelId?: string;
  readonly model: ResolvedModel;
  readonly training: ResolvedTraining;
}

/** A system with catalog defaults applied. */
export interface ResolvedSystem {
  readonly accelerator: Accelerator;
  readonly gpuCount: number;
  readonly gpusPerNode: number;
  readonly nodes: number;
  /** Overrides of the catalog's power and price figures, when the spec gives them. */
  readonly gpuPowerLimitW?: number;
  readonly nodePowerKW?: number;
  readonly pricePerGpuUSD?: number;
  readonly switchPowerW?: number;
  /** Modelled ÷ measured step time at the site (`system.siteEfficiency` or its calibration file); absent: 1. */
  readonly siteEfficiency?: number;
  /** The calibration file the efficiency came from, as the spec named it. */
  readonly calibration?: string;
  readonly scaleUp: { readonly domainSize: number; readonly bandwidthGBps: number; readonly latencyUs?: number };
  readonly scaleOut: {
    readonly fabricId?: string;
    readonly nicBandwidthGbps: number;
    readonly topology: SystemInput['scaleOut']['topology'];
    /** Switch tiers: as given, or the fewest a plain fat tree of this radix needs for the GPU count. */
    readonly tiers?: number;
    /** True when the spec gave `tiers` (the factory then builds that many). */
    readonly tiersSpecified: boolean;
    readonly oversubscription: number;
    readonly podSize: number;
    readonly switchRadix?: number;
    readonly latencyUs?: number;
  };
}

/** A facility with the cooling preset's defaults applied. */
export interface ResolvedFacility {
  readonly cooling: Cooling;
  readonly pue: number;
  readonly rackPowerLimitKW: number;
  readonly electricityPriceUSDPerKWh: number;
  readonly constructionUSDPerMW: number;
  readonly facilityLifeYears: number;
  readonly hardwareLifeYears: number;
  readonly storagePowerShare: number;
  readonly checkpointWriteSeconds: number;
}

/** A plan with data-parallel degree and sequence parallelism decided. */
export type ResolvedPlan = Plan & { readonly dp: number; readonly sequenceParallel: boolean };

/** A whole spec, resolved. */
export interface ResolvedSpec {
  readonly name?: string;
  readonly workload: ResolvedWorkload;
  readonly system?: ResolvedSystem;
  readonly facility?: ResolvedFacility;
  readonly plan?: ResolvedPlan;
  readonly constraints?: Constraints;
  /** Digital-twin settings as written; src/twin/setup.ts fills their defaults against a design. */
  readonly twin?: TwinInput;
  /** The dedicated-versus-shared comparison scenario, as written (src/breakpoint/compare.ts). */
  readonly compare?: CompareInput;
}

/** Resolves catalog references and defaults of a parsed spec. */
export function resolveSpec(spec: SpecInput): Result<ResolvedSpec> {
  const issues: SpecIssue[] = [];
  const workload = resolveWorkload(spec.workload);
  const system = spec.system ? resolveSystem(spec.system, issues) : undefined;
  const facility = spec.facility ? resolveFacility(spec.facility) : undefined;
  const plan = spec.plan ? resolvePlan(spec.plan, system, issues) : undefined;
  const precision = workload.training.precision;
  if (system && precision !== 'bf16' && system.accelerator.peakTflops[precision] === undefined) {
    issues.push({
      code: 'invalid_value',
      path: 'workload.training.precision',
      value: precision,
      message: `${system.accelerator.name} has no ${precision.toUpperCase()} tensor rate in the catalog; use precision: bf16 or an accelerator that has one`,
    });
  }
  if (issues.length > 0) return { ok: false, issues };
  return {
    ok: true,
    value: {
      ...(spec.name !== undefined && { name: spec.name }),
      workload,
      ...(system && { system }),
      ...(facility && { facility }),
      ...(plan && { plan }),
      ...(spec.constraints && { constraints: spec.constraints }),
      ...(spec.twin && { twin: spec.twin }),
      ...(spec.compare && { compare: spec.compare }),
    },
  };
}

/** Fills the defaults of an architecture: kvHeads = heads, headDim = hiddenSize / heads. */
export function resolveModel(model: Model): ResolvedModel {
  return { ...model, kvHeads: model.kvHeads ?? model.heads, headDim: model.headDim ?? model.hiddenSize / model.heads };
}

function resolveWorkload(input: WorkloadInput): ResolvedWorkload {
  let model: Model;
  let modelId: string | undefined;
  if (typeof input.model === 'string') {
    const preset = mustFind(findModelPreset(input.model), `model "${input.model}"`);
    model = ModelSchema.parse(preset.model);
    modelId = preset.id;
  } else {
    model = input.model;
  }
  const training = input.training;
  const globalBatchSequences =
    'sequences' in training.globalBatch
      ? training.globalBatch.sequences
      : training.globalBatch.tokens / training.sequenceLength;
  return {
    ...(modelId !== undefined && { modelId }),
    model: resolveModel(model),
    training: { ...training, globalBatchSequences, globalBatchTokens: globalBatchSequences * training.sequenceLength },
  };
}

/** The plain-number accelerator the engines take, from a catalog entry. */
export function acceleratorFromEntry(entry: AcceleratorEntry): Accelerator {
  const measured = entry.measuredGemmTflops;
  return {
    id: entry.id,
    name: entry.name,
    peakTflops: {
      bf16: entry.peakTflops.bf16.value,
      ...(entry.peakTflops.fp8 && { fp8: entry.peakTflops.fp8.value }),
      ...(entry.peakTflops.fp4 && { fp4: entry.peakTflops.fp4.value }),
    },
    hbmGiB: entry.hbmCapacityGiB.value,
    hbmBandwidthGBps: entry.hbmBandwidthGBps.value,
    ...(entry.tdpW && { tdpW: entry.tdpW.value }),
    measuredGemmTflops: {
      ...(measured.bf16 && { bf16: measured.bf16.value }),
      ...(measured.fp8 && { fp8: measured.fp8.value }),
    },
    ...(entry.host && {
      hostLinkGBps: entry.host.bandwidthGBps.value,
      hostMemoryGiB: entry.host.memoryGiB.value,
    }),
  };
}

function acceleratorFromInline(inline: InlineAccelerator): Accelerator {
  return {
    name: inline.name,
    peakTflops: inline.peakTflops,
    hbmGiB: inline.hbmGiB,
    hbmBandwidthGBps: inline.hbmBandwidthGBps,
    ...(inline.tdpW !== undefined && { tdpW: inline.tdpW }),
    measuredGemmTflops: inline.measuredGemmTflops ?? {},
    ...(inline.hostLinkGBps !== undefined && { hostLinkGBps: inline.hostLinkGBps }),
    ...(inline.hostMemoryGiB !== undefined && { hostMemoryGiB: inline.hostMemoryGiB }),
  };
}

/** Endpoints a non-blocking folded Clos of `tiers` tiers reaches with radix-k switches: 2(k/2)^L (hardware-catalog.md §2.2). */
export function closCapacity(radix: number, tiers: number): number {
  return 2 * (radix / 2) ** tiers;
}

function resolveSystem(input: SystemInput, issues: SpecIssue[]): ResolvedSystem | undefined {
  let accelerator: Accelerator;
  let domainDefault: number;
  let scaleUpDefault: number;
  let nicDefault: number | undefined;
  if (typeof input.accelerator === 'string') {
    const entry = mustFind(findAccelerator(input.accelerator), `accelerator "${input.accelerator}"`);
    accelerator = acceleratorFromEntry(entry);
    domainDefault = entry.scaleUp.domainSize.value;
    scaleUpDefault = entry.scaleUp.bandwidthGBps.value;
    nicDefault = entry.scaleOutGbps?.value;
  } else {
    accelerator = acceleratorFromInline(input.accelerator);
    domainDefault = input.accelerator.scaleUpDomainSize;
    scaleUpDefault = input.accelerator.scaleUpBandwidthGBps;
    nicDefault = input.accelerator.scaleOutGbps;
  }

  if (input.gpuPowerLimitW !== undefined && accelerator.tdpW !== undefined && input.gpuPowerLimitW < accelerator.tdpW)
    accelerator = { ...accelerator, powerLimitW: input.gpuPowerLimitW };

  const out = input.scaleOut;
  let fabricId: string | undefined;
  let radixDefault: number | undefined;
  let fabricLinkGbps: number | undefined;
  if (out.fabric !== undefined) {
    const fabric = mustFind(findFabric(out.fabric), `fabric "${out.fabric}"`);
    fabricId = fabric.id;
    radixDefault = fabric.switch.radix.value;
    fabricLinkGbps = fabric.linkGbps.value;
  }
  const nicBandwidthGbps = out.nicBandwidthGbps ?? nicDefault ?? fabricLinkGbps;
  if (nicBandwidthGbps === undefined) {
    issues.push({
      code: 'missing_value',
      path: 'system.scaleOut.nicBandwidthGbps',
      message: `the catalog has no scale-out bandwidth for ${accelerator.name}: set nicBandwidthGbps (Gb/s per GPU) or a fabric`,
    });
    return undefined;
  }
  const switchRadix = out.switchRadix ?? radixDefault;
  let tiers = out.tiers;
  if (tiers === undefined && switchRadix !== undefined) {
    tiers = 1;
    while (closCapacity(switchRadix, tiers) < input.gpuCount && tiers < 4) tiers++;
  }
  const domainSize = input.scaleUp.domainSize ?? domainDefault;
  return {
    accelerator,
    gpuCount: input.gpuCount,
    gpusPerNode: input.gpusPerNode,
    nodes: input.gpuCount / input.gpusPerNode,
    ...(input.gpuPowerLimitW !== undefined && { gpuPowerLimitW: input.gpuPowerLimitW }),
    ...(input.nodePowerKW !== undefined && { nodePowerKW: input.nodePowerKW }),
    ...(input.pricePerGpuUSD !== undefined && { pricePerGpuUSD: input.pricePerGpuUSD }),
    ...(input.switchPowerW !== undefined && { switchPowerW: input.switchPowerW }),
    ...(input.siteEfficiency !== undefined && { siteEfficiency: input.siteEfficiency }),
    ...(input.calibration !== undefined && { calibration: input.calibration }),
    scaleUp: {
      domainSize,
      bandwidthGBps: input.scaleUp.bandwidthGBps ?? scaleUpDefault,
      ...(input.scaleUp.latencyUs !== undefined && { latencyUs: input.scaleUp.latencyUs }),
    },
    scaleOut: {
      ...(fabricId !== undefined && { fabricId }),
      nicBandwidthGbps,
      topology: out.topology,
      ...(tiers !== undefined && { tiers }),
      tiersSpecified: out.tiers !== undefined,
      oversubscription: out.oversubscription,
      podSize: out.podSize ?? input.gpuCount,
      ...(switchRadix !== undefined && { switchRadix }),
      ...(out.latencyUs !== undefined && { latencyUs: out.latencyUs }),
    },
  };
}

/** Resolves a facility section (or the defaults for a cooling kind) against the catalog. */
export function resolveFacility(input: FacilityInput): ResolvedFacility {
  const preset = facilityPreset(input.cooling);
  return {
    cooling: input.cooling,
    pue: input.pue ?? preset.pue.value,
    rackPowerLimitKW: input.rackPowerLimitKW ?? preset.rackPowerLimitKW.value,
    electricityPriceUSDPerKWh: input.electricityPriceUSDPerKWh ?? DEFAULT_ELECTRICITY_PRICE.value,
    constructionUSDPerMW: input.constructionUSDPerMW ?? CONSTRUCTION_USD_PER_MW.value,
    facilityLifeYears: input.facilityLifeYears ?? FACILITY_LIFE_YEARS.value,
    hardwareLifeYears: input.hardwareLifeYears ?? HARDWARE_LIFE_YEARS.value,
    storagePowerShare: input.storagePowerShare ?? STORAGE_POWER_SHARE.value,
    checkpointWriteSeconds: input.checkpointWriteSeconds ?? CHECKPOINT_WRITE_SECONDS.value,
  };
}

function resolvePlan(plan: Plan, system: ResolvedSystem | undefined, issues: SpecIssue[]): ResolvedPlan | undefined {
  const modelParallel = plan.tp * plan.pp * plan.cp;
  let dp = plan.dp;
  if (dp === undefined) {
    if (system === undefined) {
      dp = 1;
    } else if (system.gpuCount % modelParallel !== 0) {
      issues.push({
        code: 'invalid_value',
        path: 'plan',
        value: modelParallel,
        message: `system.gpuCount (${system.gpuCount}) is not divisible by tp·pp·cp = ${modelParallel}; set dp or change the degrees`,
      });
      return undefined;
    } else {
      dp = system.gpuCount / modelParallel;
    }
  }
  return { ...plan, dp, sequenceParallel: plan.sequenceParallel ?? plan.tp > 1 };
}
