import { describe, expect, it } from 'vitest';
import { estimate } from '../perf/estimate.js';
import { loadSpec } from '../spec/load.js';
import { designFactory, type Factory } from './factory.js';

function factory(system: string, facility: string, plan: string, batch: number) {
  const result = loadSpec(
    `workload: { model: llama3-8b, training: { totalTokens: 15T, sequenceLength: 8192, globalBatch: { sequences: ${batch} } } }
system: ${system}
facility: ${facility}
plan: ${plan}`,
    'yaml',
  );
  if (!result.ok) throw new Error(JSON.stringify(result.issues));
  const { workload, system: s, facility: f, plan: p } = result.value;
  if (!s || !f || !p) throw new Error('incomplete spec');
  const e = estimate(workload, s, p);
  if (!e.ok) throw new Error(JSON.stringify(e.issues));
  return designFactory(workload, s, f, e);
}

function ok(result: ReturnType<typeof factory>): Factory {
  if (!result.ok) throw new Error(JSON.stringify(result.issues));
  return result;
}

describe('factory power reproduces known sites within 15%', () => {
  it('xAI Colossus: 100,000 H100, liquid cooled, about 150 MW (hardware-catalog.md 3.4)', () => {
    const f = ok(
      factory(
        '{ accelerator: h100-sxm, gpuCount: 100000, scaleOut: { fabric: spectrum-x } }',
        '{ cooling: direct-liquid }',
        '{ tp: 1, pp: 1, dp: 100000, recomputation: full }',
        100000,
      ),
    );
    expect(Math.abs(f.powerKW.facility / 150_000 - 1)).toBeLessThan(0.15);
    expect(f.powerKW.facility / f.gpus).toBeGreaterThan(1.3); // about 1.5 kW per GPU all-in
  });

  // Meta runs RoCE Ethernet: 128-port switches at 400G keep 83,000 GPUs within three tiers.
  it('Meta: 83,000 GB200 capped at 960 W, about 1.81 kW per GPU at the facility (arXiv 2605.24461)', () => {
    const f = ok(
      factory(
        '{ accelerator: gb200, gpuCount: 83000, gpusPerNode: 4, gpuPowerLimitW: 960, scaleOut: { fabric: spectrum-x } }',
        '{ cooling: direct-liquid }',
        '{ tp: 1, pp: 1, dp: 83000, recomputation: full }',
        83000,
      ),
    );
    expect(Math.abs(f.powerKW.perGpuAtFacility / 1.81 - 1)).toBeLessThan(0.15);
    expect(f.gpusPerRack).toBe(72);
    expect(f.racks).toBe(Math.ceil(83000 / 72));
  });
});

describe('factory layout', () => {
  it('air-cooled racks take as many DGX H100 as the rack power allows: 2 of 10.2 kW in 30 kW', () => {
    const f = ok(
      factory(
        '{ accelerator: h100-sxm, gpuCount: 1024 }',
        '{ cooling: air }',
        '{ tp: 8, pp: 1, dp: 128, recomputation: full }',
        1024,
      ),
    );
    expect(f.gpusPerRack).toBe(16);
    expect(f.racks).toBe(64);
    expect(f.fabric.leaves).toBe(32);
    expect(f.fabric.spines).toBe(16);
  });

  it('names the binding limit and by how much when a server does not fit a rack', () => {
    const result = factory(
      '{ accelerator: b200, gpuCount: 64 }',
      '{ cooling: air, rackPowerLimitKW: 10 }',
      '{ tp: 8, pp: 1, dp: 8, recomputation: full }',
      64,
    );
    expect(result.ok).toBe(false);
    if (!result.ok) {
      expect(result.issues[0]?.path).toBe('facility.rackPowerLimitKW');
      expect(result.issues[0]?.message).toMatch(/14\.3 kW, above the 10 kW rack limit by 4\.3 kW/);
    }
  });

  it('NVL72 racks need liquid cooling', () => {
    const result = factory(
      '{ accelerator: gb200, gpuCount: 144, gpusPerNode: 4 }',
      '{ cooling: air }',
      '{ tp: 4, pp: 1, dp: 36, recomputation: full }',
      144,
    );
    expect(!result.ok && result.issues[0]?.code === 'cooling').toBe(true);
  });

  it('costs add up: per-hour cost × hours = run cost; $/M tokens = run cost / tokens', () => {
    const f = ok(
      factory(
        '{ accelerator: h100-sxm, gpuCount: 1024 }',
        '{ cooling: air }',
        '{ tp: 8, pp: 1, dp: 128, recomputation: full }',
        1024,
      ),
    );
    expect(f.costUSD.run).toBeCloseTo(f.costUSD.perHour * f.kpis.timeToTrainDays * 24, 0);
    expect(f.kpis.usdPerMillionTokens).toBeCloseTo(f.costUSD.run / 15e6, 6);
    // Interconnect is 19% of servers + network (Epoch).
    expect(f.costUSD.network / (f.costUSD.servers + f.costUSD.network)).toBeCloseTo(0.19, 10);
    // A DGX H100 at $270K: servers cost 128 × $270K.
    expect(f.costUSD.servers).toBe(128 * 270000);
  });
});

