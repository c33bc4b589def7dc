/**
 * The twin's fidelity for mitigations (issue 13 item 4) and its mitigation policy (item 3's twin half), held to
 * closed forms, properties and published anchors: lemon hosts multiply the hardware failures by 1 − f + f·m;
 * a domain event costs its hosts at once; the platform's refill bounds a wait by its lead time; the checkpoint
 * is read back at its own bandwidth; Young/Daly intervals; a prediction's checkpoint bounds the lost work by the
 * lead time; false alarms come at recall·rate·(1/precision − 1); and the Llama 3 405B study with and without the
 * policy, its ETTR difference explained by cause.
 */
import { readFileSync } from 'node:fs';
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse, stringify } from 'yaml';
import { FAILURE_CLASSES, HOURS_PER_YEAR } from '../src/catalog/reliability.js';
import { validateSpec } from '../src/spec/load.js';
import { withoutMitigation } from '../src/spec/twin.js';
import { PRIORITY } from '../src/twin/context.js';
import { Fleet } from '../src/twin/processes/hosts.js';
import { ETTR_CAUSES, type FailureProcess, simulateRun } from '../src/twin/run.js';
import { refillMean, type TwinConfig } from '../src/twin/setup.js';
import { compareMitigation, runReplicas } from '../src/twin/study.js';
import { run } from './run-cli.js';
import { twinConfigOf } from './support/twin-config.js';

const EXAMPLE = 'examples/llama3-405b-54d.yaml';
const DAY = 86400;
const YEAR = HOURS_PER_YEAR * 3600;

// biome-ignore lint/suspicious/noExplicitAny: the fixtures edit a parsed YAML document
type Doc = Record<string, any>;

function llamaDoc(): Doc {
  return parse(readFileSync(EXAMPLE, 'utf8')) as Doc;
}

function configOf(doc: Doc): TwinConfig {
  const valid = validateSpec(doc);
  if (!valid.ok) throw new Error(JSON.stringify(valid.issues));
  const config = twinConfigOf(valid.value);
  if (!config.ok) throw new Error(JSON.stringify(config.issues));
  return config.value;
}

/** The Llama 3 case with every random process off, then `twin` merged over it. */
function quiet(twin: Doc): TwinConfig {
  const doc = llamaDoc();
  const failures = Object.fromEntries(FAILURE_CLASSES.map((c) => [c.id, { ratePerYear: 0 }]));
  doc.twin = {
    ...doc.twin,
    days: 5,
    failures,
    stragglers: { ratePerNodeYear: 0 },
    throttling: { diurnalSwing: 0 },
    checkpoint: { ...doc.twin.checkpoint, intervalMinutes: 30 },
    spares: { nodes: 2, policy: 'wait' },
    ...twin,
    ...(twin.failures && { failures: { ...failures, ...twin.failures } }),
  };
  return configOf(doc);
}

const mean = (values: readonly number[]) => values.reduce((a, b) => a + b, 0) / values.length;

describe('lemon hosts', () => {
  it('multiply the hardware failures by 1 − f + f·m (AIReSim: 15% of hosts at 5×; here f = 1/4, m = 5: 2×)', () => {
    const gpuRate = 2; // per GPU-year, so that a replica sees hundreds of failures in 5 days
    const repairs = { autoRepairHours: 0.01, manualShare: 0 };
    const twin = {
      failures: { gpu: { ratePerYear: gpuRate } },
      spares: { nodes: 64, policy: 'wait', ...repairs },
    };
    const base = quiet(twin);
    const lemons = quiet({ ...twin, lemons: { fraction: 0.25, multiplier: 5 } });
    const expectedBase = (gpuRate / YEAR) * base.gpus * 5 * DAY;
    const failures = (config: TwinConfig) => mean(runReplicas(config, 3, 0, 12).map((s) => s.failures));
    // Poisson counts of ~450 and ~900 a replica over 12 replicas: a standard error under 1.5%.
    expect(failures(base) / expectedBase).toBeCloseTo(1, 1);
    expect(failures(lemons) / expectedBase / (1 - 0.25 + 0.25 * 5)).toBeGreaterThan(0.95);
    expect(failures(lemons) / expectedBase / (1 - 0.25 + 0.25 * 5)).toBeLessThan(1.05);
    expect(lemons.lemons?.meanFactor).toBe(2); // 2,048 hosts: 512 lemons exactly
  });

  it('strike the same hosts: a lemon is picked with probability m·L / (H + m·L), a share f of hosts are lemons', () => {
    const fleet = new Fleet(1000, 1000, 0.1, 5);
    expect(fleet.lemonCount).toBe(100);
    const config = quiet({});
    const stream = { uniform: Math.random } as unknown as Parameters<Fleet['pickWeighted']>[0];
    let lemon = 0;
    const n = 200_000;
    for (let i = 0; i < n; i++) if (fleet.isLemon(fleet.pickWeighted(stream))) lemon++;
    // 5·100 / (900 + 5·100) = 0.357; binomial standard error 0.001.
    expect(lemon / n).toBeCloseTo(500 / 1400, 2);
    expect(config.lemons).toBeUndefined();
  });

  it('are excluded after k failures and replaced from the platform, so fewer failures strike', () => {
    const twin = {
      failures: { gpu: { ratePerYear: 0.5 } },
      spares: { nodes: 64, policy: 'wait' },
      lemons: { fraction: 0.05, multiplier: 50 },
    };
    const base = runReplicas(quiet(twin), 5, 0, 8);
    const policy = runReplicas(quiet({ ...twin, mitigation: { lemons: { excludeAfter: 1 } } }), 5, 0, 8);
    expect(mean(policy.map((s) => s.spares.excluded))).toBeGreaterThan(0);
    // Excluded lemons come back as healthy platform hosts: the job's weight falls, and with it the failures.
    expect(mean(policy.map((s) => s.failures))).toBeLessThan(mean(base.map((s) => s.failures)));
  });
});

