/**
 * The output contracts: one zod schema per use case for what `--json` prints (and, later, what the HTTP API
 * answers). `npm run schemas` writes each as `schemas/<use-case>-output.schema.json`; the CLI tests validate
 * every command's `--json` against its schema. Objects are open (extra fields pass) so that adding a field is
 * not a breaking change; every field listed is checked for its type. Numbers are finite: JSON has no Infinity,
 * and a field that may have no value is `null` or absent, as documented beside it.
 * @module
 */
import { z } from 'zod';
import { ACTION_KINDS, DETECTION_KINDS } from '../detect/types.js';

const finite = () => z.number().finite();
const count = () => z.number().int().nonnegative();

/** One problem, as everywhere in Tokenworks: a code, the field path, what is wrong and what would be valid. */
export const IssueOutput = z.object({
  code: z.string(),
  path: z.string(),
  message: z.string(),
  value: z.unknown().optional(),
});

/** Seconds of one optimizer step, by cause. */
export const StepOutput = z.object({
  seconds: finite(),
  compute: finite(),
  bubble: finite(),
  imbalance: finite(),
  exposedCommunication: z.object({ tp: finite(), cp: finite(), ep: finite(), pp: finite(), dp: finite() }),
  optimizer: finite(),
  offload: finite().describe('Host copies of offloaded activations not hidden by compute'),
});

/** Bytes per GPU on the busiest pipeline stage, by kind, against the capacity. */
export const MemoryOutput = z.object({
  weights: finite(),
  gradients: finite(),
  optimizer: finite(),
  activations: finite(),
  buffers: finite(),
  reserve: finite(),
  total: finite(),
  capacity: finite(),
  stage: count(),
});

/** A feasible estimate of one plan. */
export const EstimateOutput = z.object({
  ok: z.literal(true),
  step: StepOutput,
  microBatchesPerStep: count(),
  tokensPerSecond: finite(),
  tokensPerSecondPerGpu: finite(),
  modelTflopsPerGpu: finite(),
  mfu: finite(),
  hfu: finite(),
  memory: MemoryOutput,
  optimizerSteps: count(),
  timeToTrainSeconds: finite(),
  gpuHours: finite(),
});

/** An infeasible plan: the reasons, and the memory it would need when memory is the reason. */
export const InfeasibleOutput = z.object({
  ok: z.literal(false),
  issues: z.array(z.object({ code: z.string(), path: z.string(), message: z.string() })),
  memory: MemoryOutput.optional(),
});

/** A resolved plan: the layout and its options. */
export const PlanLayoutOutput = z.object({
  tp: count(),
  pp: count(),
  virtualStages: count(),
  dp: count(),
  cp: count(),
  ep: count(),
  sequenceParallel: z.boolean(),
  sharding: z.enum(['none', 'zero1', 'zero2', 'zero3', 'fsdp']),
  microBatch: count(),
  recomputation: z.enum(['none', 'selective', 'full']),
  recomputeLayers: count().optional(),
  activationOffloadLayers: count()
    .optional()
    .describe('Layers whose activations go to host memory (0 or absent: none)'),
  flashAttention: z.boolean(),
  lowPrecisionWeights: z.boolean(),
});

/** A resolved system: the accelerator (catalog entry or inline) and the cluster around it. */
export const SystemOutput = z.object({
  accelerator: z.object({ name: z.string(), hbmGiB: finite(), peakTflops: z.object({ bf16: finite() }) }),
  gpuCount: count(),
  gpusPerNode: count(),
  nodes: count(),
  scaleUp: z.object({ domainSize: count(), bandwidthGBps: finite() }),
  scaleOut: z.object({ nicBandwidthGbps: finite(), topology: z.string(), oversubscription: finite() }),
});

/** A whole factory: bill of materials, power, cost and KPIs. */
export const FactoryOutput = z.object({
  ok: z.literal(true),
  gpus: count(),
  purchasedGpus: count(),
  nodes: count(),
  racks: count(),
  gpusPerRack: count(),
  fabric: z.object({
    tiers: count(),
    leaves: count(),
    spines: count(),
    cores: count(),
    superCores: count(),
    switches: count(),
    hostLinks: count(),
    leafSpineLinks: count(),
    spineCoreLinks: count(),
    coreSuperCoreLinks: count(),
    radix: count(),
    transceivers: count(),
  }),
  storage: z.object({ checkpointBytes: finite(), writeGBps: finite() }),
  powerKW: z.object({
    compute: finite(),
    network: finite(),
    storage: finite(),
    it: finite(),
    facility: finite(),
    perGpuAtFacility: finite(),
    provisionedFacility: finite(),
  }),
  costUSD: z.object({
    servers: finite(),
    network: finite(),
    building: finite(),
    capex: finite(),
    perHour: finite(),
    perGpuHour: finite(),
    energyPerHour: finite(),
    run: finite(),
  }),
  kpis: z.object({
    timeToTrainDays: finite(),
    tokensPerSecond: finite(),
    usdPerMillionTokens: finite(),
    tokensPerMWh: finite(),
  }),
});

