/**
 * The `emulate` use case: what a real run of the spec's design would emit, from one seeded twin replica run with
 * detail (src/telemetry/emulator.ts): the Megatron training log, the ground-truth events, `truth.json` and one
 * dcgm-exporter scrape file per host (`dcgm/host-NNNN.prom`). The
 * same seed and noise give the same bytes. `--faults FILE` injects faults (slow hosts, thermal throttling, flapping
 * links, error bursts before a failure: src/telemetry/emulator-faults.ts), validated here by
 * {@link EmulateFaultsSchema} and against the design (host and GPU in range, the start inside the run).
 * @module
 */
import { z } from 'zod';
import { GPU_IDLE_POWER_SHARE } from '../catalog/reliability.js';
import { ReplicaStreams } from '../sim/index.js';
import { fromZodIssues, type Result, type SpecIssue } from '../spec/issues.js';
import type { ResolvedSpec } from '../spec/resolve.js';
import { type EmulatedRun, type EmulatorTruth, emulateDcgm, emulateRun } from '../telemetry/emulator.js';
import {
  type EmulatorFaults,
  FAULT_KINDS,
  FAULT_STREAM,
  type FaultSpec,
  hostName,
  injectFaults,
  MAX_FAULTS,
} from '../telemetry/emulator-faults.js';
import { readMegatronCiGolden } from '../telemetry/megatron-ci.js';
import { parseStepLog } from '../telemetry/step-log.js';
import { type RunResult, simulateRun } from '../twin/run.js';
import { twinConfig } from '../twin/setup.js';
import { designOf } from './design.js';
import type { Ports, UseCaseOptions } from './ports.js';
import { eventBudgetIssue, twinWithDays } from './simulate.js';

/** One file the emulator writes: its name inside the output folder and its text. */
export interface EmulatedFile {
  readonly name: string;
  readonly text: string;
}

/** What `tokenworks emulate` produced. */
export interface EmulateOutcome {
  readonly title: string;
  readonly files: readonly EmulatedFile[];
  readonly truth: EmulatorTruth;
  /** What the emulator decided (a raised log interval, no noise) and where the noise came from. */
  readonly notes: readonly string[];
}

/** A host as the emulator names it (`host-0003`) or its index. */
const HostRef = z
  .union([
    z.number().int().min(0).max(1_000_000),
    z.string().regex(/^host-\d{1,7}$/, 'a host name as the emulator writes it, e.g. host-0003'),
  ])
  .describe('host index, or its name in the scrape files (host-0003)');
const GpuIndex = z.number().int().min(0).max(63).describe('GPU index on the host (dcgm `gpu` label)');
const Window = {
  host: HostRef,
  startHours: z.number().min(0).max(2_880).describe('hours from the run start'),
  durationHours: z.number().min(0.001).max(2_880).describe('hours it lasts (error-burst: the lead window)'),
};

/** One fault of an `emulate --faults` file. */
export const EmulateFaultSchema = z.discriminatedUnion('kind', [
  z
    .object({
      kind: z.literal('slow-host'),
      ...Window,
      slowdown: z.number().min(1.01).max(10).default(1.3).describe('step time × this while it lasts'),
    })
    .strict(),
  z
    .object({
      kind: z.literal('thermal'),
      ...Window,
      gpu: GpuIndex.default(0),
      temperatureC: z.number().min(30).max(120).default(90).describe('the GPU temperature while busy, °C'),
      clockRatio: z.number().min(0.1).max(0.99).default(0.8).describe('SM clock share while throttled'),
    })
    .strict(),
  z
    .object({
      kind: z.literal('flapping-link'),
      ...Window,
      gpu: GpuIndex.optional().describe('one GPU; absent: every GPU of the host'),
      flapsPerHour: z.number().min(0.01).max(360).default(4),
      flapSeconds: z.number().min(1).max(3600).default(30),
      errorsPerFlap: z.number().min(1).max(1e6).default(100).describe('mean NVLink CRC errors per flap and GPU'),
      spike: z.number().min(1).max(100).default(2).describe('step time × this inside a flap'),
    })
    .strict(),
  z
    .object({
      kind: z.literal('error-burst'),
      ...Window,
      gpu: GpuIndex.default(0),
      eventsPerHour: z.number().min(0.1).max(1000).default(3).describe('mean precursor events an hour'),
      failure: z.enum(['xid', 'next', 'none']).default('xid'),
    })
    .strict(),
]);

