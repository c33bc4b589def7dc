import { describe, expect, it } from 'vitest';
import { estimate } from '../perf/estimate.js';
import { catalogSystem } from '../plan/design.js';
import { searchPlans } from '../plan/search.js';
import { type CompareInput, CompareSchema } from '../spec/compare.js';
import { validateSpec } from '../spec/load.js';
import { resolveFacility } from '../spec/resolve.js';
import { type CompareData, type ComparePoint, comparePoint, findBreakpoint } from './compare.js';
import { expectedMaxNormal, placementCost } from './effects.js';

// A small case: Llama 3 8B on 64 H100 in a 512-GPU shared cluster; the twin without failures, stragglers or
// throttling, so that a run's length is its ideal time times the step slowdown (plus one 300 s launch).
const spec = validateSpec({
  workload: {
    model: 'llama3-8b',
    training: { totalTokens: '1T', sequenceLength: 8192, globalBatch: { sequences: 256 } },
  },
  twin: {
    failureScale: 0,
    failures: { maintenance: { ratePerYear: 0 } },
    stragglers: { ratePerNodeYear: 0 },
    throttling: { diurnalSwing: 0 },
  },
});
if (!spec.ok) throw new Error(JSON.stringify(spec.issues));
const { workload, twin } = spec.value;
const facility = resolveFacility({ cooling: 'direct-liquid' });
// Tenants: 1-GPU jobs of 600 s.
const data: CompareData = { tenants: { gpuRequests: [1], durations: [600] }, interferenceCov: 0.1 };
const allOff = {
  queue: false,
  fragmentation: false,
  contention: false,
  interference: false,
  mixedGenerations: false,
  preemption: false,
  noSpares: false,
};
const scenario = (effects: Partial<typeof allOff>, shared: Record<string, unknown> = {}): CompareInput =>
  CompareSchema.parse({
    replicas: 3,
    shared: { gpus: 512, nodesPerLeaf: 4, utilisation: 0.5, ...shared },
    effects: { ...allOff, ...effects },
  });
const point = (s: CompareInput, gpus = 64): ComparePoint => {
  const p = comparePoint(workload, 'h100-sxm', facility, twin, s, data, gpus);
  if ('reason' in p) throw new Error(p.reason);
  return p;
};
const base = point(scenario({}));

