/**
 * The observe side's acceptance run (issue 12): the emulated 54-day Llama 3 405B run on 16,384 H100
 * (examples/llama3-405b-54d.yaml, seeded twin replica 0, step-time noise from the shared Megatron CI series) read
 * back from its Megatron log alone, held against the run's own ground truth (truth.json and the events):
 * ETTR within 0.01, every interruption a log can show found, badput by cause within 5 % of the truth.
 *
 * What a log can show: an unexpected interruption that strikes while the job restarts adds to a pause but is not
 * one of its own (the truth's `duringRestart`), so the restarts to find are those that struck while training plus
 * the planned ones. Which truth causes an observed cause stands for: lostWork ↔ lostWork; restart (pauses at and
 * around restarts, slow first steps) ↔ detection + restart + maintenance; checkpoint (short pauses) ↔ checkpoint.
 * The emulator replays the twin's slow hosts and throttling (src/telemetry/emulator.ts), but a log sees only their
 * slow steps: observed `stragglers` (steps above 1.5 × the median) stands for the truth's stragglers (episodes of
 * median 1.25×, capped at 1.5×, lifted over 1.5× by the step noise) and, much less, throttling (a deficit of about
 * 1 %, below the threshold): it must be non-zero, and is far below their sum, which mostly shifts the median.
 */
import { readFileSync } from 'node:fs';
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { loadSpec } from '../src/spec/load.js';
import { type EmulatedRun, emulateRun } from '../src/telemetry/emulator.js';
import { type ObservedKpis, observedKpis } from '../src/telemetry/kpis.js';
import { readMegatronCiGolden } from '../src/telemetry/megatron-ci.js';
import { parseStepLog, toStepPoints } from '../src/telemetry/step-log.js';
import { simulateRun } from '../src/twin/run.js';
import { run } from './run-cli.js';
import { twinConfigOf, twinDesignOf } from './support/twin-config.js';

const GOLDEN =
  '../shared/data/telemetry/megatron-ci/gpt3_weekly_mcore_tp2_pp2_current_scaling_native_fp8_tp_pp_sp_tp_overlap/golden_values_dev_dgx_h100.json';

let emulated: EmulatedRun;
let kpis: ObservedKpis;
let logPath: string;

beforeAll(async () => {
  const spec = loadSpec(readFileSync('examples/llama3-405b-54d.yaml', 'utf8'), 'yaml');
  if (!spec.ok) throw new Error(JSON.stringify(spec.issues));
  const config = twinConfigOf(spec.value);
  const design = twinDesignOf(spec.value);
  if (!config.ok || !design.ok) throw new Error('no twin');
  const golden = readMegatronCiGolden(readFileSync(GOLDEN, 'utf8'));
  if (!golden.ok) throw new Error('golden unreadable');
  const noise = golden.value.points.flatMap((p) => (p.iterationSeconds === undefined ? [] : [p.iterationSeconds]));
  const replica = simulateRun(config.value, 1, 0, { detail: true });
  const { training } = design.value.workload;
  emulated = emulateRun({
    run: replica,
    config: config.value,
    globalBatchSequences: training.globalBatchSequences,
    sequenceLength: training.sequenceLength,
    noise,
  });
  const log = parseStepLog(emulated.log);
  expect(log.malformed).toEqual([]);
  kpis = observedKpis(toStepPoints(log.samples), {
    logInterval: emulated.truth.logInterval,
    tokensPerStep: emulated.truth.tokensPerStep,
  });
  const dir = await mkdtemp(join(tmpdir(), 'tw-405b-'));
  logPath = join(dir, 'training.log');
  await writeFile(logPath, emulated.log);
}, 120_000);

describe('emulated 54-day Llama 3 405B run, observed from its log', () => {
  it('has an observed ETTR within 0.01 of the truth', () => {
    expect(emulated.truth.wallSeconds).toBe(54 * 86_400);
    expect(Math.abs(kpis.ettr - emulated.truth.ettr)).toBeLessThan(0.01);
  });

  it('finds every interruption the log can show', () => {
    const events = emulated.eventList;
    const whileTraining = events.filter((e) => e.kind === 'interruption' && !e.duringRestart);
    const planned = events.filter((e) => e.kind === 'maintenance').length;
    expect(whileTraining.length).toBe(emulated.truth.interruptionsWhileTraining);
    expect(planned).toBe(emulated.truth.plannedInterruptions);
    expect(whileTraining.length).toBeGreaterThan(100);
    // An interruption that strikes before the resumed job logs a line shares its pause with the stop before it:
    // no line falls between the two, so no log can tell them apart (the emulator marks it `unlogged`).
    const unlogged = whileTraining.filter((e) => e.unlogged).length;
    expect(unlogged).toBeLessThan(0.01 * whileTraining.length);
    expect(kpis.restarts).toBe(whileTraining.length - unlogged + planned);
  });

  it('has badput by cause within 5 % of the truth', () => {
    const t = emulated.truth.badputSeconds as Record<string, number>;
    const pairs: [string, number, number][] = [
      ['lostWork', kpis.badputSeconds.lostWork, t.lostWork as number],
      ['restart', kpis.badputSeconds.restart, (t.detection ?? 0) + (t.restart ?? 0) + (t.maintenance ?? 0)],
      ['checkpoint', kpis.badputSeconds.checkpoint, t.checkpoint as number],
    ];
    for (const [cause, observed, truth] of pairs) {
      expect(truth, cause).toBeGreaterThan(3600);
      expect(Math.abs(observed / truth - 1), `${cause}: observed ${observed} s, truth ${truth} s`).toBeLessThan(0.05);
    }
    // Slow steps: the replayed slow-host episodes (and throttling) show, as a part of the truth's time.
    expect(kpis.badputSeconds.stragglers).toBeGreaterThan(0);
    expect(kpis.badputSeconds.stragglers).toBeLessThan((t.stragglers ?? 0) + (t.throttling ?? 0));
  });

  it('reads the same from the CLI: observe on the log file against the spec', async () => {
    const result = await run(
      'observe',
      'examples/llama3-405b-54d.yaml',
      '--log',
      logPath,
      '--replicas',
      '20',
      '--json',
    );
    expect(result.code, result.stderr).toBe(0);
    const out = JSON.parse(result.stdout);
    expect(out.kpis.run.ettr).toBeCloseTo(kpis.ettr, 12);
    expect(out.kpis.run.restarts).toBe(kpis.restarts);
    const ettr = out.planVersusActual.find((c: { metric: string }) => c.metric === 'ettr');
    expect(ettr.band.low).toBeLessThanOrEqual(ettr.band.high);
    expect(out.twin.replicas).toBe(20);
  }, 120_000);
});