/** An `emulate --faults` file: `faults:`, a list of faults. */
export const EmulateFaultsSchema = z.object({ faults: z.array(EmulateFaultSchema).min(1).max(MAX_FAULTS) }).strict();
export type EmulateFaultsFile = z.infer<typeof EmulateFaultsSchema>;

/** Reads an `emulate --faults` document (already parsed from YAML/JSON), or issues naming the field. */
export function parseEmulateFaults(document: unknown): Result<EmulateFaultsFile> {
  const parsed = EmulateFaultsSchema.safeParse(document ?? {}, { reportInput: true });
  if (parsed.success) return { ok: true, value: parsed.data };
  // An unknown kind: name the kinds (zod reports only that no branch matched).
  const issues = fromZodIssues(parsed.error.issues).map((issue) =>
    /\.kind$/.test(issue.path) && issue.message.startsWith('invalid value')
      ? {
          ...issue,
          code: 'invalid_value',
          message: `expected one of ${FAULT_KINDS.join(', ')}, got ${JSON.stringify((issue.value as { kind?: unknown } | undefined)?.kind) ?? 'nothing'}`,
        }
      : issue,
  );
  return { ok: false, issues };
}

/** The faults of `file` against the design: hosts and GPUs in range, every fault starting inside the run. */
export function resolveFaults(
  file: EmulateFaultsFile,
  shape: { readonly nodes: number; readonly gpusPerNode: number; readonly wallSeconds: number },
): Result<FaultSpec[]> {
  const issues: SpecIssue[] = [];
  const out: FaultSpec[] = [];
  file.faults.forEach((fault, k) => {
    const host = typeof fault.host === 'number' ? fault.host : Number(fault.host.slice('host-'.length));
    if (host >= shape.nodes) {
      issues.push({
        code: 'too_big',
        path: `faults[${k}].host`,
        value: fault.host,
        message: `the run has ${shape.nodes} hosts (0 to ${shape.nodes - 1}, ${hostName(0)} to ${hostName(shape.nodes - 1)})`,
      });
    }
    const gpu = 'gpu' in fault ? fault.gpu : undefined;
    if (gpu !== undefined && gpu >= shape.gpusPerNode) {
      issues.push({
        code: 'too_big',
        path: `faults[${k}].gpu`,
        value: gpu,
        message: `a host has ${shape.gpusPerNode} GPUs (0 to ${shape.gpusPerNode - 1})`,
      });
    }
    if (fault.startHours * 3600 >= shape.wallSeconds) {
      issues.push({
        code: 'too_big',
        path: `faults[${k}].startHours`,
        value: fault.startHours,
        message: `starts after the run's ${(shape.wallSeconds / 3600).toFixed(2)} h`,
      });
    }
    out.push({ ...fault, host } as FaultSpec);
  });
  return issues.length > 0 ? { ok: false, issues } : { ok: true, value: out };
}

/** The noise series given to {@link runEmulate}: the text of a file and a name to report it by. */
export interface NoiseInput {
  readonly name: string;
  readonly text: string;
}

/** The input of {@link runEmulate}. */
export interface EmulateInput {
  readonly spec: ResolvedSpec;
  /** Wall-clock days to emulate (overrides `twin.days`). */
  readonly days?: number;
  readonly seed: number;
  /** Iteration times to resample: a Megatron CI golden-values file or any training log step-log.ts reads. */
  readonly noise?: NoiseInput;
  readonly logInterval?: number;
  /** Faults to inject (`--faults`), already read by {@link parseEmulateFaults}. */
  readonly faults?: EmulateFaultsFile;
}

