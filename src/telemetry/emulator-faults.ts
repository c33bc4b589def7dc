/**
 * Faults injected into an emulated run (`tokenworks emulate --faults FILE`, issue 13): what each does to the step
 * time of the Megatron log and to its host's GPUs in the dcgm-exporter scrape files, and the ground truth that lists
 * them (kind, host, GPUs, start, end) so that detections can be scored against it.
 *
 * - **slow-host**: the job's step time × `slowdown` while it lasts (a synchronous job runs at its slowest host); the
 *   host's GPUs' SM clock × 1/`slowdown` with the `hw_slowdown` clock-event bit, and their busy power a little lower
 *   (× 1 − ½ (1 − 1/`slowdown`): a planner assumption, half the active power following the clock).
 * - **thermal**: one GPU at `temperatureC` (default 90 °C, past the H100's 87 °C slowdown point) with its SM clock ×
 *   `clockRatio` (default 0.8) and the `sw_thermal` and `hw_thermal` bits; the step time × 1/`clockRatio`.
 * - **flapping-link**: flaps arrive as a Poisson process (`flapsPerHour`), each `flapSeconds` long; each flap adds
 *   errors (exponential, mean `errorsPerFlap`) to the NVLink CRC flit counter of the host's GPUs (or of `gpu`), and
 *   the steps that start inside a flap take × `spike` (NCCL retransmits).
 * - **error-burst**: precursors on one GPU over the lead window (`durationHours`): correctable ECC, row remaps,
 *   PCIe replays and XIDs 92 and 63, arriving at a rate rising linearly from 0 to 2 × `eventsPerHour`; then, with
 *   `failure: xid` (default), an XID 79 (fallen off the bus) on that GPU at the window's end; with `failure: next`,
 *   the window is moved to end at the twin's first unexpected interruption at or after its stated end, which is then
 *   placed on that host (XID 79 at it); with `failure: none`, no failure. The twin's failures are its own: `xid`
 *   writes an XID 79 that no interruption in the log follows.
 *
 * Effects on the GPUs apply while they are busy (an idle GPU is not throttled). Where several faults slow the job at
 * once, the step takes the largest factor (the slowest host sets the pace).
 *
 * Random draws (flap times and sizes, precursor events) come from {@link FAULT_STREAM}, one stream for all faults,
 * drawn in the file's order.
 *
 * Pure: no Node APIs.
 * @module
 */
import type { RandomStream } from '../sim/index.js';

/**
 * The {@link ReplicaStreams} index of the fault draws. Taken elsewhere: the twin 0–43, the forecast 40, the emulator
 * 48 (step noise), 49 (loss noise) and 50 (dcgm spread).
 */
export const FAULT_STREAM = 51;

/** Most faults one file may list. */
export const MAX_FAULTS = 1000;
/** Most flaps and precursor events all faults may draw together. */
export const MAX_FAULT_EVENTS = 200_000;

/** The kinds of fault the emulator injects. */
export const FAULT_KINDS = ['slow-host', 'thermal', 'flapping-link', 'error-burst'] as const;
export type FaultKind = (typeof FAULT_KINDS)[number];

interface FaultBase {
  /** Host index (`host-NNNN` in the scrape files). */
  readonly host: number;
  /** Hours from the run's start. */
  readonly startHours: number;
  readonly durationHours: number;
}

/** One fault as the faults file states it (validated, host resolved to its index, defaults filled). */
export type FaultSpec =
  | (FaultBase & { readonly kind: 'slow-host'; readonly slowdown: number })
  | (FaultBase & {
      readonly kind: 'thermal';
      readonly gpu: number;
      readonly temperatureC: number;
      readonly clockRatio: number;
    })
  | (FaultBase & {
      readonly kind: 'flapping-link';
      /** One GPU, or every GPU of the host when absent. */
      readonly gpu?: number;
      readonly flapsPerHour: number;
      readonly flapSeconds: number;
      readonly errorsPerFlap: number;
      readonly spike: number;
    })
  | (FaultBase & {
      readonly kind: 'error-burst';
      readonly gpu: number;
      readonly eventsPerHour: number;
      readonly failure: 'xid' | 'next' | 'none';
    });