const RankedPlanOutput = z.object({
  plan: PlanLayoutOutput,
  precision: z.enum(['bf16', 'fp8', 'fp4']),
  estimate: EstimateOutput,
});

const DesignPointOutput = z.object({
  accelerator: z.string(),
  acceleratorName: z.string(),
  gpus: count(),
  system: SystemOutput,
  precision: z.enum(['bf16', 'fp8', 'fp4']),
  plan: PlanLayoutOutput,
  estimate: EstimateOutput,
  factory: FactoryOutput,
  meets: z.object({ deadline: z.boolean(), power: z.boolean(), budget: z.boolean() }),
});

/** `tokenworks check --json`. */
export const CheckOutputSchema = z.object({
  file: z.string().optional(),
  valid: z.literal(true),
  feasible: z.boolean(),
  issues: z.array(IssueOutput),
  warnings: z.array(IssueOutput),
  spec: z.object({ workload: z.object({ model: z.object({ name: z.string() }) }) }),
  summary: z.object({
    parameters: z.object({ total: finite() }),
    flopsPerToken: z.object({ total: finite(), dense: finite(), attention: finite() }),
    weightBytes: finite(),
    trainingStateBytes: finite(),
    optimizerSteps: count(),
    trainingFlops: finite(),
  }),
});

/** `tokenworks estimate --json`: the estimate, or why the plan is infeasible (then the exit code is 2). */
export const EstimateOutputSchema = z.union([
  EstimateOutput.extend({ file: z.string().optional() }),
  InfeasibleOutput.extend({ file: z.string().optional() }),
]);

/** `tokenworks plan --json` (with `--simulate`, a `simulation` as `simulate --json` prints it). */
export const PlanOutputSchema = z.object({
  title: z.string(),
  mode: z.enum(['plans', 'designs']),
  search: z
    .object({
      best: z.array(RankedPlanOutput),
      candidates: count(),
      feasible: count(),
      rejected: z.record(z.string(), count()),
      estimates: count(),
    })
    .optional(),
  design: z
    .object({
      points: z.array(DesignPointOutput),
      pareto: z.array(DesignPointOutput),
      recommended: DesignPointOutput.optional(),
      reasons: z.array(z.string()),
      binding: z.array(z.object({ constraint: z.string(), message: z.string() })),
      skipped: z.array(z.object({ accelerator: z.string(), gpus: count().optional(), reason: z.string() })),
    })
    .optional(),
  chosen: z
    .object({
      system: SystemOutput,
      plan: PlanLayoutOutput,
      estimate: EstimateOutput,
      factory: FactoryOutput.optional(),
      factoryIssues: z.array(z.string()).optional(),
      reasons: z.array(z.string()),
    })
    .optional(),
  binding: z.array(z.string()),
  spec: z.object({ workload: z.unknown(), system: z.unknown(), plan: z.unknown() }).optional(),
  deadlineDays: finite().optional(),
});

/** P10, P50, P90 and mean over a study's replicas. */
export const StatOutput = z.object({ p10: finite(), p50: finite(), p90: finite(), mean: finite() });

