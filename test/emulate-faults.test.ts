/**
 * Fault injection end to end (issue 13): `tokenworks emulate --faults` on Llama 3 8B on 64 H100 (8 hosts) for a day
 * with 10-minute scrapes and one fault of each kind, then `observe --detect` on its log and scrape files. Every
 * injected fault, read from the ground truth (`truth.json`), must be matched by a detection of the right kind on
 * its host:
 * - slow-host: a straggler on every GPU of the host, within two scrapes (20 min) of the fault's start;
 * - thermal: a straggler on that GPU within two scrapes;
 * - flapping-link: a failure risk or a straggler on the host between its start and its end plus one scrape;
 * - error-burst: a failure risk on the host after its start and before the failure (the XID 79 at its end).
 * Detections without a host (stalls, fail-slow changes of the job's step time) are allowed anywhere; every detection
 * that names a host names a faulty one, inside one of that host's faults (start to end plus two scrapes).
 * GPU keys are read from the scrape files (the `gpu` label of each host's UUID), not from the emulator's code.
 */
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { EmulateOutputSchema, ObserveOutputSchema } from '../src/app/outputs.js';
import { parsePrometheusText } from '../src/telemetry/prometheus-text.js';
import { run } from './run-cli.js';

const NOISE =
  '../shared/data/telemetry/megatron-ci/gpt3_weekly_mcore_tp2_pp2_current_scaling_native_fp8_tp_pp_sp_tp_overlap/golden_values_dev_dgx_h100.json';

const SPEC = `name: Llama 3 8B on 64 H100, 10-minute scrapes
workload:
  model: llama3-8b
  training: { totalTokens: 15T, sequenceLength: 8192, globalBatch: { tokens: 4194304 }, precision: fp8 }
system: { accelerator: h100-sxm, gpuCount: 64, scaleOut: { fabric: ndr-ib } }
plan: { tp: 1, pp: 1, sharding: zero1, microBatch: 1, recomputation: none }
twin: { days: 1, bucketMinutes: 10 }
`;

const FAULTS = `faults:
  - { kind: slow-host, host: 1, startHours: 2, durationHours: 3, slowdown: 1.3 }
  - { kind: thermal, host: host-0003, gpu: 5, startHours: 6.05, durationHours: 3 }
  - { kind: flapping-link, host: 5, startHours: 10, durationHours: 3 }
  - { kind: error-burst, host: 6, gpu: 2, startHours: 15, durationHours: 6 }
`;

/** The scrape interval: the spec's 10-minute timeline buckets. */
const SCRAPE_SECONDS = 600;

type Truth = NonNullable<ReturnType<typeof EmulateOutputSchema.parse>['truth']['faults']>[number];
type Detection = NonNullable<ReturnType<typeof ObserveOutputSchema.parse>['detect']>['detections'][number];

let dir: string;
let faults: Truth[];
let detections: Detection[];
/** `Hostname/UUID` of each (host, gpu label), from the scrape files. */
const gpuKey = new Map<string, string>();

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'tw-faults-'));
  await writeFile(join(dir, 'spec.yaml'), SPEC);
  await writeFile(join(dir, 'faults.yaml'), FAULTS);
  const out = join(dir, 'run');
  const emulated = await run(
    'emulate',
    join(dir, 'spec.yaml'),
    '--out',
    out,
    '--faults',
    join(dir, 'faults.yaml'),
    ...(existsSync(NOISE) ? ['--noise', NOISE] : []),
    '--json',
  );
  expect(emulated.code, emulated.stderr).toBe(0);
  EmulateOutputSchema.parse(JSON.parse(emulated.stdout));
  faults = JSON.parse(await readFile(join(out, 'truth.json'), 'utf8')).faults;
  for (const host of new Set(faults.map((f) => f.host))) {
    const text = await readFile(join(out, 'dcgm', `${host}.prom`), 'utf8');
    for (const s of parsePrometheusText(text).samples) {
      if (s.name === 'DCGM_FI_DEV_SM_CLOCK') gpuKey.set(`${host}/${s.labels.gpu}`, `${host}/${s.labels.UUID}`);
    }
  }
  const observed = await run(
    'observe',
    join(dir, 'spec.yaml'),
    '--log',
    join(out, 'training.log'),
    '--dcgm',
    join(out, 'dcgm'),
    '--detect',
    '--replicas',
    '0',
    '--no-forecast',
    '--json',
  );
  expect(observed.code, observed.stderr).toBe(0);
  detections = [...(ObserveOutputSchema.parse(JSON.parse(observed.stdout)).detect?.detections ?? [])];
}, 120_000);

/** Seconds from the run's start of a detection (detections carry Unix seconds; the truth its wall-clock start). */
const since = (fault: Truth, d: Detection) => d.time - Date.parse(fault.startTime) / 1000 + fault.start;

