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
import type { ResolvedFacility, ResolvedPlan, ResolvedSystem, ResolvedWorkload } from '../spec/resolve.js';
import { designFabric, type FabricDesign } from './network.js';

/** Why a factory cannot be built as asked. */
export interface FactoryIssue {
  readonly code: 'no_system_preset' | 'rack_power' | 'cooling' | 'fabric';
  readonly path: string;
  readonly message: string;
}

/** A factory design. */
export interface Factory {
  readonly ok: true;
  readonly gpus: number;
  /** GPUs bought: the job's, plus the unused slots of whole NVL72-class racks. */
  readonly purchasedGpus: number;
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
    /** Average facility power while training. */
    readonly facility: number;
    readonly perGpuAtFacility: number;
    /** Facility power at maximum draw: what the site must supply (checked against a power cap). */
    readonly provisionedFacility: number;
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

/** The catalog entry of the system's named fabric, if any. */
function fabricEntryOf(system: ResolvedSystem) {
  const found = system.scaleOut.fabricId ? findFabric(system.scaleOut.fabricId) : undefined;
  return found?.found ? found.entry : undefined;
}

/**
 * Ports of the scale-out switches at the NIC speed: the spec's, else the named fabric's, else by NIC speed: 800G
 * NICs get XDR switches (144 ports), slower NICs NDR switches split to their speed (64 at 400G, 128 at 200G; at most 512 ports, as no part splits further).
 */
export function fabricRadix(system: ResolvedSystem): number {
  const nic = system.scaleOut.nicBandwidthGbps;
  return (
    system.scaleOut.switchRadix ??
    fabricEntryOf(system)?.switch.radix.value ??
    (nic >= 800 ? 144 : Math.min(512, Math.max(4, Math.floor((64 * 400) / nic))))
  );
}

/**
 * Designs the factory that runs `estimate` of `workload` on `system` in `facility`. The plan, when given, decides
 * how many GPUs of an NVL72-class rack its NVLink groups can use.
 */
export function designFactory(
  workload: ResolvedWorkload,
  system: ResolvedSystem,
  facility: ResolvedFacility,
  estimate: Estimate,
  plan?: ResolvedPlan,
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
  const issue = (code: FactoryIssue['code'], path: string, message: string): FactoryResult => ({
    ok: false,
    issues: [{ code, path, message }],
  });
  // Node and rack figures are maximum power: racks and the building are provisioned for it (capped GPUs at their
  // cap). Energy follows the training draw: about 0.88 of TDP per GPU (measured on H100), no more than the cap
  // (Meta runs GB200 at 960 of 1,200 W).
  const tdp = system.accelerator.tdpW ?? 0;
  const capW = Math.min(tdp, system.gpuPowerLimitW ?? Number.POSITIVE_INFINITY);
  const drawW = Math.min(TRAINING_POWER_SHARE.value * tdp, capW);
  const capSavingKW = tdp > 0 ? (tdp - capW) / 1000 : 0;
  const drawSavingKW = tdp > 0 ? (tdp - drawW) / 1000 : 0;

  let racks: number;
  let gpusPerRack: number;
  let nodes: number;
  let provisionedComputeKW: number;
  let computeKW: number;
  let purchasedGpus: number;
  if (preset?.rack) {
    // NVL72-class racks are bought, cooled and powered whole. A job's tensor/context or expert group must sit
    // inside one rack's NVLink domain, so each rack hosts floor(72 / g) groups of g GPUs; the rest are spares.
    if (facility.cooling === 'air') {
      return issue(
        'cooling',
        'facility.cooling',
        `${preset.name} racks are liquid cooled: set facility.cooling to direct-liquid`,
      );
    }
    const rackGpus = preset.rack.gpus;
    // A node-power override scales the rack: its compute trays plus the NVLink switch trays (about 3.6 kW).
    const rackMaxKW =
      system.nodePowerKW !== undefined
        ? (system.nodePowerKW * rackGpus) / preset.gpusPerNode + 3.6
        : preset.rack.powerKW.value;
    const rackKW = rackMaxKW - capSavingKW * rackGpus;
    if (rackKW > facility.rackPowerLimitKW) {
      return issue(
        'rack_power',
        'facility.rackPowerLimitKW',
        `a ${preset.name} rack draws ${rackKW.toFixed(0)} kW, above the ${facility.rackPowerLimitKW} kW limit by ${(rackKW - facility.rackPowerLimitKW).toFixed(0)} kW`,
      );
    }
    const group = plan ? Math.min(rackGpus, Math.max(plan.tp * plan.cp, plan.ep)) : 1;
    gpusPerRack = Math.floor(rackGpus / group) * group;
    racks = Math.ceil(gpus / gpusPerRack);
    nodes = (racks * rackGpus) / preset.gpusPerNode;
    purchasedGpus = racks * rackGpus;
    provisionedComputeKW = racks * rackKW;
    computeKW = racks * (rackMaxKW - drawSavingKW * rackGpus);
  } else {
    const nodeMaxKW = nodePowerKW - capSavingKW * system.gpusPerNode;
    const nodesPerRack = Math.floor(facility.rackPowerLimitKW / nodeMaxKW);
    if (nodesPerRack < 1) {
      return issue(
        'rack_power',
        'facility.rackPowerLimitKW',
        `one ${preset?.name ?? 'server'} draws ${nodeMaxKW.toFixed(1)} kW, above the ${facility.rackPowerLimitKW} kW rack limit by ${(nodeMaxKW - facility.rackPowerLimitKW).toFixed(1)} kW: raise the limit or use liquid cooling`,
      );
    }
    nodes = system.nodes;
    gpusPerRack = nodesPerRack * system.gpusPerNode;
    racks = Math.ceil(nodes / nodesPerRack);
    purchasedGpus = gpus;
    provisionedComputeKW = nodes * nodeMaxKW;
    computeKW = nodes * (nodePowerKW - drawSavingKW * system.gpusPerNode);
  }

  // Scale-out fabric: rail-optimized fat tree at the NIC speed. Without a named fabric, 800G NICs get XDR switches
  // (144 ports) and slower NICs NDR switches split to their speed (64 ports at 400G, 128 at 200G).
  const entry = fabricEntryOf(system);
  const radix = fabricRadix(system);
  const fabric = designFabric({
    gpus,
    gpusPerNode: system.gpusPerNode,
    radix,
    oversubscription: system.scaleOut.oversubscription,
    ...(system.scaleOut.tiersSpecified && system.scaleOut.tiers !== undefined && { tiers: system.scaleOut.tiers }),
  });
  if (!fabric.ok) return issue('fabric', 'system.scaleOut', fabric.message);
  // Every link is optical: a transceiver at each NIC and at each switch port in use (hardware-catalog.md 2.2);
  // switchLinks holds every tier's switch-to-switch links, the core-super-core ones of four tiers included.
  const transceivers = fabric.hostLinks * 2 + fabric.switchLinks * 2;
  const nicSideW = entry?.optics.nicSideW.value ?? 8;
  const switchSideW = entry?.optics.switchSideW.value ?? 8.5;
  const opticsW = fabric.hostLinks * (nicSideW + switchSideW) + fabric.switchLinks * 2 * switchSideW;
  // Switch power: the spec's, else the fabric's published figure, else the planner assumption (costs.ts).
  const switchW = system.switchPowerW ?? entry?.switch.powerW?.value ?? SWITCH_POWER_W.value;
  // Every tier's switches draw it: leaves, spines, cores and super-cores (network.ts counts them in `switches`).
  const networkKW = (fabric.switches * switchW + opticsW) / 1000;
  const storageKW = computeKW * facility.storagePowerShare;
  const itKW = computeKW + networkKW + storageKW;
  const facilityKW = itKW * facility.pue;
  const provisionedItKW = provisionedComputeKW + networkKW + provisionedComputeKW * facility.storagePowerShare;

  // Storage bandwidth to write a checkpoint of the model and optimizer state in the allowed time.
  const checkpointBytes = countParameters(workload.model).total * CHECKPOINT_BYTES_PER_PARAMETER.value;
  const writeGBps = checkpointBytes / facility.checkpointWriteSeconds / 1e9;

  // Capital: servers at catalog price, network as Epoch's 19% share of the cluster, building per MW of IT load.
  const servers = purchasedGpus * pricePerGpu;
  const network = (servers * INTERCONNECT_SHARE.value) / (1 - INTERCONNECT_SHARE.value);
  // The building is built for the provisioned (maximum) IT load, not the average draw.
  const building = (provisionedItKW / 1000) * facility.constructionUSDPerMW;
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
    purchasedGpus,
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
      provisionedFacility: provisionedItKW * facility.pue,
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
