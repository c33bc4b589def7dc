/**
 * System: the accelerator, how many there are, how they are grouped into nodes and scale-up (NVLink-class)
 * domains, and the scale-out fabric between domains. Fields left out are filled from the accelerator's and the
 * fabric's catalog entries when the spec is resolved.
 * @module
 */
import { z } from 'zod';
import { findAccelerator, findFabric } from '../catalog/index.js';
import { checkCatalogId } from './catalog-refs.js';
import { ALWAYS, isCount, positiveInt, positiveNumber } from './common.js';

/** An accelerator described inline, for parts the catalog does not have. */
export const InlineAcceleratorSchema = z
  .strictObject({
    name: z.string().min(1),
    peakTflops: z
      .strictObject({
        bf16: positiveNumber().describe('Dense BF16 peak, TFLOP/s (not the 2:4-sparse figure)'),
        fp8: positiveNumber().optional().describe('Dense FP8 peak, TFLOP/s'),
        fp4: positiveNumber().optional().describe('Dense FP4 peak, TFLOP/s'),
      })
      .describe('Dense peak matrix throughput per precision'),
    hbmGiB: positiveNumber().describe('HBM capacity, GiB (what vendors call GB: an H100 has 80)'),
    hbmBandwidthGBps: positiveNumber().describe('HBM bandwidth, GB/s'),
    scaleUpBandwidthGBps: positiveNumber().describe('Scale-up bandwidth per GPU per direction, GB/s'),
    scaleUpDomainSize: positiveInt().describe('GPUs in one scale-up domain'),
    scaleOutGbps: positiveNumber().optional().describe('Scale-out NIC bandwidth per GPU, Gb/s'),
    tdpW: positiveNumber().optional().describe('Board power, W'),
    measuredGemmTflops: z
      .strictObject({ bf16: positiveNumber().optional(), fp8: positiveNumber().optional() })
      .optional()
      .describe('Best measured GEMM throughput per precision, TFLOP/s'),
  })
  .describe('An accelerator not in the catalog');

/** The scale-up domain (NVLink / Infinity Fabric / ICI). */
export const ScaleUpSchema = z.strictObject({
  domainSize: positiveInt().optional().describe('GPUs in one scale-up domain; default from the accelerator'),
  bandwidthGBps: positiveNumber().optional().describe('Per GPU per direction, GB/s; default from the accelerator'),
  latencyUs: z.number().nonnegative().optional().describe('One-way small-message latency, microseconds'),
});

/** The scale-out fabric between scale-up domains. */
export const ScaleOutSchema = z.strictObject({
  fabric: z.string().min(1).optional().describe('Catalog fabric id (see `tokenworks catalog fabrics`)'),
  nicBandwidthGbps: positiveNumber().optional().describe('NIC bandwidth per GPU, Gb/s; default from the accelerator'),
  topology: z.enum(['fat-tree', 'rail-optimized', 'torus', 'dragonfly']).default('rail-optimized'),
  tiers: z.number().int().min(1).max(4).optional().describe('Switch tiers; default: the fewest that reach the GPUs'),
  oversubscription: z
    .number()
    .min(1)
    .default(1)
    .describe('Bandwidth taper r (as in r:1) above each pod; 1 = non-blocking (Llama 3: 7 between pods)'),
  podSize: positiveInt()
    .optional()
    .describe('GPUs under full bisection below the tapered tier (Llama 3: 3072); default: the whole cluster'),
  switchRadix: positiveInt().optional().describe('Switch ports at the NIC link speed; default from the fabric'),
  latencyUs: z.number().nonnegative().optional().describe('One-way small-message latency across the fabric, µs'),
});

/** The cluster a job runs on. */
export const SystemSchema = z
  .strictObject({
    accelerator: z
      .union([z.string().min(1), InlineAcceleratorSchema])
      .describe('Catalog accelerator id (see `tokenworks catalog accelerators`) or an inline description'),
    gpuCount: positiveInt().describe('Accelerators in the cluster'),
    gpusPerNode: positiveInt().default(8).describe('Accelerators per server (per compute tray for NVL72)'),
    gpuPowerLimitW: positiveNumber()
      .optional()
      .describe('Power cap set on each GPU (Meta runs GB200 at 960 of 1,200 W); default the TDP'),
    nodePowerKW: positiveNumber().optional().describe('Power of one server at full load; default from the catalog'),
    pricePerGpuUSD: positiveNumber().optional().describe('Server (or rack) price per GPU; default from the catalog'),
    switchPowerW: positiveNumber().optional().describe('Power of one switch without optics; default 750 W (assumed)'),
    scaleUp: ScaleUpSchema.default({}),
    scaleOut: ScaleOutSchema.default({ topology: 'rail-optimized', oversubscription: 1 }),
  })
  .superRefine((system, ctx) => {
    checkCatalogId(
      ctx,
      ['accelerator'],
      system.accelerator,
      'accelerator',
      findAccelerator,
      'tokenworks catalog accelerators',
    );
    const fabric = (system.scaleOut as { fabric?: unknown } | undefined)?.fabric;
    checkCatalogId(ctx, ['scaleOut', 'fabric'], fabric, 'fabric', findFabric, 'tokenworks catalog fabrics');
    if (isCount(system.gpuCount) && isCount(system.gpusPerNode) && system.gpuCount % system.gpusPerNode !== 0) {
      const nodes = Math.max(1, Math.round(system.gpuCount / system.gpusPerNode));
      ctx.addIssue({
        code: 'custom',
        path: ['gpuCount'],
        input: system.gpuCount,
        message: `must be a multiple of gpusPerNode (${system.gpusPerNode}); nearest: ${nodes * system.gpusPerNode}`,
      });
    }
    const domain = system.scaleUp?.domainSize;
    const perNode = system.gpusPerNode;
    if (isCount(domain) && isCount(perNode) && domain % perNode !== 0 && perNode % domain !== 0) {
      ctx.addIssue({
        code: 'custom',
        path: ['scaleUp', 'domainSize'],
        input: domain,
        message: `must be a multiple or a divisor of gpusPerNode (${perNode})`,
      });
    }
  }, ALWAYS)
  .describe('Accelerators, nodes, scale-up domains and the scale-out fabric');

export type InlineAccelerator = z.output<typeof InlineAcceleratorSchema>;
/** A system as parsed, before catalog defaults are filled in. */
export type SystemInput = z.output<typeof SystemSchema>;