/** `tokenworks simulate --json`. */
export const SimulateOutputSchema = z.object({
  title: z.string(),
  design: z.object({
    gpus: count(),
    accelerator: z.string(),
    layout: z.string(),
    tokensPerSecond: finite(),
    stepSeconds: finite(),
  }),
  replicas: count(),
  seed: z.number().int(),
  finished: count(),
  ettr: StatOutput,
  goodput: StatOutput,
  /** Null percentiles when a share of the replicas never finished within their window (a projection). */
  timeToTrainDays: z.object({ p10: finite(), p50: finite(), p90: finite().nullable(), mean: finite().nullable() }),
  unexpectedInterruptions: StatOutput,
  figures: z.record(z.string(), z.object({ p10: finite().nullable(), p50: finite().nullable() })),
  badputHours: z.record(z.string(), StatOutput),
  interruptionsByCause: z.record(z.string(), StatOutput),
  settings: z.object({ gpus: count(), nodes: count(), mtbfSeconds: finite().nullable() }),
  /** Settings far from an observed or stated reliability (printed as warnings in text mode). */
  warnings: z.array(z.object({ path: z.string(), message: z.string() })),
  /** With `--mitigation`: ETTR without and with the spec's policy on the same seeds, the gain by cause. */
  mitigation: z
    .object({
      replicas: count(),
      seed: z.number().int(),
      without: z.object({ ettr: StatOutput, goodput: StatOutput }),
      with: z.object({ ettr: StatOutput, goodput: StatOutput }),
      ettrGain: StatOutput,
      goodputGain: StatOutput,
      ettrGainByCause: z.record(z.string(), finite()),
      badputHours: z.object({ without: z.record(z.string(), finite()), with: z.record(z.string(), finite()) }),
      actions: z.object({
        predictedCheckpoints: finite(),
        falseAlarms: finite(),
        drains: finite(),
        excluded: finite(),
      }),
    })
    .optional(),
  example: z.object({
    summary: z.object({ ettr: finite(), goodput: finite() }),
    timeline: z.object({ bucketSeconds: finite(), tokensPerSecond: z.array(finite()) }),
  }),
});

const SideOutput = z.object({ timeToTrainDays: finite().nullable(), usdPerMillionTokens: finite().nullable() });

/** `tokenworks compare --json`: the breakpoint first. */
export const CompareOutputSchema = z.object({
  title: z.string(),
  breakpoint: count().nullable(),
  breakpointStatus: z.enum(['breakpoint', 'factory-everywhere', 'shared-at-largest', 'none']),
  breakpointReason: z.string(),
  settings: z.array(z.string()),
  scenario: z.object({ replicas: count(), seed: z.number().int(), effects: z.record(z.string(), z.boolean()) }),
  points: z.array(
    z.object({
      gpus: count(),
      layout: z.string(),
      dedicated: SideOutput.extend({ spareNodes: count(), usdPerGpuHour: finite() }),
      shared: SideOutput.extend({
        slowdown: z.object({ fabric: finite(), interference: finite(), mixedGenerations: finite(), total: finite() }),
        started: z.boolean(),
        usdPerGpuHour: finite(),
      }),
      factoryWins: z.object({ time: z.boolean(), cost: z.boolean() }),
      breakEvenUtilisation: finite(),
    }),
  ),
  skipped: z.array(z.object({ gpus: count(), reason: z.string() })),
});

const ErrorSummaryOutput = z.object({ rows: count(), medianPct: finite(), meanPct: finite(), p90Pct: finite() });
/** A row's stated peak memory per GPU against the model's (GiB; error = predicted / stated − 1). */
const PeakMemoryOutput = z.object({ statedGiB: finite(), predictedGiB: finite(), error: finite() });
const ValidationRowOutput = z.object({
  id: z.string(),
  set: z.string(),
  source: z.string(),
  framework: z.string(),
  model: z.string(),
  gpu: z.string(),
  gpus: count(),
  arch: z.enum(['dense', 'moe']),
  precision: z.string(),
  metric: z.string(),
  measured: finite(),
  predicted: finite(),
  error: finite(),
  absPctError: finite(),
  filled: z.array(z.string()),
  peakMemory: PeakMemoryOutput.optional(),
});

/** `tokenworks validate --json`. */
export const ValidateOutputSchema = z.object({
  rows: z.array(ValidationRowOutput),
  skipped: z.array(
    z.object({
      id: z.string(),
      set: z.string().optional(),
      model: z.string(),
      reason: z.string(),
      kind: z.enum(['unsupported', 'infeasible', 'invalid']),
      peakMemory: PeakMemoryOutput.optional(),
    }),
  ),
  summary: ErrorSummaryOutput,
  groups: z.record(z.string(), z.record(z.string(), ErrorSummaryOutput)),
  worst: z.array(ValidationRowOutput),
  /** Error of the modelled peak memory per GPU on the rows that state it; absent when none does. */
  peakMemory: ErrorSummaryOutput.optional(),
});

