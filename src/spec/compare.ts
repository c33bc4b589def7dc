/**
 * The `compare` section of a spec: the shared data center the flagship job is compared in, which multi-tenancy
 * effects are on, the dedicated factory's utilisation and the job sizes to sweep (docs/breakpoint.md).
 * @module
 */
import { z } from 'zod';
import { LIMITS, positiveInt } from './common.js';
import { MAX_SIZES } from './limits.js';

export { MAX_SIZES } from './limits.js';

const on = () => z.boolean().default(true);

/** Which costs of multi-tenancy apply to the flagship job (each can be switched off to see its share). */
export const EffectsSchema = z
  .strictObject({
    queue: on().describe('Wait until the gang of whole nodes fits in the loaded cluster'),
    fragmentation: on().describe('Placement over several leaf domains: traffic between them crosses the taper'),
    contention: on().describe("Other tenants' traffic on the tapered links"),
    interference: on().describe('Per-step spread of worker times in shared clusters (the step waits for the slowest)'),
    mixedGenerations: on().describe('Older GPUs in the placement set the pace'),
    preemption: on().describe('Preemptions by higher-priority tenants: a restart and the work since the checkpoint'),
    noSpares: on().describe('No hot spares: a failed host is replaced when the shared pool frees one'),
  })
  .describe('Multi-tenancy effects on the flagship job');

/** The shared data center. */
export const SharedClusterSchema = z
  .strictObject({
    gpus: positiveInt(LIMITS.gpus)
      .default(32768)
      .describe('GPUs in the shared cluster (servers of the same accelerator)'),
    nodesPerLeaf: positiveInt(4096).default(32).describe('Servers under one leaf switch (full bisection inside)'),
    taper: z.number().min(1).max(64).default(3).describe('Oversubscription above the leaf (r in r:1)'),
    tenantLinkLoad: z
      .number()
      .min(0)
      .max(0.9)
      .default(0.25)
      .describe("Share of the tapered links' bandwidth other tenants use"),
    utilisation: z.number().min(0.05).max(0.98).default(0.8).describe("Tenants' offered load, a share of the GPUs"),
    policy: z.enum(['fifo', 'backfill']).default('fifo').describe('Scheduler'),
    interferenceCov: z
      .number()
      .min(0)
      .max(2)
      .optional()
      .describe('Coefficient of variation of worker step times; default the Alibaba PAI trace median (0.093)'),
    olderShare: z.number().min(0).max(1).default(0.29).describe('Share of servers of an older GPU generation'),
    olderAccelerator: z.string().min(1).default('a100-sxm-80gb').describe('Catalog id of the older GPU'),
    sameGeneration: z
      .boolean()
      .default(true)
      .describe('The flagship asks for its own GPU model only (it waits longer) instead of taking any idle server'),
    preemptionsPerDay: z.number().min(0).max(100).default(0.5).describe('Preemptions of the flagship job per day'),
  })
  .describe('The shared, multi-tenant data center');

/** The comparison scenario. */
export const CompareSchema = z
  .strictObject({
    sizes: z
      .array(positiveInt(LIMITS.gpus))
      .min(1)
      .max(MAX_SIZES)
      .transform((sizes) => [...new Set(sizes)].sort((a, b) => a - b))
      .optional()
      .describe('Flagship GPU counts to sweep; default 64 to 16,384'),
    replicas: positiveInt(1000).default(5).describe('Twin replicas per side and size'),
    seed: z
      .number()
      .int()
      .min(-(2 ** 31))
      .max(2 ** 31 - 1)
      .default(1),
    shared: SharedClusterSchema.default(SharedClusterSchema.parse({})),
    dedicated: z
      .strictObject({
        utilisation: z
          .number()
          .min(0.05)
          .max(1)
          .default(0.7)
          .describe("Share of the factory's life spent on runs like this one (its cost is spread over that)"),
      })
      .default({ utilisation: 0.7 }),
    effects: EffectsSchema.default(EffectsSchema.parse({})),
  })
  .describe('Dedicated factory versus shared data center');

export type CompareInput = z.output<typeof CompareSchema>;
export type Effects = z.output<typeof EffectsSchema>;

/** The scenario of a spec without a `compare` section: every default of {@link CompareSchema}. */
export const COMPARE_DEFAULTS: CompareInput = CompareSchema.parse({});