describe('emulate --faults, found by observe --detect', () => {
  it('lists each injected fault in the ground truth with its kind, host, GPUs, start and end', async () => {
    expect(faults.map((f) => [f.kind, f.host, f.gpus, f.start, f.end])).toEqual([
      ['slow-host', 'host-0001', [0, 1, 2, 3, 4, 5, 6, 7], 7200, 18_000],
      ['thermal', 'host-0003', [5], 21_780, 32_580],
      ['flapping-link', 'host-0005', [0, 1, 2, 3, 4, 5, 6, 7], 36_000, 46_800],
      ['error-burst', 'host-0006', [2], 54_000, 75_600],
    ]);
    const events = (await readFile(join(dir, 'run', 'events.jsonl'), 'utf8'))
      .trimEnd()
      .split('\n')
      .map((line) => JSON.parse(line))
      .filter((e) => e.kind === 'fault');
    expect(events.map((e) => [e.fault, e.host, e.t, e.end])).toEqual(
      faults.map((f) => [f.kind, f.host, f.start, f.end]),
    );
    expect(faults[3]?.failure).toMatchObject({ t: 75_600, xid: 79 });
  });

  it('finds the slow host on each of its GPUs and the throttled GPU within two scrapes', () => {
    for (const fault of faults.filter((f) => f.kind === 'slow-host' || f.kind === 'thermal')) {
      for (const gpu of fault.gpus) {
        const key = gpuKey.get(`${fault.host}/${gpu}`);
        const found = detections.find(
          (d) =>
            d.kind === 'straggler' &&
            d.host === fault.host &&
            d.gpu === key &&
            since(fault, d) >= fault.start &&
            since(fault, d) <= fault.start + 2 * SCRAPE_SECONDS,
        );
        expect(found, `${fault.kind} on ${key}`).toBeDefined();
      }
    }
  });

  it('finds the flapping link on its host before it ends, and the error burst before its failure', () => {
    const flapping = faults.find((f) => f.kind === 'flapping-link') as Truth;
    expect(
      detections.some(
        (d) =>
          (d.kind === 'failure-risk' || d.kind === 'straggler') &&
          d.host === flapping.host &&
          since(flapping, d) >= flapping.start &&
          since(flapping, d) <= flapping.end + SCRAPE_SECONDS,
      ),
    ).toBe(true);
    const burst = faults.find((f) => f.kind === 'error-burst') as Truth;
    const failure = burst.failure?.t as number;
    expect(
      detections.some(
        (d) =>
          d.kind === 'failure-risk' &&
          d.host === burst.host &&
          since(burst, d) >= burst.start &&
          since(burst, d) < failure,
      ),
    ).toBe(true);
  });

  it('names no host without a fault: only the job-wide stalls and fail-slow changes are elsewhere', () => {
    for (const d of detections) {
      if (d.host === undefined) {
        expect(['stall', 'fail-slow']).toContain(d.kind);
        continue;
      }
      const inside = faults.some(
        (f) => f.host === d.host && since(f, d) >= f.start && since(f, d) <= f.end + 2 * SCRAPE_SECONDS,
      );
      expect(inside, `${d.kind} on ${d.host} at ${d.time}: ${d.evidence}`).toBe(true);
    }
  });
});

describe('emulate --faults refuses a bad file', () => {
  it('reads the example faults file', async () => {
    const { parseEmulateFaults } = await import('../src/app/emulate.js');
    const { parse } = await import('yaml');
    const read = parseEmulateFaults(parse(await readFile('examples/faults/emulate-faults.yaml', 'utf8')));
    expect(read.ok).toBe(true);
    expect(read.ok && read.value.faults.map((f) => f.kind)).toEqual([
      'slow-host',
      'thermal',
      'flapping-link',
      'error-burst',
    ]);
  });

  /** Emulates with a faults file holding `fault` alone; the exit code and what was said. */
  const refused = async (name: string, fault: string) => {
    await writeFile(join(dir, `${name}.yaml`), `faults:\n  - ${fault}\n`);
    return run('emulate', join(dir, 'spec.yaml'), '--out', join(dir, name), '--faults', join(dir, `${name}.yaml`));
  };

  it('names the field and exits 2', async () => {
    const bad = await refused('bad', '{ kind: slow-host, host: 1, startHours: 2, durationHours: 3, slowdown: 0.5 }');
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/bad\.yaml: faults\[0\]\.slowdown: must be at least 1\.01/);
    const far = await refused('far', '{ kind: thermal, host: host-0009, startHours: 2, durationHours: 1 }');
    expect(far.code).toBe(2);
    expect(far.stderr).toMatch(/far\.yaml: faults\[0\]\.host: the run has 8 hosts/);
    const kind = await refused('kind', '{ kind: melted, host: 1, startHours: 2, durationHours: 1 }');
    expect(kind.code).toBe(2);
    expect(kind.stderr).toMatch(/faults\[0\]\.kind: expected one of slow-host, thermal, flapping-link, error-burst/);
  });
});
