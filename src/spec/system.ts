/**
 * System: the accelerator, how many there are, how they are grouped into nodes and scale-up (NVLink-class)
 * domains, and the scale-out fabric between domains. Fields left out are filled from the accelerator's and the
 * fabric's catalog entries when the spec is resolved.
 * @module
 */
import { z } from 'zod';
import { findAccelerator, findFabric } from '../catalog/index.js';
import { checkCatalogId } from './catalog-refs.js';
import { ALWAYS, isCount, LIMITS, nonNegativeNumber, positiveInt, positiveNumber } from './common.js';

/** Largest site efficiency a spec takes: a site four times faster than the model is a wrong model, not a site. */
export const MAX_SITE_EFFICIENCY = 4;
/** HBM (and host memory) per accelerator, GiB: 64 TiB, 220× a B300's 288 GB. */
const MAX_HBM_GIB = 65_536;
/** GPUs in one scale-up domain or server: 65,536, 7× Google's 9,216-chip TPU pod and 113× NVL576. */
const MAX_DOMAIN_GPUS = 65_536;
/** Scale-out bandwidth per GPU, Gb/s: 100,000, 60× today's 1.6 Tb/s NICs. */
const MAX_NIC_GBPS = 100_000;
/** One-way latency, µs: one second, 10^5× a switch hop. */
const MAX_LATENCY_US = 1e6;
/** Taper above a pod (r:1): 64, 9× the 7:1 of Llama 3's fabric. */
const MAX_OVERSUBSCRIPTION = 64;
/** Switch ports: 4 to 2,048 (Tomahawk 6 splits to 512 × 200G; beyond that no part exists). */
const MAX_SWITCH_RADIX = 2048;
/** Power of one server or compute tray, kW: 2 MW, 3× a 600 kW Kyber rack. */
const MAX_NODE_KW = 2000;
/** Price per GPU, USD: $10M, 150× a GB200 rack's share per GPU. */
const MAX_PRICE_PER_GPU_USD = 1e7;
/** Power of one switch without optics, W: 100 kW, 40× a 144-port Quantum-X800 chassis. */
const MAX_SWITCH_W = 100_000;

/** An accelerator described inline, for parts the catalog does not have. */
export const InlineAcceleratorSchema = z
  .strictObject({
    name: z.string().min(1),
    peakTflops: z
      .strictObject({
        bf16: positiveNumber(LIMITS.tflops).describe('Dense BF16 peak, TFLOP/s (not the 2:4-sparse figure)'),
        fp8: positiveNumber(LIMITS.tflops).optional().describe('Dense FP8 peak, TFLOP/s'),
        fp4: positiveNumber(LIMITS.tflops).optional().describe('Dense FP4 peak, TFLOP/s'),
      })
      .describe('Dense peak matrix throughput per precision'),
    hbmGiB: positiveNumber(MAX_HBM_GIB).describe('HBM capacity, GiB (what vendors call GB: an H100 has 80)'),
    hbmBandwidthGBps: positiveNumber(LIMITS.bandwidthGBps).describe('HBM bandwidth, GB/s'),
    scaleUpBandwidthGBps: positiveNumber(LIMITS.bandwidthGBps).describe(
      'Scale-up bandwidth per GPU per direction, GB/s',
    ),
    scaleUpDomainSize: positiveInt(MAX_DOMAIN_GPUS).describe('GPUs in one scale-up domain'),
    scaleOutGbps: positiveNumber(MAX_NIC_GBPS).optional().describe('Scale-out NIC bandwidth per GPU, Gb/s'),
    tdpW: positiveNumber(LIMITS.gpuWatts).optional().describe('Board power, W'),
    hostLinkGBps: positiveNumber(LIMITS.bandwidthGBps)
      .optional()
      .describe(
        'Bandwidth to host memory per GPU per direction when all GPUs copy at once, GB/s (activation offload; a PCIe 5.0 x16 uplink shared by 2 GPUs: 31.5)',
      ),
    hostMemoryGiB: positiveNumber(MAX_HBM_GIB)
      .optional()
      .describe('Host memory per GPU for offloaded activations, GiB'),
    measuredGemmTflops: z
      .strictObject({
        bf16: positiveNumber(LIMITS.tflops).optional(),
        fp8: positiveNumber(LIMITS.tflops).optional(),
      })
      .optional()
      .describe('Best measured GEMM throughput per precision, TFLOP/s'),
  })
  .describe('An accelerator not in the catalog');