describe('each multi-tenancy effect alone, against a hand computation', () => {
  it('all off: the shared run takes as long as the factory run', () => {
    expect(base.shared.timeToTrainDays).toBeCloseTo(base.dedicated.timeToTrainDays, 9);
    expect(base.shared.slowdown.total).toBe(1);
  });

  it('interference: 1 + CoV·E[max of 8 workers] = 1 + 0.1 × 1.4236 (Teichroew)', () => {
    const p = point(scenario({ interference: true }));
    expect(expectedMaxNormal(8)).toBeCloseTo(1.4236, 4);
    expect(p.shared.slowdown.interference).toBeCloseTo(1.14236, 4);
    // The run stretches by the slowdown (the 300 s launch does not).
    const launch = 300 / 86400;
    expect((p.shared.timeToTrainDays - launch) / (base.shared.timeToTrainDays - launch)).toBeCloseTo(1.14236, 3);
    expect(p.factoryWins.time).toBe(true);
  });

  it('mixed generations: a placement with an A100 runs at the A100 step', () => {
    const p = point(scenario({ mixedGenerations: true }, { olderShare: 0.5, sameGeneration: false }));
    const system = catalogSystem('h100-sxm', 64);
    const older = catalogSystem('a100-sxm-80gb', 64);
    if (!system || !older) throw new Error('catalog');
    // The plan of the factory, estimated on both GPUs (same servers, same fabric).
    const plan = estimatePlan(p);
    const h100 = estimate(workload, system, plan);
    const a100 = estimate(workload, { ...system, accelerator: older.accelerator }, plan);
    if (!h100.ok || !a100.ok) throw new Error('estimate');
    expect(p.shared.olderNodes).toBeGreaterThan(0);
    expect(p.shared.slowdown.mixedGenerations).toBeCloseTo(a100.step.seconds / h100.step.seconds, 9);
    expect(p.shared.slowdown.mixedGenerations).toBeGreaterThan(2);
  });

  it('fragmentation: free inside one leaf; across leaves at most the same plan re-costed on the taper', () => {
    const oneLeaf = point(scenario({ fragmentation: true }, { nodesPerLeaf: 64 }));
    expect(oneLeaf.shared.leaves).toBe(1);
    expect(oneLeaf.shared.slowdown.fabric).toBe(1);
    const spread = point(scenario({ fragmentation: true, contention: true }, { nodesPerLeaf: 2, taper: 4 }));
    expect(spread.shared.leaves).toBeGreaterThanOrEqual(4); // 8 servers, 2 per leaf
    // The job re-plans for the fabric it got: never faster than on the factory's, never slower than the factory's
    // plan re-costed on it (that re-cost is checked by hand in effects.test.ts).
    const system = catalogSystem('h100-sxm', 64);
    if (!system) throw new Error('catalog');
    const samePlan = placementCost(workload, system, estimatePlan(spread), spread.shared.leaves ?? 1, {
      gpusPerLeaf: 16,
      taper: 4,
      tenantLinkLoad: 0.25,
    });
    expect(spread.shared.slowdown.fabric).toBeGreaterThanOrEqual(1);
    expect(spread.shared.slowdown.fabric).toBeLessThanOrEqual((samePlan?.slowdown ?? 0) + 1e-12);
  });

  it("preemption: ETTR follows Meta's first-order estimate 1 − δ/τ − (τ/2 + R)/M", () => {
    const p = point(scenario({ preemption: true }, { preemptionsPerDay: 4 }));
    // M = 6 h between preemptions; δ = the checkpoint write (60 s, the factory's storage); R = 300 s restart plus
    // a 60 s read; τ = Daly's √(2δ(M + R)).
    const m = 86400 / 4;
    const delta = 60;
    const r = 300 + 60;
    const tau = Math.sqrt(2 * delta * (m + r));
    const expected = 1 - delta / tau - (tau / 2 + r) / m;
    expect(Math.abs(p.shared.ettr - expected)).toBeLessThan(0.01);
    expect(p.shared.timeToTrainDays).toBeGreaterThan(base.shared.timeToTrainDays);
  });

  it('queue: the gang waits for whole idle servers when tenants fill the cluster', () => {
    const busy = point(scenario({ queue: true }, { utilisation: 0.95, policy: 'fifo' }), 256);
    const idle = point(scenario({}, { utilisation: 0.95, policy: 'fifo' }), 256);
    expect(busy.shared.timeToStartHours).toBeGreaterThan(0);
    expect(idle.shared.timeToStartHours).toBe(0);
    // Without failures the run itself is the same: time to train grows by exactly the wait.
    expect(busy.shared.timeToTrainDays - idle.shared.timeToTrainDays).toBeCloseTo(busy.shared.timeToStartHours / 24, 6);
  });
});

/** The factory's plan at this size: the same search comparePoint runs. */
function estimatePlan(p: ComparePoint) {
  const system = catalogSystem('h100-sxm', p.gpus);
  if (!system) throw new Error('catalog');
  const spec2 = validateSpec({
    workload: {
      model: 'llama3-8b',
      training: { totalTokens: '1T', sequenceLength: 8192, globalBatch: { sequences: 256 } },
    },
    system: { accelerator: 'h100-sxm', gpuCount: p.gpus },
  });
  if (!spec2.ok) throw new Error('spec');
  const best = searchPlans(spec2.value.workload, system, { top: 1 }).best[0];
  if (!best) throw new Error('no plan');
  return best.plan;
}

describe('sizes the shared cluster cannot take', () => {
  it('skips a gang larger than the servers of its GPU model, naming both counts', () => {
    // 512 GPUs = 64 servers, half of them A100: a 512-GPU gang asking for H100 cannot ever start.
    const p = comparePoint(
      workload,
      'h100-sxm',
      facility,
      twin,
      scenario({ queue: true }, { olderShare: 0.5, sameGeneration: true }),
      data,
      512,
    );
    expect('reason' in p && p.reason).toBe('the shared cluster has only 32 servers the gang may use, it needs 64');
  });

  it('leaves tenant requests larger than one server out of the offered load', () => {
    // With 16-GPU requests filtered out, the cluster still runs at the 50% asked for.
    const p = point(scenario({}), 64);
    const mixed = comparePoint(
      workload,
      'h100-sxm',
      facility,
      twin,
      scenario({}),
      { ...data, tenants: { gpuRequests: [1, 16], durations: [600] } },
      64,
    );
    if ('reason' in mixed) throw new Error(mixed.reason);
    expect(mixed.shared.clusterUtilisation).toBeCloseTo(p.shared.clusterUtilisation, 1);
    expect(Math.abs(mixed.shared.clusterUtilisation - 0.5)).toBeLessThan(0.05);
  });
});