describe('correlated domains', () => {
  it('take all d hosts of a domain at once: the pool falls by d per event, events at rate × domains', () => {
    const config = quiet({
      spares: { nodes: 40, policy: 'wait' },
      domains: { rack: { ratePerYear: 0.3, hosts: 4, repairHours: 5000 } },
    });
    expect(config.domains[0]).toMatchObject({ hosts: 4, domains: 512 });
    const runs = runReplicas(config, 11, 0, 16);
    for (const s of runs) {
      // Repairs outlast the window: each event's four hosts are still away. The pool gives them at the restart, so
      // an event in the last minutes of the window may not have drawn on it yet.
      const taken = 40 - s.spares.fewestFree;
      expect(taken % 4).toBe(0);
      expect(taken).toBeLessThanOrEqual(4 * s.failures);
      expect(taken).toBeGreaterThanOrEqual(4 * (s.failures - 1));
      expect(s.interruptionsByCause.rack).toBe(s.unexpectedInterruptions);
    }
    // 0.3 per rack-year × 512 racks × 5 days = 2.10 events; 16 replicas: standard error 0.36.
    expect(mean(runs.map((s) => s.failures))).toBeCloseTo((0.3 / YEAR) * 512 * 5 * DAY, 0);
  });
});

describe('spares refilled from the platform', () => {
  it('bound every wait by the lead time after the last failure, even with no spare at all', () => {
    const config = quiet({
      spares: { nodes: 0, policy: 'wait', refill: { leadHours: 1 }, autoRepairHours: 20, manualShare: 1 },
    });
    expect(config.spares.refillLeadSeconds).toBe(3600);
    const lead = 3600;
    const crash = config.detection.crashSeconds;
    // A host fails on day 1; another on day 2, and a third 600 s later, while the job waits for the second's.
    const { summary } = simulateRun(config, 1, 0, {
      failures: replay([
        [DAY, 'host'],
        [2 * DAY, 'host'],
        [2 * DAY + 600, 'host'],
      ]),
    });
    expect(summary.spares.waits).toBe(2);
    expect(summary.spares.refills).toBe(3); // repairs of 20 h and more: the platform's hosts come first
    // Wait 1: from detection to the lead; wait 2: until the lead after the third failure (the repairs take 68 h).
    expect(summary.badputHours.spares * 3600).toBeCloseTo(lead - crash + (600 + lead - crash), 6);
  });

  it('keep a slot empty E[min(repair, lead)]: the closed form matches the integral of the survival', () => {
    const [a, b, p] = [2 * 3600, 48 * 3600, 0.8];
    const survival = (t: number) =>
      (1 - p) * Math.exp(-t / a) + (p * (a * Math.exp(-t / a) - b * Math.exp(-t / b))) / (a - b);
    for (const lead of [600, 3600, 24 * 3600, 200 * 3600]) {
      let integral = 0;
      const steps = 20000;
      for (let i = 0; i < steps; i++) integral += (survival(((i + 0.5) * lead) / steps) * lead) / steps;
      expect(refillMean(a, b, p, lead) / integral).toBeCloseTo(1, 6);
      expect(refillMean(a, b, p, lead)).toBeLessThanOrEqual(lead);
    }
    // A lead far beyond every repair leaves the mean repair, 2 + 0.8 × 48 = 40.4 h (docs/twin.md).
    expect(refillMean(a, b, p, 1e9) / 3600).toBeCloseTo(40.4, 6);
  });
});

/** Replays (seconds, class id) pairs. */
function replay(observed: readonly (readonly [number, string])[]): FailureProcess {
  return {
    start(ctx) {
      for (const [t, id] of observed) {
        const index = ctx.config.classes.findIndex((c) => c.id === id);
        ctx.sim.at(t, () => ctx.strike(index), PRIORITY.failure);
      }
    },
  };
}