/** The scale-up domain (NVLink / Infinity Fabric / ICI). */
export const ScaleUpSchema = z.strictObject({
  domainSize: positiveInt(MAX_DOMAIN_GPUS)
    .optional()
    .describe('GPUs in one scale-up domain; default from the accelerator'),
  bandwidthGBps: positiveNumber(LIMITS.bandwidthGBps)
    .optional()
    .describe('Per GPU per direction, GB/s; default from the accelerator'),
  latencyUs: nonNegativeNumber(MAX_LATENCY_US).optional().describe('One-way small-message latency, microseconds'),
});

/** The scale-out fabric between scale-up domains. */
export const ScaleOutSchema = z.strictObject({
  fabric: z.string().min(1).optional().describe('Catalog fabric id (see `tokenworks catalog fabrics`)'),
  nicBandwidthGbps: positiveNumber(MAX_NIC_GBPS)
    .optional()
    .describe('NIC bandwidth per GPU, Gb/s; default from the accelerator'),
  topology: z.enum(['fat-tree', 'rail-optimized', 'torus', 'dragonfly']).default('rail-optimized'),
  tiers: z.number().int().min(1).max(4).optional().describe('Switch tiers; default: the fewest that reach the GPUs'),
  oversubscription: z
    .number()
    .min(1)
    .max(MAX_OVERSUBSCRIPTION)
    .default(1)
    .describe('Bandwidth taper r (as in r:1) above each pod; 1 = non-blocking (Llama 3: 7 between pods)'),
  podSize: positiveInt(LIMITS.gpus)
    .optional()
    .describe('GPUs under full bisection below the tapered tier (Llama 3: 3072); default: the whole cluster'),
  switchRadix: z
    .number()
    .int()
    .min(4)
    .max(MAX_SWITCH_RADIX)
    .optional()
    .describe('Switch ports at the NIC link speed; default from the fabric'),
  latencyUs: nonNegativeNumber(MAX_LATENCY_US)
    .optional()
    .describe('One-way small-message latency across the fabric, µs'),
});

/** The cluster a job runs on. */
export const SystemSchema = z
  .strictObject({
    accelerator: z
      .union([z.string().min(1), InlineAcceleratorSchema])
      .describe('Catalog accelerator id (see `tokenworks catalog accelerators`) or an inline description'),
    gpuCount: positiveInt(LIMITS.gpus).describe('Accelerators in the cluster'),
    gpusPerNode: positiveInt(MAX_DOMAIN_GPUS)
      .default(8)
      .describe('Accelerators per server (per compute tray for NVL72)'),
    gpuPowerLimitW: positiveNumber(LIMITS.gpuWatts)
      .optional()
      .describe('Power cap set on each GPU (Meta runs GB200 at 960 of 1,200 W); default the TDP'),
    nodePowerKW: positiveNumber(MAX_NODE_KW)
      .optional()
      .describe('Power of one server at full load; default from the catalog'),
    pricePerGpuUSD: positiveNumber(MAX_PRICE_PER_GPU_USD)
      .optional()
      .describe('Server (or rack) price per GPU; default from the catalog'),
    siteEfficiency: positiveNumber(MAX_SITE_EFFICIENCY)
      .optional()
      .describe(
        'Modelled step time ÷ measured step time at this site (`tokenworks calibrate` fits it); default 1: every step takes 1/siteEfficiency of the model',
      ),
    calibration: z
      .string()
      .min(1)
      .max(1000)
      .optional()
      .describe('A site calibration file written by `tokenworks calibrate`, relative to the spec; sets siteEfficiency'),
    switchPowerW: positiveNumber(MAX_SWITCH_W)
      .optional()
      .describe('Power of one switch without optics; default 750 W (assumed)'),
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
