/**
 * The inverse of resolution: a spec document (what a user would write) for a resolved design, so that a design
 * found by `plan` can be saved, edited and simulated (`plan --json` carries it as `spec`).
 * @module
 */
import type { ResolvedFacility, ResolvedPlan, ResolvedSystem, ResolvedWorkload } from './resolve.js';
import type { SpecInput } from './spec.js';
import type { TwinInput } from './twin.js';

const defined = <T extends object>(value: T): T =>
  Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as T;

/** A spec document that resolves back to the given workload, system, plan and facility. */
export function specDocument(parts: {
  readonly name?: string;
  readonly workload: ResolvedWorkload;
  readonly system: ResolvedSystem;
  readonly plan: ResolvedPlan;
  readonly facility?: ResolvedFacility;
  readonly twin?: TwinInput;
}): SpecInput {
  const { workload, system, plan } = parts;
  const { totalTokens, sequenceLength, globalBatch, precision, optimizer } = workload.training;
  const a = system.accelerator;
  const accelerator =
    a.id ??
    defined({
      name: a.name,
      peakTflops: a.peakTflops,
      hbmGiB: a.hbmGiB,
      hbmBandwidthGBps: a.hbmBandwidthGBps,
      scaleUpBandwidthGBps: system.scaleUp.bandwidthGBps,
      scaleUpDomainSize: system.scaleUp.domainSize,
      scaleOutGbps: system.scaleOut.nicBandwidthGbps,
      tdpW: a.tdpW,
      measuredGemmTflops: a.measuredGemmTflops,
    });
  const out = system.scaleOut;
  return defined({
    name: parts.name,
    workload: {
      model: workload.modelId ?? workload.model,
      training: { totalTokens, sequenceLength, globalBatch, precision, optimizer },
    },
    system: defined({
      accelerator,
      gpuCount: system.gpuCount,
      gpusPerNode: system.gpusPerNode,
      gpuPowerLimitW: system.gpuPowerLimitW,
      nodePowerKW: system.nodePowerKW,
      pricePerGpuUSD: system.pricePerGpuUSD,
      switchPowerW: system.switchPowerW,
      siteEfficiency: system.siteEfficiency,
      scaleUp: defined({ ...system.scaleUp }),
      scaleOut: defined({
        fabric: out.fabricId,
        nicBandwidthGbps: out.nicBandwidthGbps,
        topology: out.topology,
        tiers: out.tiersSpecified ? out.tiers : undefined,
        oversubscription: out.oversubscription,
        podSize: out.podSize,
        switchRadix: out.switchRadix,
        latencyUs: out.latencyUs,
      }),
    }),
    plan,
    facility: parts.facility,
    twin: parts.twin,
  }) as SpecInput;
}
