/**
 * The `twin` section of a spec: how the digital twin simulates the whole run. Every field is optional; left out,
 * it takes the sourced default of src/catalog/reliability.ts (docs/twin.md lists them).
 * @module
 */
import { z } from 'zod';
import { LIMITS, nonNegativeNumber, positiveNumber } from './common.js';

const nonNegative = (max: number) => nonNegativeNumber(max);

/** Failures per component-year: 10,000 (one an hour per part), 10^4× the census's worst class. */
const MAX_RATE_PER_YEAR = 10_000;
/** Age of the parts at the start, hours: a century. */
const MAX_AGE_HOURS = 876_000;
/** Repair times, hours: a year. */
const MAX_REPAIR_HOURS = 8760;

/** The failure classes a spec may tune. */
export const FAILURE_CLASS_IDS = [
  'gpu',
  'hbm',
  'nvlink',
  'nic',
  'host',
  'psu',
  'network',
  'software',
  'hang',
  'maintenance',
] as const;

/** One failure class's overrides. */
export const FailureClassSchema = z.strictObject({
  ratePerYear: nonNegative(MAX_RATE_PER_YEAR)
    .optional()
    .describe('Failures per component per year (per job-year for maintenance)'),
  weibullShape: z
    .number()
    .min(0.1)
    .max(10)
    .optional()
    .describe('Weibull shape k of time to failure: < 1 = early-life failures (infant mortality); default 1 (Poisson)'),
  ageHours: nonNegative(MAX_AGE_HOURS)
    .optional()
    .describe('Age of the components when the run starts (Weibull only); default 0: a new cluster'),
});

const failures = Object.fromEntries(FAILURE_CLASS_IDS.map((id) => [id, FailureClassSchema.optional()])) as Record<
  (typeof FAILURE_CLASS_IDS)[number],
  z.ZodOptional<typeof FailureClassSchema>
>;

/** The failure domains a spec may give a rate: a whole rack, a power distribution unit, a leaf switch. */
export const DOMAIN_IDS = ['rack', 'pdu', 'leaf'] as const;

/** One failure domain's settings. */
export const DomainSchema = z.strictObject({
  ratePerYear: nonNegative(MAX_RATE_PER_YEAR).describe('Events per domain per year (every host of it goes down)'),
  hosts: z
    .number()
    .int()
    .positive()
    .max(LIMITS.gpus)
    .optional()
    .describe('Hosts in one domain; default from the design (hosts per rack; two racks per PDU; hosts per leaf)'),
  repairHours: positiveNumber(MAX_REPAIR_HOURS)
    .optional()
    .describe("Hours until the domain's hosts are back (power restored, switch replaced); default 4"),
});

const domains = Object.fromEntries(DOMAIN_IDS.map((id) => [id, DomainSchema.optional()])) as Record<
  (typeof DOMAIN_IDS)[number],
  z.ZodOptional<typeof DomainSchema>
>;

/** The mitigation policy: what detection plus automation does about slow hosts, lemons and coming failures. */
export const MitigationSchema = z.strictObject({
  stragglers: z
    .strictObject({
      detectMinutes: nonNegative(LIMITS.delaySeconds / 60).describe(
        'Minutes from the start of a slow-host episode to its detection',
      ),
    })
    .optional()
    .describe('Drain a detected slow host (a clean stop that swaps it for a spare) when that is expected to pay'),
  lemons: z
    .strictObject({
      excludeAfter: z.number().int().min(1).max(1000).describe('Failures after which a host is excluded for good'),
    })
    .optional()
    .describe('Exclude repeat offenders: a host is retired after k failures and replaced from the platform'),
  prediction: z
    .strictObject({
      recall: z.number().min(0).max(1).describe('Share of unplanned failures predicted ahead'),
      precision: z.number().min(0.01).max(1).describe('Share of predictions that are followed by a failure'),
      leadMinutes: positiveNumber(LIMITS.delaySeconds / 60).describe('Minutes between a prediction and its failure'),
    })
    .optional()
    .describe('Checkpoint now on a predicted failure; false alarms cost a checkpoint each'),
  checkpointInterval: z
    .enum(['young', 'daly'])
    .optional()
    .describe('Set the checkpoint interval for the modelled failure rate: Young sqrt(2δM) or Daly sqrt(2δ(M+R))'),
});

