import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { beforeAll, describe, expect, it } from 'vitest';
import { designOfPlan } from '../app/design.js';
import { defaultFacility } from '../app/facility.js';
import { ReplicaStreams } from '../sim/index.js';
import { loadSpec } from '../spec/load.js';
import { type RunResult, simulateRun } from '../twin/run.js';
import { type TwinConfig, twinConfig } from '../twin/setup.js';
import { normaliseDcgm } from './dcgm.js';
import { type EmulatedRun, emulateDcgm, emulateRun, noiseRatios, pythonExponent } from './emulator.js';
import { FAULT_STREAM, type FaultSpec, injectFaults, stepSegments } from './emulator-faults.js';
import { DOWNTIME_CAUSES, observedKpis } from './kpis.js';
import { median, readMegatronCiGolden } from './megatron-ci.js';
import { parseStepLog, toStepPoints } from './step-log.js';

const GOLDEN = fileURLToPath(
  new URL(
    '../../../shared/data/telemetry/megatron-ci/gpt3_weekly_mcore_tp2_pp2_current_scaling_native_fp8_tp_pp_sp_tp_overlap/golden_values_dev_dgx_h100.json',
    import.meta.url,
  ),
);

const SPEC = `
name: Llama 3 8B on 64 H100, unreliable fleet
workload:
  model: llama3-8b
  training:
    totalTokens: 15T
    sequenceLength: 8192
    globalBatch: { tokens: 4194304 }
    precision: fp8
system:
  accelerator: h100-sxm
  gpuCount: 64
  scaleOut: { fabric: ndr-ib }
plan: { tp: 1, pp: 1, sharding: zero1, microBatch: 1, recomputation: none }
twin: { days: 5, failureScale: 40 }
`;

/** The noise of the shared Megatron CI series, or none where the shared data is absent. */
function noise(): number[] {
  if (!existsSync(GOLDEN)) return [];
  const read = readMegatronCiGolden(readFileSync(GOLDEN, 'utf8'));
  if (!read.ok) throw new Error('golden file unreadable');
  return read.value.points.flatMap((p) => (p.iterationSeconds === undefined ? [] : [p.iterationSeconds]));
}

function emulate(seed: number): { emulated: EmulatedRun; run: RunResult; config: TwinConfig } {
  const spec = loadSpec(SPEC, 'yaml');
  if (!spec.ok) throw new Error(JSON.stringify(spec.issues));
  const { workload, system, plan } = spec.value;
  if (!system || !plan) throw new Error('spec without system or plan');
  const design = designOfPlan('test', workload, system, plan, defaultFacility(spec.value));
  if (!design.ok) throw new Error(JSON.stringify(design.issues));
  const config = twinConfig(design.value, spec.value.twin);
  if (!config.ok) throw new Error(JSON.stringify(config.issues));
  const run = simulateRun(config.value, seed, 0, { detail: true });
  const emulated = emulateRun({
    run,
    config: config.value,
    globalBatchSequences: workload.training.globalBatchSequences,
    sequenceLength: workload.training.sequenceLength,
    noise: noise(),
  });
  return { emulated, run, config: config.value };
}

