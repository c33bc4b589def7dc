/**
 * The whole factory for one design point: nodes and racks, the scale-out fabric with its optics, storage
 * bandwidth for checkpoints, IT and facility power, capital and operating cost, and the KPIs of the run.
 * docs/model.md ("Factory") explains every term; every constant is a sourced catalog figure or a marked
 * planner assumption, and the spec can override each.
 * @module
 */
import {
  CHECKPOINT_BYTES_PER_PARAMETER,
  INTERCONNECT_SHARE,
  SWITCH_POWER_W,
  TRAINING_POWER_SHARE,
} from '../catalog/costs.js';
import { findFabric } from '../catalog/index.js';
import { systemPreset } from '../catalog/systems.js';
import type { Estimate } from '../perf/estimate.js';
import { countParameters } from '../perf/model-size.js';
import type { ResolvedFacility, ResolvedSystem, ResolvedWorkload } from '../spec/resolve.js';
import { designFabric, type FabricDesign } from './network.js';

/** Why a factory cannot be built as asked. */
export interface FactoryIssue {
  readonly code: 'no_system_preset' | 'rack_power' | 'cooling';
  readonly path: string;
  readonly message: string;
}

/** A factory design. */
export interface Factory {
  readonly ok: true;
  readonly gpus: number;
  readonly nodes: number;
  readonly racks: number;
  readonly gpusPerRack: number;
  readonly fabric: FabricDesign & {
    readonly fabricId: string | undefined;
    readonly radix: number;
    /** Optical transceivers: one per NIC, one per switch port in use. */
    readonly transceivers: number;
  };
  readonly storage: { readonly checkpointBytes: number; readonly writeGBps: number };
  readonly powerKW: {
    readonly compute: number;
    readonly network: number;
    readonly storage: number;
    readonly it: number;
    readonly facility: number;
    readonly perGpuAtFacility: number;
  };
  readonly costUSD: {
    readonly servers: number;
    readonly network: number;
    readonly building: number;
    readonly capex: number;
    /** Amortised capital plus energy, per hour of operation. */
    readonly perHour: number;
    readonly perGpuHour: number;
    readonly energyPerHour: number;
    /** The training run: its hours at the per-hour cost. */
    readonly run: number;
  };
  readonly kpis: {
    readonly timeToTrainDays: number;
    readonly tokensPerSecond: number;
    readonly usdPerMillionTokens: number;
    readonly tokensPerMWh: number;
  };
}

/** A factory or the reasons it cannot be built. */
export type FactoryResult = Factory | { readonly ok: false; readonly issues: FactoryIssue[] };

const HOURS_PER_YEAR = 8766;

