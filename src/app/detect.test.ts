import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import type { Detection } from '../detect/types.js';
import { loadSpec } from '../spec/load.js';
import type { StragglerReport } from '../telemetry/megatron-straggler.js';
import { twinConfig } from '../twin/setup.js';
import { designOf } from './design.js';
import {
  GpuDetectors,
  LOCALISE_SECONDS,
  localise,
  MEGATRON_PERSISTENCE,
  megatronStragglers,
  runDetect,
} from './detect.js';
import { createInlineRunner } from './inline-runner.js';

const failSlow: Detection = {
  kind: 'fail-slow',
  time: 1000,
  step: 500,
  score: 1.3,
  threshold: 1.1,
  severity: 'warning',
  evidence: 'step time rose 30 %',
  signals: { shift: 0.3 },
};
const gpu = (time: number, host: string): Detection => ({
  kind: 'straggler',
  time,
  host,
  gpu: `${host}/GPU-0`,
  score: 0.7,
  threshold: 0.95,
  severity: 'critical',
  evidence: 'SM clock 30 % below',
});

describe('observe --detect helpers', () => {
  it('ties a fail-slow change to the host flagged nearest in time within the bound, and only then', () => {
    const [near] = localise([failSlow], [gpu(1000 + LOCALISE_SECONDS + 1, 'far'), gpu(1060, 'node-3'), gpu(900, 'x')]);
    expect(near?.host).toBe('node-3');
    expect(near?.evidence).toMatch(/localised to node-3/);
    const [alone] = localise([failSlow], [gpu(1000 + LOCALISE_SECONDS + 1, 'far')]);
    expect(alone?.host).toBeUndefined();
    // With 10-minute scrapes the window is two of them: a GPU flagged 16 min after the change still names it.
    expect(localise([failSlow], [gpu(1000 + 960, 'node-7')], 600)[0]?.host).toBe('node-7');
    expect(localise([failSlow], [gpu(1000 + 1300, 'node-7')], 600)[0]?.host).toBeUndefined();
    const recovery = { ...failSlow, signals: { shift: -0.2 } };
    expect(localise([recovery], [gpu(1000, 'node-3')])[0]?.host).toBeUndefined();
  });

  it('flags the Megatron rank slowest in three straggler lines in a row, once', () => {
    const line = (n: number, max: number, maxRank: number): StragglerReport => ({
      line: n,
      time: n * 10,
      metrics: { Rtt: { min: 1000, minRank: 0, max, maxRank } },
    });
    // rank 5 is 20 % slower in lines 1–4, then rank 2 is slowest twice (not enough), then all even.
    const reports = [
      line(1, 1200, 5),
      line(2, 1210, 5),
      line(3, 1190, 5),
      line(4, 1220, 5),
      line(5, 1300, 2),
      line(6, 1300, 2),
      line(7, 1010, 2),
    ];
    const found = megatronStragglers(reports);
    expect(MEGATRON_PERSISTENCE).toBe(3);
    expect(found.map((d) => [d.rank, d.time])).toEqual([[5, 30]]);
    expect(found[0]?.score).toBeCloseTo(1000 / 1190, 12);
  });

  it('GpuDetectors flags a throttled GPU among 16 and a host whose GPU reports XID 79', () => {
    const d = new GpuDetectors();
    for (let s = 0; s < 8; s++) {
      for (let g = 0; g < 16; g++) {
        const host = `node-${g >> 3}`;
        d.push({
          time: s * 15,
          gpuKey: `g${g}`,
          hostname: host,
          field: 'DCGM_FI_DEV_SM_CLOCK',
          value: g === 9 && s >= 2 ? 1500 : 1980 + (g % 3),
        });
        d.push({
          time: s * 15,
          gpuKey: `g${g}`,
          hostname: host,
          field: 'DCGM_FI_DEV_XID_ERRORS',
          value: g === 1 && s === 4 ? 79 : 0,
        });
      }
    }
    d.flush();
    const kinds = d.detections.map((x) => [x.kind, x.gpu ?? x.host]);
    expect(kinds).toEqual(
      expect.arrayContaining([
        ['straggler', 'g9'],
        ['failure-risk', 'g1'],
      ]),
    );
    expect(d.detections).toHaveLength(2);
  });

  it('groups hosts scraped at their own moments into one scrape', () => {
    const d = new GpuDetectors();
    for (let s = 0; s < 8; s++) {
      for (let h = 0; h < 4; h++) {
        for (let g = 0; g < 8; g++) {
          const time = s * 15 + h * 0.2;
          const value = h === 2 && g === 4 && s >= 2 ? 1500 : 1980 + (g % 3);
          d.push({ time, gpuKey: `h${h}g${g}`, hostname: `node-${h}`, field: 'DCGM_FI_DEV_SM_CLOCK', value });
        }
      }
    }
    d.flush();
    expect(d.lateGpus).toBe(0);
    expect(d.detections.map((x) => x.gpu)).toEqual(['h2g4']);
  });

  it("proposes Young's interval √(2 δ M) for the observed restarts, with the twin's gain at that rate", async () => {
    const loaded = loadSpec(
      readFileSync(fileURLToPath(new URL('../../examples/llama3-405b-54d.yaml', import.meta.url)), 'utf8'),
      'yaml',
    );
    if (!loaded.ok) throw new Error(JSON.stringify(loaded.issues));
    const spec = loaded.value;
    // 4 restarts in 100 h: one every 25 h, far less often than the plan's census rate (Young's interval then
    // lengthens well past the planned one).
    const result = await runDetect(
      { spec, steps: [], observed: { restarts: 4, hours: 100 }, replicas: 2, seed: 1 },
      { runner: createInlineRunner() },
    );
    if (!result.ok) throw new Error(JSON.stringify(result.issues));
    const action = result.value.actions.find((a) => a.kind === 'set-checkpoint-interval');
    const design = await designOf(spec, createInlineRunner());
    if (!design.ok) throw new Error('design');
    const planned = twinConfig(design.value, spec.twin);
    if (!planned.ok) throw new Error('twin');
    const delta = planned.value.checkpoint.stallSeconds;
    expect(action?.parameters?.mtbfSeconds).toBe(25 * 3600);
    expect(action?.parameters?.intervalSeconds).toBeCloseTo(Math.sqrt(2 * delta * 25 * 3600), 9);
    expect(action?.expectedGain?.basis).toMatch(/Young's interval at the observed failure rate/);
    expect(Number.isFinite(action?.expectedGain?.ettrWith)).toBe(true);
  });
});