describe('emulateRun', () => {
  let a: EmulatedRun;
  let twin: { run: RunResult; config: TwinConfig };
  beforeAll(() => {
    const made = emulate(7);
    a = made.emulated;
    twin = made;
  });

  it('prints numbers as Python %E does', () => {
    expect(pythonExponent(3e-4)).toBe('3.000000E-04');
    expect(pythonExponent(10.25)).toBe('1.025000E+01');
  });

  it('resamples ratios to the median, leaving the leading warm-up out', () => {
    expect(noiseRatios([8, 1, 1.1, 0.9, 1])).toEqual([1, 1.1, 0.9, 1]);
    expect(noiseRatios([])).toEqual([]);
  });

  it('writes Megatron lines the step-log parser reads, every interruption a rewind', () => {
    const log = parseStepLog(a.log);
    expect(log.malformed).toEqual([]);
    expect(log.samples.length).toBe(a.truth.lines);
    expect(log.samples.every((s) => s.format === 'megatron')).toBe(true);
    expect(a.truth.unexpectedInterruptions).toBeGreaterThanOrEqual(3);
    const kpis = observedKpis(log.samples, { logInterval: a.truth.logInterval });
    // A failure that strikes while the job restarts shows in no log line: the log can see the others only.
    const duringRestart = a.eventList.filter((e) => e.kind === 'interruption' && e.duringRestart).length;
    expect(a.truth.interruptionsWhileTraining + duringRestart).toBe(a.truth.unexpectedInterruptions);
    expect(kpis.restarts).toBe(a.truth.interruptionsWhileTraining);
    expect(a.truth.rewinds).toBe(a.truth.interruptionsWhileTraining);
  });

  it('gives an ETTR within 0.01 of the truth, once the silent gaps between time stamps are counted', () => {
    const log = parseStepLog(a.log);
    const kpis = observedKpis(log.samples, { logInterval: a.truth.logInterval });
    // The log's elapsed times leave out the time no line covers (detection, restart, reload, checkpoint writes,
    // Megatron stops its interval timer while saving); the time stamps carry it.
    const ms = (stamp: string | undefined) => Date.parse(`${(stamp ?? '').replace(' ', 'T')}Z`);
    let gaps = 0;
    let previous = Date.UTC(2026, 0, 1);
    for (const sample of log.samples) {
      const t = ms(sample.timestamp);
      gaps += Math.max(0, (t - previous) / 1000 - (sample.iterationSeconds ?? 0) * a.truth.logInterval);
      previous = t;
    }
    const downtime = DOWNTIME_CAUSES.reduce((sum, c) => sum + kpis.badputSeconds[c], 0);
    const tail = a.truth.wallSeconds - (previous - Date.UTC(2026, 0, 1)) / 1000;
    const wall = kpis.wallSeconds + gaps + tail;
    const observed = 1 - (downtime + gaps + tail) / wall;
    expect(Math.abs(observed - a.truth.ettr)).toBeLessThan(0.01);
    // The log alone (no time stamps) sees only lost work and the restart warm-ups: a higher ETTR.
    expect(kpis.ettr).toBeGreaterThan(observed);
    // With the stamps read (toStepPoints), the KPIs count the silent gaps themselves: the same ETTR within 0.01,
    // short only of the first restart before the first line and the time after the last one.
    const stamped = observedKpis(toStepPoints(log.samples), { logInterval: a.truth.logInterval });
    expect(stamped.badputSeconds.restart).toBeGreaterThan(0);
    expect(Math.abs(stamped.ettr - a.truth.ettr)).toBeLessThan(0.01);
  });

  it('gives the same bytes for the same seed and others for another', () => {
    const again = emulate(7).emulated;
    expect(again.log).toBe(a.log);
    expect(again.events).toBe(a.events);
    expect(emulate(8).emulated.log).not.toBe(a.log);
  });

  it('writes one dcgm-exporter scrape file per host that the DCGM reader reads back', () => {
    const { files } = emulateDcgm(twin, { modelName: 'NVIDIA H100 80GB HBM3', idleW: 120 });
    expect(files).toHaveLength(twin.config.nodes);
    const scrapes = twin.run.timeline.powerMW.mean.length;
    const scrape = normaliseDcgm(files[0]?.text ?? '');
    expect(scrape.malformed).toEqual([]);
    expect(scrape.gpus.size).toBe(twin.config.gpusPerNode);
    expect(scrape.samples).toHaveLength(twin.config.gpusPerNode * 4 * scrapes);
    const power = scrape.samples.filter((s) => s.field === 'DCGM_FI_DEV_POWER_USAGE').map((s) => s.value);
    expect(Math.min(...power)).toBeGreaterThan(100);
    expect(Math.max(...power)).toBeLessThan(760);
    const fields = new Set(scrape.samples.map((s) => s.field));
    expect([...fields].sort()).toEqual([
      'DCGM_FI_DEV_GPU_TEMP',
      'DCGM_FI_DEV_GPU_UTIL',
      'DCGM_FI_DEV_POWER_USAGE',
      'DCGM_FI_DEV_SM_CLOCK',
    ]);
    expect(emulateDcgm(twin, { modelName: 'x', idleW: 120 }, { maxSamples: 64 * 4 * 10 }).notes[0]).toMatch(/thinned/);
  });

  it('raises the log interval to stay under the line bound, and says so', () => {
    const { run, config } = twin;
    const bounded = emulateRun(
      { run, config, globalBatchSequences: 512, sequenceLength: 8192, noise: [] },
      { maxLines: 1000 },
    );
    expect(bounded.truth.logInterval).toBeGreaterThan(1);
    expect(bounded.truth.lines).toBeLessThanOrEqual(1000);
    expect(bounded.notes.join('\n')).toMatch(/log interval raised .*no noise series/s);
    expect(parseStepLog(bounded.log).malformed).toEqual([]);
  });
});

