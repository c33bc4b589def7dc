/**
 * scripts/mitigation-study.ts: the GPU counts the Llama 3 plan lays out (whole replicas of TP × PP × CP on whole
 * hosts), the phase of a prediction's lead in the checkpoint cycle and the sweep's leads spread over one cycle,
 * and the committed results (docs/results/mitigation-study.json) hold together: every size studied over the whole
 * window (its tokens take longer than the window), the gain by cause summing to the gain.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import {
  approxStandardError,
  DEFAULT_GPUS,
  LEAD_SWEEP_STEPS,
  layoutAt,
  leadPhase,
  leadsOverCycle,
  parseGpuList,
} from '../scripts/mitigation-study.js';
import { ETTR_CAUSES } from '../src/twin/run.js';

const LLAMA = { tp: 8, pp: 16, cp: 1, gpusPerNode: 8, sequencesPerReplica: 16, tokensPerReplica: 15.6e12 / 128 };

describe('layoutAt', () => {
  it('scales data parallelism and the batch with the GPUs (Llama 3: 16,384 GPUs is DP 128, 2,048 sequences)', () => {
    expect(layoutAt(16_384, LLAMA)).toEqual({
      gpus: 16_384,
      hosts: 2048,
      dp: 128,
      globalBatchSequences: 2048,
      totalTokens: 15.6e12,
    });
    expect(layoutAt(98_304, LLAMA)).toMatchObject({ hosts: 12_288, dp: 768, globalBatchSequences: 12_288 });
    expect(layoutAt(98_304, LLAMA).totalTokens).toBeCloseTo(93.6e12, -3);
    expect(DEFAULT_GPUS.map((gpus) => layoutAt(gpus, LLAMA).dp)).toEqual([8, 32, 128, 512, 768]);
  });

  it('refuses a count that is not whole replicas, naming the nearest valid counts', () => {
    expect(() => layoutAt(100_000, LLAMA)).toThrow(
      'not a multiple of TP 8 × PP 16 × CP 1 = 128: nearest 99968 or 100096',
    );
    expect(() => layoutAt(64, LLAMA)).toThrow('nearest 128');
    expect(() => layoutAt(0, LLAMA)).toThrow('positive integer');
    expect(() => layoutAt(1024, { ...LLAMA, tp: 2, pp: 2 })).toThrow('does not fill hosts of 8');
  });

  it('parses the --gpus list', () => {
    expect(parseGpuList('1024, 4096')).toEqual([1024, 4096]);
    expect(() => parseGpuList('1k')).toThrow('"1k" is not a positive integer');
  });
});

describe('the lead of a prediction in the checkpoint cycle', () => {
  it('is the lead modulo interval + write, as a share of it', () => {
    expect(leadPhase(600, 250, 50)).toBeCloseTo(0, 12);
    expect(leadPhase(450, 250, 50)).toBeCloseTo(0.5, 12);
    expect(leadPhase(60, 250, 50)).toBeCloseTo(0.2, 12);
  });

  it('the sweep spreads its leads evenly over one cycle, centred on the lead', () => {
    const cycle = 253.2;
    const leads = leadsOverCycle(600, cycle, LEAD_SWEEP_STEPS);
    expect(leads).toHaveLength(LEAD_SWEEP_STEPS);
    expect(leads.reduce((a, b) => a + b, 0) / leads.length).toBeCloseTo(600, 9);
    const phases = leads.map((lead) => leadPhase(lead, cycle, 0)).sort((a, b) => a - b);
    // One phase in each 1/steps of the cycle, at equal spacing.
    for (const [k, phase] of phases.entries()) expect(Math.floor(phase * LEAD_SWEEP_STEPS)).toBe(k);
    for (let k = 1; k < phases.length; k++) {
      expect((phases[k] as number) - (phases[k - 1] as number)).toBeCloseTo(1 / LEAD_SWEEP_STEPS, 9);
    }
    expect(() => leadsOverCycle(100, cycle, 8)).toThrow('shorter than half');
  });

  it('the standard error from P10 and P90 is a normal σ over √n', () => {
    expect(approxStandardError(-1.2815515655446004, 1.2815515655446004, 100)).toBeCloseTo(0.1, 12);
  });
});

describe('docs/results/mitigation-study.json', () => {
  const results = JSON.parse(readFileSync('docs/results/mitigation-study.json', 'utf8'));

  it('studies every default size with each policy over the whole window, and the gain by cause sums to the gain', () => {
    expect(results.sizes.map((s: { gpus: number }) => s.gpus)).toEqual([...DEFAULT_GPUS]);
    for (const size of results.sizes) {
      expect(size.design.idealDays).toBeGreaterThan(results.days);
      for (const name of ['example', 'detectors', 'lemonsOnly']) {
        const c = size.policies[name];
        expect(c.replicas, `${size.gpus} ${name}`).toBe(results.replicas);
        const byCause = ETTR_CAUSES.reduce((sum, cause) => sum + c.ettrGainByCause[cause], 0);
        expect(byCause).toBeCloseTo(c.ettrGain.mean, 12);
      }
    }
  });
});