/** The iteration times of a noise file: Megatron CI golden values, else any step log; empty when neither reads. */
export function noiseSeries(text: string): number[] {
  const golden = readMegatronCiGolden(text);
  if (golden.ok) {
    return golden.value.points.flatMap((p) => (p.iterationSeconds === undefined ? [] : [p.iterationSeconds]));
  }
  return parseStepLog(text).samples.flatMap((s) => (s.iterationSeconds === undefined ? [] : [s.iterationSeconds]));
}

/** Emulates the telemetry of the design `spec` describes over `days` (or its `twin` settings). */
export async function runEmulate(
  input: EmulateInput,
  ports: Ports,
  options: UseCaseOptions = {},
): Promise<Result<EmulateOutcome>> {
  const { spec, days, seed } = input;
  const design = await designOf(spec, ports.runner, {
    ...(options.signal && { signal: options.signal }),
    ...(ports.progress && { progress: ports.progress }),
  });
  if (!design.ok) return design;
  const config = twinConfig(design.value, twinWithDays(spec, days));
  if (!config.ok) return config;
  let run: RunResult;
  try {
    run = simulateRun(config.value, seed, 0, { detail: true });
  } catch (error) {
    return { ok: false, issues: eventBudgetIssue(error, 'lower the failure rates, or emulate fewer days') };
  }
  const notes: string[] = [];
  let noise: number[] = [];
  if (input.noise !== undefined) {
    noise = noiseSeries(input.noise.text);
    notes.push(
      noise.length > 0
        ? `step-time noise resampled from ${noise.length} iteration times of ${input.noise.name}`
        : `${input.noise.name} holds no iteration times`,
    );
  }
  let faults: EmulatorFaults | undefined;
  if (input.faults !== undefined) {
    const wallSeconds = run.summary.wallDays * 86400;
    const specs = resolveFaults(input.faults, {
      nodes: config.value.nodes,
      gpusPerNode: config.value.gpusPerNode,
      wallSeconds,
    });
    if (!specs.ok) return specs;
    const interruptions = run.events.flatMap((e) =>
      e.kind === 'interruption' ? [{ t: e.t, ...(e.cause !== undefined && { cause: e.cause }) }] : [],
    );
    const injected = injectFaults(
      specs.value,
      { nodes: config.value.nodes, gpusPerNode: config.value.gpusPerNode, wallSeconds, interruptions },
      new ReplicaStreams(run.seed, run.summary.replica).stream(FAULT_STREAM),
    );
    faults = injected.faults;
    notes.push(
      `${faults.faults.length} fault${faults.faults.length === 1 ? '' : 's'} injected (listed in truth.json and events.jsonl)`,
      ...injected.notes,
    );
  }
  const { training } = design.value.workload;
  const emulated: EmulatedRun = emulateRun(
    {
      run,
      config: config.value,
      globalBatchSequences: training.globalBatchSequences,
      sequenceLength: training.sequenceLength,
      noise,
      ...(faults && { faults }),
    },
    input.logInterval === undefined ? {} : { logInterval: input.logInterval },
  );
  // The twin's idle GPU level (src/twin/setup.ts): the idle share of TDP, under the power limit.
  const { system } = design.value;
  const tdp = system.accelerator.tdpW ?? 0;
  const idleW = Math.min(GPU_IDLE_POWER_SHARE.value * tdp, system.gpuPowerLimitW ?? Number.POSITIVE_INFINITY);
  const dcgm = emulateDcgm(
    { run, config: config.value, ...(faults && { faults }) },
    { modelName: system.accelerator.name, idleW },
  );
  return {
    ok: true,
    value: {
      title: `${design.value.name}: emulated telemetry`,
      files: [
        { name: 'training.log', text: emulated.log },
        { name: 'events.jsonl', text: emulated.events },
        { name: 'truth.json', text: `${JSON.stringify(emulated.truth, null, 2)}\n` },
        ...dcgm.files,
      ],
      truth: emulated.truth,
      notes: [...notes, ...emulated.notes, ...dcgm.notes],
    },
  };
}