describe('checkpoint read', () => {
  it('takes bytes / read bandwidth at every restart, apart from the write', () => {
    const config = quiet({ checkpoint: { storageGBps: 2000, readGBps: 200, intervalMinutes: 30 } });
    expect(config.checkpoint.readSeconds).toBeCloseTo(config.checkpoint.bytes / 200e9, 9);
    expect(config.checkpoint.writeSeconds).toBeCloseTo(config.checkpoint.bytes / 2000e9, 9);
    const { summary } = simulateRun(config, 1, 0, { failures: replay([[DAY, 'gpu']]) });
    // The launch's restart, then one restart that reads the checkpoint back and swaps a host.
    const expected = 2 * config.restartSeconds + config.checkpoint.readSeconds + config.swapSeconds;
    expect(summary.badputHours.restart * 3600).toBeCloseTo(expected, 6);
  });
});

describe('the mitigation policy', () => {
  it('sets the interval to Young √(2δM) or Daly √(2δ(M + R)) for the modelled rate, over a fixed one', () => {
    const doc = llamaDoc();
    doc.twin.checkpoint.intervalMinutes = 120;
    const fixed = configOf(doc);
    doc.twin.mitigation = { checkpointInterval: 'young' };
    const young = configOf(doc);
    doc.twin.mitigation = { checkpointInterval: 'daly' };
    const daly = configOf(doc);
    const { writeSeconds } = fixed.checkpoint;
    expect(fixed.checkpoint.intervalSeconds).toBe(7200);
    expect(young.checkpoint.intervalSeconds).toBeCloseTo(Math.sqrt(2 * writeSeconds * young.mtbfSeconds), 9);
    expect(daly.checkpoint.intervalSeconds).toBeCloseTo(
      Math.sqrt(2 * writeSeconds * (daly.mtbfSeconds + daly.meanRecoverySeconds)),
      9,
    );
  });

  it('checkpoints before a predicted failure: each loses at most lead − write of work', () => {
    const leadSeconds = 300;
    const config = quiet({
      failures: { software: { ratePerYear: 0.5 } },
      checkpoint: { storageGBps: 2000, intervalMinutes: 60 },
      mitigation: { prediction: { recall: 1, precision: 1, leadMinutes: leadSeconds / 60 } },
    });
    const bound = leadSeconds - config.checkpoint.writeSeconds;
    const runs = runReplicas(config, 4, 0, 8);
    const interruptions = runs.reduce((n, s) => n + s.unexpectedInterruptions, 0);
    const lost = runs.reduce((h, s) => h + s.badputHours.lostWork * 3600, 0);
    expect(interruptions).toBeGreaterThan(20);
    expect(lost / interruptions).toBeLessThanOrEqual(bound + 1e-6);
    // Without the policy a failure loses half an interval on average (30 min), here about the bound.
    expect(lost / interruptions).toBeGreaterThan(0.8 * bound);
    expect(mean(runs.map((s) => s.mitigation.predictedCheckpoints))).toBeGreaterThan(0);
  });

  it('raises false alarms at recall × rate × (1/precision − 1)', () => {
    const config = quiet({
      failures: { software: { ratePerYear: 0.5 } },
      mitigation: { prediction: { recall: 0.5, precision: 0.25, leadMinutes: 5 } },
    });
    const expected = (0.5 / config.mtbfSeconds) * (1 / 0.25 - 1) * 5 * DAY;
    // About 21 a replica; over 64 replicas a Poisson standard error of 2.7%.
    const alarms = mean(runReplicas(config, 8, 0, 64).map((s) => s.mitigation.falseAlarms));
    expect(alarms / expected).toBeGreaterThan(0.88);
    expect(alarms / expected).toBeLessThan(1.12);
  });

  it('drains a slow host only when it pays: never for 24-minute episodes at 1.25×, often for 10-hour ones at 1.5×', () => {
    const twin = { stragglers: { ratePerNodeYear: 2, meanMinutes: 24 }, spares: { nodes: 16, policy: 'wait' } };
    const short = runReplicas(quiet({ ...twin, mitigation: { stragglers: { detectMinutes: 1 } } }), 1, 0, 2);
    expect(short.every((s) => s.mitigation.drains === 0)).toBe(true);
    const long = { stragglers: { ratePerNodeYear: 2, meanMinutes: 600, slowdown: 1.5 }, spares: twin.spares };
    const base = runReplicas(quiet(long), 1, 0, 4);
    const drained = runReplicas(quiet({ ...long, mitigation: { stragglers: { detectMinutes: 1 } } }), 1, 0, 4);
    expect(mean(drained.map((s) => s.mitigation.drains))).toBeGreaterThan(0);
    expect(mean(drained.map((s) => s.badputHours.stragglers))).toBeLessThan(
      mean(base.map((s) => s.badputHours.stragglers)),
    );
    expect(mean(drained.map((s) => s.goodput))).toBeGreaterThan(mean(base.map((s) => s.goodput)));
  });

  it('counts its events in the budget, naming the field', async () => {
    const doc = llamaDoc();
    doc.twin.failureScale = 100;
    doc.twin.mitigation = { prediction: { recall: 1, precision: 0.01, leadMinutes: 5 } };
    const valid = validateSpec(doc);
    if (!valid.ok) throw new Error('valid spec');
    const config = twinConfigOf(valid.value);
    expect(config.ok).toBe(false);
    if (!config.ok) expect(config.issues[0]?.path).toBe('twin.mitigation.prediction');
  });

  it('refuses bad settings with the field named, exit 2', async () => {
    const doc = llamaDoc();
    doc.twin.lemons = { fraction: 1.5 };
    const valid = validateSpec(doc);
    expect(valid.ok).toBe(false);
    if (!valid.ok) expect(valid.issues.map((i) => i.path)).toContain('twin.lemons.fraction');
    const dir = await mkdtemp(join(tmpdir(), 'twin-mitigation-'));
    const file = join(dir, 'bad.yaml');
    doc.twin.lemons = { fraction: 0.1 };
    doc.twin.mitigation = { prediction: { recall: 2, precision: 0.8, leadMinutes: 5 } };
    await writeFile(file, stringify(doc));
    const result = await run('simulate', file, '--replicas', '1', '--threads', '1');
    expect(result.code).toBe(2);
    expect(result.stderr).toContain('twin.mitigation.prediction.recall');
  });
});