describe('the breakpoint', () => {
  const at = (gpus: number, time: boolean, cost: boolean) =>
    ({ gpus, factoryWins: { time, cost } }) as unknown as ComparePoint;
  it('is the smallest size from which the factory wins on both, or null with the reason', () => {
    expect(findBreakpoint([at(64, true, false), at(256, true, true), at(1024, true, true)]).gpus).toBe(256);
    // In any order.
    expect(findBreakpoint([at(64, true, false), at(1024, true, true), at(256, true, true)]).gpus).toBe(256);
    expect(findBreakpoint([at(64, true, true)]).status).toBe('factory-everywhere');
    // A win that does not last to the largest size does not count.
    expect(findBreakpoint([at(64, true, true), at(256, false, true), at(1024, true, true)]).gpus).toBe(1024);
    expect(findBreakpoint([at(64, true, true), at(128, true, true)]).gpus).toBeNull();
    expect(findBreakpoint([at(64, true, true), at(128, true, true)]).reason).toMatch(/every size/);
    expect(findBreakpoint([at(64, true, true), at(128, false, false)]).reason).toMatch(/still wins at 128/);
  });
});

describe('no spares: each failed host waits for the shared pool', () => {
  it('costs about one replacement wait per host failure (the mechanism compare uses, with the wait it measures)', async () => {
    const { twinDesignOf: twinDesign } = await import('../../test/support/twin-config.js');
    const { twinConfig } = await import('../twin/setup.js');
    const { simulateRun } = await import('../twin/run.js');
    const withSystem = validateSpec({
      workload: {
        model: 'llama3-8b',
        training: { totalTokens: '1T', sequenceLength: 8192, globalBatch: { sequences: 256 } },
      },
      system: { accelerator: 'h100-sxm', gpuCount: 64 },
      // Only host failures, about one every 2 days on 8 hosts; no maintenance, stragglers or throttling.
      twin: {
        failures: Object.fromEntries(
          ['gpu', 'hbm', 'nic', 'psu', 'network', 'software', 'hang', 'maintenance'].map((id) => [
            id,
            { ratePerYear: 0 },
          ]),
        ),
        stragglers: { ratePerNodeYear: 0 },
        throttling: { diurnalSwing: 0 },
      },
    });
    if (!withSystem.ok) throw new Error(JSON.stringify(withSystem.issues));
    const spec2 = withSystem.value;
    (spec2.twin as { failures: Record<string, { ratePerYear: number }> }).failures.host = { ratePerYear: 365.25 / 16 };
    const design = twinDesign(spec2);
    if (!design.ok) throw new Error('design');
    const config = twinConfig(design.value, spec2.twin);
    if (!config.ok) throw new Error(JSON.stringify(config.issues));
    const wait = 3600; // one hour for the pool to free a server
    const shared = {
      ...config.value,
      spares: {
        ...config.value.spares,
        nodes: 0,
        auto: false,
        policy: 'wait' as const,
        autoRepairSeconds: wait,
        manualRepairSeconds: 0,
        manualShare: 0,
      },
    };
    let waiting = 0;
    let failures = 0;
    // About 380 failures: the mean of exponential waits has a standard error near 5%.
    for (let replica = 0; replica < 40; replica++) {
      const run = simulateRun(shared, 2, replica, { detail: false }).summary;
      waiting += run.badputHours.spares * 3600;
      failures += run.failures;
    }
    // Exponential waits are memoryless: after the 30 s detection the expected rest is still one hour.
    expect(failures).toBeGreaterThan(300);
    expect(Math.abs(waiting / failures / wait - 1)).toBeLessThan(0.15);
  });
});