/** `tokenworks emulate --json`: the files written and the run's ground truth (truth.json). */
export const EmulateOutputSchema = z.object({
  files: z.array(z.string()),
  truth: z.object({
    seed: z.number().int(),
    wallSeconds: finite(),
    finished: z.boolean(),
    ettr: finite(),
    goodput: finite(),
    unexpectedInterruptions: count(),
    plannedInterruptions: count(),
    interruptionsWhileTraining: count(),
    interruptionsByCause: z.record(z.string(), count()),
    badputSeconds: z.record(z.string(), finite()),
    stepSeconds: finite(),
    tokensPerStep: finite(),
    logInterval: count(),
    rewinds: count(),
    iterations: count(),
    lines: count(),
    /** `--faults`: each injected fault (seconds from the run's start, and wall-clock ISO times). */
    faults: z
      .array(
        z.object({
          index: count(),
          kind: z.enum(['slow-host', 'thermal', 'flapping-link', 'error-burst']),
          host: z.string(),
          hostIndex: count(),
          gpus: z.array(count()),
          start: finite(),
          end: finite(),
          settings: z.record(z.string(), z.union([finite(), z.string()])),
          events: count().optional(),
          failure: z
            .object({ t: finite(), xid: count(), interruption: z.boolean(), cause: z.string().optional() })
            .optional(),
          startTime: z.string(),
          endTime: z.string(),
        }),
      )
      .optional(),
  }),
  notes: z.array(z.string()),
});

const ComparisonOutput = z.object({
  metric: z.string(),
  label: z.string(),
  unit: z.string(),
  predicted: finite(),
  band: z.object({ low: finite(), high: finite() }),
  bandSource: z.string(),
  /** Absent when the run did not show it (no GPU samples, an empty log). */
  actual: finite().optional(),
  gap: finite().optional(),
  status: z.enum(['within', 'above', 'below', 'unobserved']),
  likelyCause: z.string().optional(),
});

const ObservedKpisOutput = z.object({
  empty: z.boolean(),
  reason: z.string().optional(),
  points: count(),
  timedPoints: count(),
  medianSeconds: finite(),
  steady: z.object({ count: count(), p10: finite(), p50: finite(), p90: finite(), p99: finite() }),
  restarts: count(),
  restartsAtRewind: count(),
  wallSeconds: finite(),
  productiveSeconds: finite(),
  badputSeconds: z.record(z.string(), finite()),
  badputShare: z.record(z.string(), finite()),
  ettr: finite(),
  goodput: finite(),
  throughput: z
    .object({
      tokensPerSecond: finite(),
      goodputTokensPerSecond: finite(),
      tokensPerSecondPerGpu: finite().optional(),
      modelTflopsPerGpu: finite().optional(),
      mfu: finite().optional(),
    })
    .optional(),
});

/** `tokenworks observe --json`: the KPIs, plan versus actual, the GPUs, the forecast and what was read. */
/** One detection of `observe --detect` (src/detect/types.ts). */
const DetectionOutput = z.object({
  kind: z.enum(DETECTION_KINDS),
  time: finite(),
  step: finite().optional(),
  host: z.string().optional(),
  rank: count().optional(),
  gpu: z.string().optional(),
  score: finite(),
  threshold: finite(),
  severity: z.enum(['info', 'warning', 'critical']),
  evidence: z.string(),
  signals: z.record(z.string(), finite()).optional(),
});

export const ObserveOutputSchema = z.object({
  title: z.string(),
  design: z.object({
    name: z.string(),
    gpus: count(),
    accelerator: z.string(),
    layout: z.string(),
    siteEfficiency: finite(),
  }),
  kpis: z.object({ run: ObservedKpisOutput, window: ObservedKpisOutput.optional() }),
  planVersusActual: z.array(ComparisonOutput),
  predictedStep: z.object({
    seconds: finite(),
    compute: finite(),
    bubble: finite(),
    imbalance: finite(),
    exposedCommunication: finite(),
    optimizer: finite(),
  }),
  twin: z.object({ days: finite(), replicas: count(), ettr: StatOutput, goodput: StatOutput }).optional(),
  gpu: z
    .object({
      source: z.string(),
      observed: z.object({ gpus: count() }),
      kpis: z.object({ counts: z.object({ gpus: count(), hosts: count(), samples: count() }) }),
    })
    .optional(),
  /** Null percentiles where replicas never finished (a projection). */
  forecast: z
    .object({
      replicas: count(),
      elapsedDays: finite(),
      remainingShare: finite(),
      timeToTrainDays: z.object({ p10: finite().nullable(), p50: finite().nullable(), p90: finite().nullable() }),
      meetDeadlineProbability: finite().optional(),
    })
    .optional(),
  /** `--detect`: the detections (src/detect/types.ts) and the actions they call for. */
  detect: z
    .object({
      detections: z.array(DetectionOutput),
      moreDetections: count(),
      actions: z.array(
        z.object({
          kind: z.enum(ACTION_KINDS),
          host: z.string().optional(),
          reason: z.string(),
          detections: z.array(DetectionOutput),
          parameters: z.record(z.string(), finite()).optional(),
          expectedGain: z.object({ ettrWithout: finite(), ettrWith: finite(), basis: z.string() }).optional(),
          time: finite(),
        }),
      ),
      counts: z.record(z.enum(DETECTION_KINDS), count()),
      notes: z.array(z.string()),
    })
    .optional(),
  notes: z.array(z.string()),
  inputs: z.object({
    logs: z.array(z.string()),
    malformedLines: count(),
    malformed: z.array(z.object({ file: z.string(), line: count(), reason: z.string() })),
    ignoredLines: count(),
    skippedGpuSamples: count(),
  }),
});