describe('reliability warnings', () => {
  it('are none for the Llama 3 defaults, and call out a fleet rate and recovery far from the stated ones', () => {
    expect(configOf(llamaDoc()).warnings).toEqual([]);
    const doc = llamaDoc();
    doc.twin.failureScale = 10; // 37.9 per 1,000 node-days, past OPT's 16
    doc.twin.restart = { seconds: 7200 };
    const warnings = configOf(doc).warnings;
    expect(warnings.map((w) => w.path)).toEqual(['twin.failureScale', 'twin.detection.crashSeconds']);
    expect(warnings[1]?.message).toContain('twin.restart.seconds states recovery in hours');
  });

  it('warn when a fixed pool is expected to run dry, each time a wait for a 40-hour repair', () => {
    const doc = llamaDoc();
    doc.twin.spares = { nodes: 4 };
    const warning = configOf(doc).warnings.find((w) => w.path === 'twin.spares.nodes');
    expect(warning?.message).toContain('40.4 h');
    doc.twin.spares = { nodes: 4, refill: { leadHours: 2 } };
    expect(configOf(doc).warnings.find((w) => w.path === 'twin.spares.nodes')).toBeUndefined();
  });
});

describe('the Llama 3 405B study with and without the policy', () => {
  it('explains the ETTR difference by cause on the same seeds', () => {
    const doc = llamaDoc();
    // Meta's lemon share (40 lemon nodes in RSC-1's ~2,000: 2%) at AIReSim's 5×, and a policy: predictions at
    // ByteDance's 85.4% precision with the B200 study's recall before the failure (2 of 10), 10 minutes ahead;
    // lemons excluded after 2 failures; slow hosts detected within a minute.
    doc.twin.lemons = { fraction: 0.02, multiplier: 5 };
    doc.twin.mitigation = {
      prediction: { recall: 0.2, precision: 0.854, leadMinutes: 10 },
      lemons: { excludeAfter: 2 },
      stragglers: { detectMinutes: 1 },
    };
    const withPolicy = configOf(doc);
    doc.twin = withoutMitigation(doc.twin);
    const without = configOf(doc);
    expect(without.mitigation.prediction).toBeUndefined();
    const study = compareMitigation(without, withPolicy, { replicas: 24, seed: 1 });
    const byCause = ETTR_CAUSES.reduce((sum, c) => sum + study.ettrGainByCause[c], 0);
    expect(byCause).toBeCloseTo(study.ettrGain.mean, 12);
    expect(study.with.ettr.mean - study.without.ettr.mean).toBeCloseTo(study.ettrGain.mean, 12);
    // Checkpoints before predicted failures cut the lost work and cost checkpoint time for each prediction.
    expect(study.ettrGainByCause.lostWork).toBeGreaterThan(0);
    expect(study.ettrGainByCause.checkpoint).toBeLessThan(0);
    expect(study.actions.predictedCheckpoints).toBeGreaterThan(0);
    // Meta's ETTR above 0.9 holds either way.
    expect(study.without.ettr.p10).toBeGreaterThan(0.9);
  });
});