describe('fault injection', () => {
  let twin: { run: RunResult; config: TwinConfig };
  beforeAll(() => {
    twin = emulate(7);
  });
  const inject = (specs: FaultSpec[]) => {
    const { run, config } = twin;
    const interruptions = run.events.flatMap((e) =>
      e.kind === 'interruption' ? [{ t: e.t, ...(e.cause !== undefined && { cause: e.cause }) }] : [],
    );
    return injectFaults(
      specs,
      {
        nodes: config.nodes,
        gpusPerNode: config.gpusPerNode,
        wallSeconds: run.summary.wallDays * 86400,
        interruptions,
      },
      new ReplicaStreams(run.seed, 0).stream(FAULT_STREAM),
    );
  };
  const emulateWith = (faults?: ReturnType<typeof inject>['faults']) =>
    emulateRun({
      run: twin.run,
      config: twin.config,
      globalBatchSequences: 1024,
      sequenceLength: 8192,
      noise: noise(),
      ...(faults && { faults }),
    });

  it('takes the largest factor where faults overlap', () => {
    expect(
      stepSegments([
        { start: 0, end: 10, factor: 1.2 },
        { start: 5, end: 8, factor: 2 },
        { start: 8, end: 12, factor: 1.2 },
      ]),
    ).toEqual([
      { start: 0, end: 5, factor: 1.2 },
      { start: 5, end: 8, factor: 2 },
      { start: 8, end: 12, factor: 1.2 },
    ]);
  });

  it('slows the log by the slow host’s factor while it lasts and lists it in the truth', () => {
    const { faults } = inject([{ kind: 'slow-host', host: 2, startHours: 20, durationHours: 10, slowdown: 1.5 }]);
    const healthy = emulateWith();
    const slowed = emulateWith(faults);
    const times = (log: string) =>
      toStepPoints(parseStepLog(log).samples).map((p) => ({
        t: (p.time ?? 0) - Date.UTC(2026, 0, 1) / 1000,
        s: p.iterationSeconds ?? 0,
      }));
    const beforeFault = (log: string) => times(log).filter((p) => p.t < 20 * 3600);
    expect(beforeFault(slowed.log)).toEqual(beforeFault(healthy.log));
    const inside = (log: string) =>
      median(
        times(log)
          .filter((p) => p.t > 21 * 3600 && p.t < 29 * 3600)
          .map((p) => p.s),
      ) ?? 0;
    expect(inside(slowed.log) / inside(healthy.log)).toBeCloseTo(1.5, 1);
    expect(slowed.truth.faults?.[0]).toMatchObject({
      kind: 'slow-host',
      host: 'host-0002',
      start: 72_000,
      end: 108_000,
    });
    expect(slowed.truth.faults?.[0]?.startTime).toBe('2026-01-01T20:00:00.000Z');
    expect(slowed.eventList.filter((e) => e.kind === 'fault')).toHaveLength(1);
    expect(healthy.truth.faults).toBeUndefined();
  });

  it('changes only the faulty GPUs in the scrape files, and places an error burst before the twin’s next failure', () => {
    const failure = twin.run.events.find((e) => e.kind === 'interruption' && e.t > 30 * 3600);
    expect(failure).toBeDefined();
    const { faults } = inject([
      { kind: 'thermal', host: 1, gpu: 3, startHours: 10, durationHours: 20, temperatureC: 91, clockRatio: 0.75 },
      { kind: 'error-burst', host: 4, gpu: 6, startHours: 24, durationHours: 6, eventsPerHour: 5, failure: 'next' },
    ]);
    const burst = faults.faults[1];
    expect(burst?.end).toBe(failure?.t);
    expect(burst?.failure).toMatchObject({ xid: 79, interruption: true });
    expect((burst?.end ?? 0) - (burst?.start ?? 0)).toBeCloseTo(6 * 3600, 6);
    const plain = emulateDcgm(twin, { modelName: 'x', idleW: 120 }, { maxSamples: 1e9 }).files;
    const faulty = emulateDcgm({ ...twin, faults }, { modelName: 'x', idleW: 120 }, { maxSamples: 1e9 }).files;
    // Host 0's base fields: the same lines.
    const base = (text: string) =>
      text.split('\n').filter((l) => /^DCGM_FI_DEV_(SM_CLOCK|GPU_TEMP|POWER_USAGE|GPU_UTIL)\{/.test(l));
    expect(base(faulty[0]?.text ?? '')).toEqual(base(plain[0]?.text ?? ''));
    const samples = (host: number) => normaliseDcgm(faulty[host]?.text ?? '').samples;
    const at = (host: number, gpu: string, field: string, hours: number) =>
      samples(host).find(
        (s) => s.gpuKey?.endsWith(gpu) && s.field === field && s.timestamp === Date.UTC(2026, 0, 1) + hours * 3600_000,
      )?.value;
    const gpu3 = `-0001-0003`;
    // Hour 15: the job runs (every GPU busy) and GPU 3 of host 1 is throttled.
    expect(at(1, gpu3, 'DCGM_FI_DEV_GPU_UTIL', 15)).toBeGreaterThan(90);
    expect(at(1, gpu3, 'DCGM_FI_DEV_GPU_TEMP', 15)).toBeGreaterThan(85);
    expect(at(1, gpu3, 'DCGM_FI_DEV_SM_CLOCK', 15)).toBeLessThan(0.8 * 1980);
    expect(at(1, gpu3, 'DCGM_FI_DEV_CLOCKS_EVENT_REASONS', 15)).toBe(0x60);
    expect(at(1, '-0001-0002', 'DCGM_FI_DEV_CLOCKS_EVENT_REASONS', 15)).toBe(0);
    expect(at(1, gpu3, 'DCGM_FI_DEV_GPU_TEMP', 5)).toBeLessThan(80);
    // The XID 79 shows at the first scrape after the failure; the counters only grow.
    const scrapeAfter = Math.ceil((failure?.t ?? 0) / 3600 + 1e-9);
    expect(at(4, '-0004-0006', 'DCGM_FI_DEV_XID_ERRORS', scrapeAfter)).toBe(79);
    const sbe = samples(4)
      .filter((s) => s.gpuKey?.endsWith('-0004-0006') && s.field === 'DCGM_FI_DEV_ECC_SBE_VOL_TOTAL')
      .map((s) => s.value);
    expect(sbe.every((v, k) => k === 0 || v >= (sbe[k - 1] as number))).toBe(true);
    expect(samples(0).some((s) => s.field === 'DCGM_FI_DEV_XID_ERRORS' && s.value !== 0)).toBe(false);
  });
});