/** Twin settings. */
export const TwinSchema = z
  .strictObject({
    days: positiveNumber(LIMITS.days)
      .optional()
      .describe('Simulate this many days of wall-clock time; default: until the workload has trained'),
    bucketMinutes: z.number().min(0.01).max(10_080).default(60).describe('Width of a timeline bucket, minutes'),
    failures: z
      .strictObject(failures)
      .optional()
      .describe('Per-class overrides of the failure rates (defaults: the Llama 3 405B census)'),
    failureScale: nonNegative(1000)
      .default(1)
      .describe('Multiplies every unplanned failure rate (2 = a fleet twice as unreliable)'),
    detection: z
      .strictObject({
        crashSeconds: nonNegative(LIMITS.delaySeconds).optional().describe('Time to notice a crash; default 30 s'),
        hangSeconds: nonNegative(LIMITS.delaySeconds)
          .optional()
          .describe('Collective timeout that catches a hang; default 600 s'),
      })
      .optional(),
    restart: z
      .strictObject({
        seconds: nonNegative(LIMITS.delaySeconds)
          .optional()
          .describe('Tear down, reschedule and initialise the job; default 300 s'),
        swapSeconds: nonNegative(LIMITS.delaySeconds).optional().describe('Swap in spare hosts; default 180 s'),
      })
      .optional(),
    checkpoint: z
      .strictObject({
        intervalMinutes: z
          .union([z.literal('optimal'), z.number().min(0.01).max(525_600)])
          .default('optimal')
          .describe('Minutes of training between checkpoints, or "optimal" (Young/Daly from the failure rate)'),
        mode: z
          .enum(['blocking', 'async'])
          .default('blocking')
          .describe('blocking: training waits for the write; async: a host-memory snapshot, then a background write'),
        storageGBps: positiveNumber(LIMITS.bandwidthGBps)
          .optional()
          .describe('Checkpoint write and read bandwidth, GB/s; default: sized by facility.checkpointWriteSeconds'),
        snapshotGBps: positiveNumber(LIMITS.bandwidthGBps)
          .optional()
          .describe('Per-GPU copy bandwidth to host memory for async checkpoints, GB/s; default 25'),
        readGBps: positiveNumber(LIMITS.bandwidthGBps)
          .optional()
          .describe('Checkpoint read bandwidth at a restart, GB/s; default: the write bandwidth'),
      })
      .optional(),
    spares: z
      .strictObject({
        nodes: z
          .union([z.literal('auto'), z.number().int().nonnegative().max(LIMITS.gpus)])
          .default('auto')
          .describe('Hot-spare hosts; "auto": the 99th percentile of hosts in repair at once'),
        policy: z
          .enum(['wait', 'shrink'])
          .default('wait')
          .describe('With no spare left: wait for a repair, or shrink data parallelism and go on slower'),
        autoRepairHours: positiveNumber(MAX_REPAIR_HOURS).optional().describe('Automatic repair time; default 2 h'),
        manualRepairHours: positiveNumber(MAX_REPAIR_HOURS).optional().describe('Manual repair time; default 48 h'),
        manualShare: z.number().min(0).max(1).optional().describe('Share of repairs that need a technician; 0.8'),
        refill: z
          .strictObject({
            leadHours: positiveNumber(MAX_REPAIR_HOURS).describe(
              'Hours for a host requested from the wider platform to arrive when one leaves for repair',
            ),
          })
          .optional()
          .describe(
            'Refill the pool from the platform: a failed host is replaced after the lead time or its repair, whichever is first',
          ),
      })
      .optional(),
    stragglers: z
      .strictObject({
        ratePerNodeYear: nonNegative(MAX_RATE_PER_YEAR)
          .optional()
          .describe('Fail-slow episodes per host per year; default 0.5'),
        meanMinutes: positiveNumber(43_200).optional().describe('Mean episode length; default 24 min'),
        slowdown: z.number().min(1).max(10).optional().describe('Median slowdown of the job during one; 1.25'),
      })
      .optional(),
    throttling: z
      .strictObject({
        diurnalSwing: z
          .number()
          .min(0)
          .max(0.5)
          .optional()
          .describe('Peak-to-trough throughput swing over a day at 16,384 GPUs; default 0.015 (Llama 3)'),
      })
      .optional(),
    lemons: z
      .strictObject({
        fraction: z.number().min(0).max(1).describe('Share of hosts that are lemons (repeat offenders); AIReSim 0.15'),
        multiplier: z
          .number()
          .min(1)
          .max(1000)
          .optional()
          .describe('How many times the base rate a lemon host fails (hardware classes); default 5 (AIReSim)'),
      })
      .optional()
      .describe('Lemon hosts: a fraction of hosts fails at a multiple of the base rate; default none'),
    domains: z
      .strictObject(domains)
      .optional()
      .describe('Correlated failures: one event takes every host of a rack, PDU or leaf switch down at once'),
    mitigation: MitigationSchema.optional().describe(
      'Detection plus automation: drain slow hosts, exclude lemons, checkpoint before predicted failures',
    ),
  })
  .describe('Digital-twin settings: failures, recovery, checkpoints, spares, stragglers and throttling');

export type TwinInput = z.output<typeof TwinSchema>;

/** The twin settings of a spec without a `twin` section: every default of {@link TwinSchema}. */
export const TWIN_DEFAULTS: TwinInput = TwinSchema.parse({});

/** The same `twin` section without its mitigation policy: the baseline a policy is compared with. */
export function withoutMitigation(twin: TwinInput | undefined): TwinInput {
  const { mitigation: _policy, ...rest } = twin ?? TWIN_DEFAULTS;
  return rest;
}
