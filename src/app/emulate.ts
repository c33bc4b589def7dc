/**
 * The `emulate` use case: what a real run of the spec's design would emit, from one seeded twin replica run with
 * detail (src/telemetry/emulator.ts): the Megatron training log, the ground-truth events, `truth.json` and one
 * dcgm-exporter scrape file per host (`dcgm/host-NNNN.prom`). The
 * same seed and noise give the same bytes.
 * @module
 */
import { GPU_IDLE_POWER_SHARE } from '../catalog/reliability.js';
import type { Result } from '../spec/issues.js';
import type { ResolvedSpec } from '../spec/resolve.js';
import { type EmulatedRun, type EmulatorTruth, emulateDcgm, emulateRun } from '../telemetry/emulator.js';
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
  const { training } = design.value.workload;
  const emulated: EmulatedRun = emulateRun(
    {
      run,
      config: config.value,
      globalBatchSequences: training.globalBatchSequences,
      sequenceLength: training.sequenceLength,
      noise,
    },
    input.logInterval === undefined ? {} : { logInterval: input.logInterval },
  );
  // The twin's idle GPU level (src/twin/setup.ts): the idle share of TDP, under the power limit.
  const { system } = design.value;
  const tdp = system.accelerator.tdpW ?? 0;
  const idleW = Math.min(GPU_IDLE_POWER_SHARE.value * tdp, system.gpuPowerLimitW ?? Number.POSITIVE_INFINITY);
  const dcgm = emulateDcgm({ run, config: config.value }, { modelName: system.accelerator.name, idleW });
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