/** The name the emulator gives host `index` (`host-0003`). */
export const hostName = (index: number) => `host-${String(index).padStart(4, '0')}`;

/** One injected fault in the ground truth (`truth.json` `faults`, `events.jsonl` `fault` lines). */
export interface InjectedFault {
  /** Its place in the faults file (0-based). */
  readonly index: number;
  readonly kind: FaultKind;
  readonly host: string;
  readonly hostIndex: number;
  /** GPU indices on the host it concerns. */
  readonly gpus: readonly number[];
  /** Seconds from the run's start. */
  readonly start: number;
  readonly end: number;
  /** The kind's settings (slowdown, temperatureC, clockRatio, flapsPerHour, …). */
  readonly settings: Readonly<Record<string, number | string>>;
  /** flapping-link: flaps drawn; error-burst: precursor events drawn. */
  readonly events?: number;
  /** error-burst: the failure it leads to (XID 79 at `t`), and whether the twin's interruption is it. */
  readonly failure?: {
    readonly t: number;
    readonly xid: number;
    readonly interruption: boolean;
    readonly cause?: string;
  };
}

/** A change of a GPU's clock, temperature, power and clock-event bits over an interval. */
export interface GpuEffect {
  readonly host: number;
  readonly gpu: number;
  readonly start: number;
  readonly end: number;
  readonly clockFactor: number;
  readonly powerFactor: number;
  /** Temperature while busy (°C); absent: unchanged. */
  readonly temperatureC?: number;
  /** Clock-event bits set (gpu-signals.ts THROTTLE_REASONS). */
  readonly reasons: number;
}

/** The dcgm counters the faults increment. */
export const FAULT_COUNTERS = [
  'DCGM_FI_DEV_ECC_SBE_VOL_TOTAL',
  'DCGM_FI_DEV_CORRECTABLE_REMAPPED_ROWS',
  'DCGM_FI_DEV_PCIE_REPLAY_COUNTER',
  'DCGM_FI_DEV_NVLINK_CRC_FLIT_ERROR_COUNT_TOTAL',
] as const;
export type FaultCounter = (typeof FAULT_COUNTERS)[number];

/** One increment of a GPU's counter, or a new XID on its last-XID gauge. */
export type GpuErrorEvent =
  | {
      readonly t: number;
      readonly host: number;
      readonly gpu: number;
      readonly counter: FaultCounter;
      readonly count: number;
    }
  | { readonly t: number; readonly host: number; readonly gpu: number; readonly xid: number };

/** The faults of one run, drawn: what the log walk and the scrape files apply, and the truth. */
export interface EmulatorFaults {
  readonly faults: readonly InjectedFault[];
  /** The step-time factor by time (seconds from the start): sorted, disjoint; factor 1 outside them. */
  readonly stepSegments: readonly { readonly start: number; readonly end: number; readonly factor: number }[];
  readonly gpuEffects: readonly GpuEffect[];
  /** Counter increments and XIDs, sorted by time. */
  readonly errors: readonly GpuErrorEvent[];
}

/** What the faults are drawn against: the run's shape and the twin's unexpected interruptions. */
export interface FaultContext {
  readonly nodes: number;
  readonly gpusPerNode: number;
  readonly wallSeconds: number;
  readonly interruptions: readonly { readonly t: number; readonly cause?: string }[];
}

/** Clock-event bits (gpu-signals.ts): hw_slowdown; sw_thermal | hw_thermal. */
const HW_SLOWDOWN = 0x8;
const THERMAL_BITS = 0x20 | 0x40;
const XID_FALLEN_OFF_BUS = 79;