/** Designs the factory that runs `estimate` of `workload` on `system` in `facility`. */
export function designFactory(
  workload: ResolvedWorkload,
  system: ResolvedSystem,
  facility: ResolvedFacility,
  estimate: Estimate,
): FactoryResult {
  const preset = systemPreset(system.accelerator.id);
  const nodePowerKW = system.nodePowerKW ?? preset?.nodePowerKW.value;
  const pricePerGpu = system.pricePerGpuUSD ?? preset?.pricePerGpuUSD.value;
  if (nodePowerKW === undefined || pricePerGpu === undefined) {
    return {
      ok: false,
      issues: [
        {
          code: 'no_system_preset',
          path: 'system',
          message: `the catalog has no server power or price for ${system.accelerator.name}: set system.nodePowerKW and system.pricePerGpuUSD`,
        },
      ],
    };
  }
  const gpus = system.gpuCount;
  const nodes = system.nodes;
  // Node and rack figures are maximum power. In training a GPU draws about 0.88 of its TDP (measured on H100),
  // and no more than its power cap (Meta runs GB200 at 960 of 1,200 W): the difference comes off every GPU.
  const tdp = system.accelerator.tdpW ?? 0;
  // Racks are provisioned for the capped maximum; energy and facility power follow the training draw.
  const capW = Math.min(tdp, system.gpuPowerLimitW ?? Number.POSITIVE_INFINITY);
  const drawW = Math.min(TRAINING_POWER_SHARE.value * tdp, capW);
  const capSavingKW = tdp > 0 ? (tdp - capW) / 1000 : 0;
  const drawSavingKW = tdp > 0 ? (tdp - drawW) / 1000 : 0;
  const nodeKW = nodePowerKW - capSavingKW * system.gpusPerNode;

  // Racks: whole NVL72-class racks, or as many servers as the rack power limit allows.
  let racks: number;
  let gpusPerRack: number;
  let computeKW: number;
  if (preset?.rack) {
    const rackKW = preset.rack.powerKW.value - capSavingKW * preset.rack.gpus;
    if (facility.cooling === 'air') {
      return {
        ok: false,
        issues: [
          {
            code: 'cooling',
            path: 'facility.cooling',
            message: `${preset.name} racks are liquid cooled: set facility.cooling to direct-liquid`,
          },
        ],
      };
    }
    if (rackKW > facility.rackPowerLimitKW) {
      return {
        ok: false,
        issues: [
          {
            code: 'rack_power',
            path: 'facility.rackPowerLimitKW',
            message: `a ${preset.name} rack draws ${rackKW.toFixed(0)} kW, above the ${facility.rackPowerLimitKW} kW limit by ${(rackKW - facility.rackPowerLimitKW).toFixed(0)} kW`,
          },
        ],
      };
    }
    gpusPerRack = preset.rack.gpus;
    racks = Math.ceil(gpus / gpusPerRack);
    computeKW = (gpus / gpusPerRack) * (preset.rack.powerKW.value - drawSavingKW * preset.rack.gpus);
  } else {
    const nodesPerRack = Math.floor(facility.rackPowerLimitKW / nodeKW);
    if (nodesPerRack < 1) {
      return {
        ok: false,
        issues: [
          {
            code: 'rack_power',
            path: 'facility.rackPowerLimitKW',
            message: `one ${preset?.name ?? 'server'} draws ${nodeKW.toFixed(1)} kW, above the ${facility.rackPowerLimitKW} kW rack limit by ${(nodeKW - facility.rackPowerLimitKW).toFixed(1)} kW: raise the limit or use liquid cooling`,
          },
        ],
      };
    }
    gpusPerRack = nodesPerRack * system.gpusPerNode;
    racks = Math.ceil(nodes / nodesPerRack);
    computeKW = nodes * (nodePowerKW - drawSavingKW * system.gpusPerNode);
  }

  // Scale-out fabric: rail-optimized fat tree at the NIC speed.
  const fabricEntry = system.scaleOut.fabricId ? findFabric(system.scaleOut.fabricId) : undefined;
  const entry = fabricEntry?.found ? fabricEntry.entry : undefined;
  const radix = system.scaleOut.switchRadix ?? entry?.switch.radix.value ?? 64;
  const fabric = designFabric({
    gpus,
    gpusPerNode: system.gpusPerNode,
    radix,
    oversubscription: system.scaleOut.oversubscription,
    ...(system.scaleOut.tiers !== undefined && { tiers: Math.min(3, system.scaleOut.tiers) }),
  });
  // Every link is optical: a transceiver at each NIC and at each switch port in use (hardware-catalog.md 2.2).
  const transceivers = fabric.hostLinks * 2 + fabric.switchLinks * 2;
  const nicSideW = entry?.optics.nicSideW.value ?? 8;
  const switchSideW = entry?.optics.switchSideW.value ?? 8.5;
  const opticsW = fabric.hostLinks * (nicSideW + switchSideW) + fabric.switchLinks * 2 * switchSideW;
  const networkKW = (fabric.switches * (system.switchPowerW ?? SWITCH_POWER_W.value) + opticsW) / 1000;
  const storageKW = computeKW * facility.storagePowerShare;
  const itKW = computeKW + networkKW + storageKW;
  const facilityKW = itKW * facility.pue;

  // Storage bandwidth to write a checkpoint of the model and optimizer state in the allowed time.
  const checkpointBytes = countParameters(workload.model).total * CHECKPOINT_BYTES_PER_PARAMETER.value;
  const writeGBps = checkpointBytes / facility.checkpointWriteSeconds / 1e9;

  // Capital: servers at catalog price, network as Epoch's 19% share of the cluster, building per MW of IT load.
  const servers = gpus * pricePerGpu;
  const network = (servers * INTERCONNECT_SHARE.value) / (1 - INTERCONNECT_SHARE.value);
  const building = (itKW / 1000) * facility.constructionUSDPerMW;
  const energyPerHour = facilityKW * facility.electricityPriceUSDPerKWh;
  const perHour =
    (servers + network) / (facility.hardwareLifeYears * HOURS_PER_YEAR) +
    building / (facility.facilityLifeYears * HOURS_PER_YEAR) +
    energyPerHour;
  const hours = estimate.timeToTrainSeconds / 3600;
  const run = perHour * hours;
  const tokens = workload.training.totalTokens;
  return {
    ok: true,
    gpus,
    nodes,
    racks,
    gpusPerRack,
    fabric: { ...fabric, fabricId: entry?.id, radix, transceivers },
    storage: { checkpointBytes, writeGBps },
    powerKW: {
      compute: computeKW,
      network: networkKW,
      storage: storageKW,
      it: itKW,
      facility: facilityKW,
      perGpuAtFacility: facilityKW / gpus,
    },
    costUSD: {
      servers,
      network,
      building,
      capex: servers + network + building,
      perHour,
      perGpuHour: perHour / gpus,
      energyPerHour,
      run,
    },
    kpis: {
      timeToTrainDays: hours / 24,
      tokensPerSecond: estimate.tokensPerSecond,
      usdPerMillionTokens: run / (tokens / 1e6),
      tokensPerMWh: tokens / ((facilityKW / 1000) * hours),
    },
  };
}