/** `tokenworks calibrate --json`: the calibration file written (src/spec/site-calibration.ts). */
export const CalibrateOutputSchema = z.object({
  kind: z.literal('tokenworks-site-calibration'),
  version: z.literal(1),
  siteEfficiency: finite(),
  accelerator: z.string(),
  spread: z.object({ min: finite(), max: finite(), geometricSd: finite() }),
  runs: z.array(
    z.object({
      run: z.string(),
      predictedStepSeconds: finite(),
      observedStepSeconds: finite(),
      steadySteps: count(),
      ratio: finite(),
    }),
  ),
  warnings: z.array(z.string()),
});

/** `tokenworks rules --json`: the plan's thresholds, the metrics the rules read and the rules (src/app/rules.ts). */
export const RulesOutputSchema = z.object({
  title: z.string(),
  design: z.object({ name: z.string(), gpus: count(), accelerator: z.string(), layout: z.string() }),
  thresholds: z.object({
    tokensPerSecond: z.object({ planned: finite(), low: finite(), modelError: finite() }),
    gpuPowerW: z.object({ planned: finite(), low: finite(), high: finite() }).optional(),
    stragglerScore: finite(),
    xidBurst: z.object({ events: count(), windowMinutes: finite() }),
  }),
  metrics: z.array(z.object({ metric: z.string(), exporter: z.string(), use: z.string() })),
  document: z.object({
    groups: z.array(
      z.object({
        name: z.string(),
        rules: z.array(
          z.union([
            z.object({ record: z.string(), expr: z.string() }),
            z.object({
              alert: z.string(),
              expr: z.string(),
              for: z.string().optional(),
              labels: z.record(z.string(), z.string()),
              annotations: z.object({ summary: z.string(), description: z.string() }),
            }),
          ]),
        ),
      }),
    ),
  }),
  notes: z.array(z.string()),
});

/** One fault type's figures in `detect-eval --json` (src/app/detect-eval.ts). */
const DetectionScoreSchema = z.object({
  faults: count(),
  found: count(),
  detections: count(),
  truePositives: count(),
  precision: finite(),
  recall: finite(),
  latencyP50: finite(),
  latencyP90: finite(),
});

/** `tokenworks detect-eval --json`: precision, recall and latency per fault type on labelled emulated runs. */
export const DetectEvalOutputSchema = z.object({
  design: z.string(),
  stragglers: z.object({
    bySize: z.array(DetectionScoreSchema.extend({ ranks: count() })),
    all: DetectionScoreSchema,
  }),
  failSlow: DetectionScoreSchema.extend({ recoveries: count() }),
  failureRisk: DetectionScoreSchema.extend({
    withPrecursor: count(),
    falseAlarmsPerHostDay: finite(),
    precisionAnchor: finite(),
  }),
  settings: z.object({
    stepSeconds: finite(),
    latencySeconds: finite(),
    changeIterations: count(),
    noise: z.array(z.string()),
    seed: z.number().int(),
  }),
});

/** Every use case's output schema, by the name its file in schemas/ takes. */
export const OUTPUT_SCHEMAS = {
  check: CheckOutputSchema,
  estimate: EstimateOutputSchema,
  plan: PlanOutputSchema,
  simulate: SimulateOutputSchema,
  compare: CompareOutputSchema,
  validate: ValidateOutputSchema,
  emulate: EmulateOutputSchema,
  observe: ObserveOutputSchema,
  calibrate: CalibrateOutputSchema,
  rules: RulesOutputSchema,
  'detect-eval': DetectEvalOutputSchema,
} as const;

/** File name and JSON Schema (draft 2020-12) of each use case's output: `schemas/<use-case>-output.schema.json`. */
export function outputJsonSchemas(): Record<string, object> {
  const out: Record<string, object> = {};
  for (const [name, schema] of Object.entries(OUTPUT_SCHEMAS)) {
    const document = z.toJSONSchema(schema, { io: 'output', unrepresentable: 'any', target: 'draft-2020-12' });
    out[`${name}-output.schema.json`] = { ...document, title: `Tokenworks ${name} output (--json)` };
  }
  return out;
}