/** The precursor kinds of an error burst, drawn with equal odds. */
const PRECURSORS: readonly ({ readonly counter: FaultCounter; readonly most: number } | { readonly xid: number })[] = [
  { counter: 'DCGM_FI_DEV_ECC_SBE_VOL_TOTAL', most: 5 },
  { counter: 'DCGM_FI_DEV_CORRECTABLE_REMAPPED_ROWS', most: 1 },
  { counter: 'DCGM_FI_DEV_PCIE_REPLAY_COUNTER', most: 10 },
  { xid: 92 },
  { xid: 63 },
];

/**
 * Draws the faults of `specs` against the run: their windows (clipped to the run), the flaps and precursor events,
 * the step-time segments and the GPU effects. Notes say what was moved or clipped.
 */
export function injectFaults(
  specs: readonly FaultSpec[],
  context: FaultContext,
  random: RandomStream,
): { readonly faults: EmulatorFaults; readonly notes: string[] } {
  const { gpusPerNode, wallSeconds } = context;
  const notes: string[] = [];
  const truth: InjectedFault[] = [];
  const gpuEffects: GpuEffect[] = [];
  const errors: GpuErrorEvent[] = [];
  const slow: { start: number; end: number; factor: number }[] = [];
  const allGpus = Array.from({ length: gpusPerNode }, (_, g) => g);
  let drawn = 0;
  specs.forEach((spec, index) => {
    let start = spec.startHours * 3600;
    let end = Math.min(wallSeconds, start + spec.durationHours * 3600);
    if (start + spec.durationHours * 3600 > wallSeconds && spec.kind !== 'error-burst') {
      notes.push(`fault ${index} (${spec.kind}) clipped at the run's end`);
    }
    const host = spec.host;
    const base = { index, kind: spec.kind, host: hostName(host), hostIndex: host, start, end };
    if (spec.kind === 'slow-host') {
      const clockFactor = 1 / spec.slowdown;
      for (const gpu of allGpus) {
        gpuEffects.push({
          host,
          gpu,
          start,
          end,
          clockFactor,
          powerFactor: 1 - 0.5 * (1 - clockFactor),
          reasons: HW_SLOWDOWN,
        });
      }
      slow.push({ start, end, factor: spec.slowdown });
      truth.push({ ...base, gpus: allGpus, settings: { slowdown: spec.slowdown } });
    } else if (spec.kind === 'thermal') {
      gpuEffects.push({
        host,
        gpu: spec.gpu,
        start,
        end,
        clockFactor: spec.clockRatio,
        powerFactor: 1 - 0.5 * (1 - spec.clockRatio),
        temperatureC: spec.temperatureC,
        reasons: THERMAL_BITS,
      });
      slow.push({ start, end, factor: 1 / spec.clockRatio });
      truth.push({
        ...base,
        gpus: [spec.gpu],
        settings: { temperatureC: spec.temperatureC, clockRatio: spec.clockRatio },
      });
    } else if (spec.kind === 'flapping-link') {
      const gpus = spec.gpu === undefined ? allGpus : [spec.gpu];
      let flaps = 0;
      for (let t = start + random.exponential(3600 / spec.flapsPerHour); t < end; ) {
        if (drawn >= MAX_FAULT_EVENTS) break;
        drawn++;
        flaps++;
        const flapEnd = Math.min(end, t + spec.flapSeconds);
        slow.push({ start: t, end: flapEnd, factor: spec.spike });
        for (const gpu of gpus) {
          const count = 1 + Math.floor(random.exponential(spec.errorsPerFlap));
          errors.push({ t: flapEnd, host, gpu, counter: 'DCGM_FI_DEV_NVLINK_CRC_FLIT_ERROR_COUNT_TOTAL', count });
        }
        t = flapEnd + random.exponential(3600 / spec.flapsPerHour);
      }
      truth.push({
        ...base,
        gpus,
        settings: {
          flapsPerHour: spec.flapsPerHour,
          flapSeconds: spec.flapSeconds,
          errorsPerFlap: spec.errorsPerFlap,
          spike: spec.spike,
        },
        events: flaps,
      });
    } else {
      const lead = spec.durationHours * 3600;
      let failure: InjectedFault['failure'];
      if (spec.failure === 'next') {
        const next = context.interruptions.find((i) => i.t >= start + lead);
        if (next === undefined) {
          notes.push(
            `fault ${index} (error-burst): no interruption of the twin at or after ${(spec.startHours + spec.durationHours).toFixed(2)} h; an XID 79 ends the burst instead`,
          );
          failure = { t: end, xid: XID_FALLEN_OFF_BUS, interruption: false };
        } else {
          start = next.t - lead;
          end = next.t;
          failure = {
            t: next.t,
            xid: XID_FALLEN_OFF_BUS,
            interruption: true,
            ...(next.cause !== undefined && { cause: next.cause }),
          };
        }
      } else if (spec.failure === 'xid') {
        if (start + lead > wallSeconds) notes.push(`fault ${index} (error-burst) clipped at the run's end`);
        failure = { t: end, xid: XID_FALLEN_OFF_BUS, interruption: false };
      } else if (start + lead > wallSeconds) notes.push(`fault ${index} (error-burst) clipped at the run's end`);
      // A rate rising linearly from 0 to 2 × eventsPerHour over the lead window: thin a Poisson process at the peak.
      const peak = (2 * spec.eventsPerHour) / 3600;
      let events = 0;
      for (let t = start + random.exponential(1 / peak); t < end; t += random.exponential(1 / peak)) {
        if (drawn >= MAX_FAULT_EVENTS) break;
        if (random.uniform() > (t - start) / lead) continue;
        drawn++;
        events++;
        const precursor = PRECURSORS[Math.floor(random.uniform() * PRECURSORS.length)] as (typeof PRECURSORS)[number];
        if ('xid' in precursor) errors.push({ t, host, gpu: spec.gpu, xid: precursor.xid });
        else {
          const count = 1 + Math.floor(random.uniform() * precursor.most);
          errors.push({ t, host, gpu: spec.gpu, counter: precursor.counter, count });
        }
      }
      if (failure !== undefined) errors.push({ t: failure.t, host, gpu: spec.gpu, xid: failure.xid });
      truth.push({
        ...base,
        start,
        end,
        gpus: [spec.gpu],
        settings: { eventsPerHour: spec.eventsPerHour, failure: spec.failure },
        events,
        ...(failure !== undefined && { failure }),
      });
    }
  });
  if (drawn >= MAX_FAULT_EVENTS)
    notes.push(`the faults drew ${MAX_FAULT_EVENTS} flaps and events; the rest were left out`);
  errors.sort((a, b) => a.t - b.t);
  return { faults: { faults: truth, stepSegments: stepSegments(slow), gpuEffects, errors }, notes };
}