describe('NVL72 racks', () => {
  it('are bought whole and hold whole TP groups: TP16 uses 64 of each 72 GPUs', () => {
    const result = loadSpec(
      `workload: { model: llama3-70b, training: { totalTokens: 1T, sequenceLength: 8192, globalBatch: { sequences: 64 } } }
system: { accelerator: gb200, gpuCount: 1024, gpusPerNode: 4 }
facility: { cooling: direct-liquid }
plan: { tp: 16, pp: 1, dp: 64, recomputation: full }`,
      'yaml',
    );
    if (!result.ok) throw new Error(JSON.stringify(result.issues));
    const { workload, system, facility, plan } = result.value;
    if (!system || !facility || !plan) throw new Error('incomplete spec');
    const e = estimate(workload, system, plan);
    if (!e.ok) throw new Error(JSON.stringify(e.issues));
    const f = designFactory(workload, system, facility, e, plan);
    if (!f.ok) throw new Error(JSON.stringify(f.issues));
    expect(f.gpusPerRack).toBe(64);
    expect(f.racks).toBe(16);
    expect(f.costUSD.servers).toBeCloseTo(16 * 3_000_000, 0); // $3M per rack, bought whole
  });
});

describe('four-tier fabrics in the bill of materials', () => {
  it('131,072 H100 on NDR (64 ports): four tiers, super-cores counted in switches, optics, power and cost', () => {
    const f = ok(
      factory(
        '{ accelerator: h100-sxm, gpuCount: 131072, scaleOut: { fabric: ndr-ib } }',
        '{ cooling: direct-liquid }',
        '{ tp: 8, pp: 1, dp: 16384, recomputation: full }',
        16384,
      ),
    );
    const fabric = f.fabric;
    expect(fabric.tiers).toBe(4);
    expect([fabric.leaves, fabric.spines, fabric.cores, fabric.superCores]).toEqual([4096, 4096, 4096, 2048]);
    expect(fabric.switches).toBe(14336);
    // A transceiver at both ends of every link: host links and three tiers of switch-to-switch links.
    expect(fabric.transceivers).toBe(2 * 131072 + 2 * 3 * 131072);
    // Network power: 750 W per switch (assumed) plus optics, 8 + 8.5 W per host link, 2 × 8.5 W per switch link.
    const opticsW = 131072 * (8 + 8.5) + 3 * 131072 * 2 * 8.5;
    expect(f.powerKW.network).toBeCloseTo((14336 * 750 + opticsW) / 1000, 6);
    for (const value of [
      f.powerKW.it,
      f.powerKW.facility,
      f.costUSD.capex,
      f.costUSD.run,
      f.kpis.usdPerMillionTokens,
    ]) {
      expect(Number.isFinite(value)).toBe(true);
      expect(value).toBeGreaterThan(0);
    }
  });

  it.each([['ndr-ib'], ['xdr-ib'], ['spectrum-x'], ['tomahawk5-ethernet']])(
    '1,048,576 B200 on %s: a full factory on four tiers',
    (fabricId) => {
      const f = ok(
        factory(
          `{ accelerator: b200, gpuCount: 1048576, scaleOut: { fabric: ${fabricId} } }`,
          '{ cooling: direct-liquid }',
          '{ tp: 8, pp: 1, dp: 131072, recomputation: full }',
          131072,
        ),
      );
      expect(f.fabric.tiers).toBe(4);
      const counts = [f.fabric.leaves, f.fabric.spines, f.fabric.cores, f.fabric.superCores, f.fabric.transceivers];
      for (const value of [...counts, f.powerKW.network, f.powerKW.facility, f.costUSD.capex, f.costUSD.perHour]) {
        expect(Number.isFinite(value)).toBe(true);
        expect(value).toBeGreaterThan(0);
      }
    },
  );

  it("uses a fabric's published switch power where the catalog has one (Tomahawk 5: 913 W)", () => {
    const f = ok(
      factory(
        '{ accelerator: h100-sxm, gpuCount: 1024, scaleOut: { fabric: tomahawk5-ethernet } }',
        '{ cooling: air }',
        '{ tp: 8, pp: 1, dp: 128, recomputation: full }',
        1024,
      ),
    );
    const opticsW = f.fabric.hostLinks * (8 + 8.5) + f.fabric.switchLinks * 2 * 8.5;
    expect(f.fabric.radix).toBe(128);
    expect(f.powerKW.network).toBeCloseTo((f.fabric.switches * 913 + opticsW) / 1000, 6);
  });
});