/** Disjoint segments of the largest factor in force over overlapping intervals (factor 1 outside them): a sweep. */
export function stepSegments(
  intervals: readonly { readonly start: number; readonly end: number; readonly factor: number }[],
): { start: number; end: number; factor: number }[] {
  const edges = intervals
    .filter((i) => i.end > i.start && i.factor > 1)
    .flatMap((i) => [
      { t: i.start, factor: i.factor, delta: 1 },
      { t: i.end, factor: i.factor, delta: -1 },
    ])
    .sort((a, b) => a.t - b.t);
  const active = new Map<number, number>();
  const out: { start: number; end: number; factor: number }[] = [];
  let k = 0;
  while (k < edges.length) {
    const t = (edges[k] as (typeof edges)[number]).t;
    for (; k < edges.length && (edges[k] as (typeof edges)[number]).t === t; k++) {
      const { factor, delta } = edges[k] as (typeof edges)[number];
      const n = (active.get(factor) ?? 0) + delta;
      if (n === 0) active.delete(factor);
      else active.set(factor, n);
    }
    const next = edges[k]?.t;
    if (next === undefined || active.size === 0) continue;
    const factor = Math.max(...active.keys());
    const last = out.at(-1);
    if (last !== undefined && last.end === t && last.factor === factor) last.end = next;
    else out.push({ start: t, end: next, factor });
  }
  return out;
}
