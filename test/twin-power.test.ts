/**
 * The twin's power model against closed forms (the Fourier series of a rectangular wave, Parseval, the mean of the
 * cooling-lagged facility power) and against the measured H100 trace (../shared/data/telemetry/
 * h100-power-2026-11-25.csv: the training-step benchmark's busy blocks and the dips between them).
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { TRAINING_POWER_SHARE } from '../src/catalog/costs.js';
import { GPU_IDLE_POWER_SHARE } from '../src/catalog/reliability.js';
import {
  COMM_POWER_SHARE,
  facilityGain,
  PowerMeter,
  type PowerPhase,
  type PowerSettings,
  phaseHarmonic,
  phaseVariance,
  rectangularHarmonic,
  stepSpectrum,
} from '../src/twin/power.js';

const pulse = (heightMW: number, duty: number, period = 10): PowerPhase[] => [
  { name: 'compute', seconds: duty * period, mw: heightMW },
  { name: 'waiting', seconds: (1 - duty) * period, mw: 0 },
];

const settings = (over: Partial<PowerSettings> = {}): PowerSettings => ({
  pue: 1.5,
  runningMW: 30,
  idleMW: 15,
  stepSwingMW: 0,
  stepHz: 0.1,
  gpuRunningW: 0,
  phases: [],
  spectrum: { harmonics: [], varianceMW2: 0, bandShare: 0 },
  coolingTimeConstantSeconds: 300,
  ...over,
});

describe('step swing spectrum', () => {
  it('gives a rectangular wave the closed form a_k = 2A·sin(πkd)/(πk)', () => {
    for (const duty of [0.1, 0.3, 0.44, 0.7]) {
      for (let k = 1; k <= 12; k++) {
        expect(phaseHarmonic(pulse(8, duty), k)).toBeCloseTo(rectangularHarmonic(8, duty, k), 10);
      }
    }
    // Shifting the pattern in time changes phases, not amplitudes.
    const shifted: PowerPhase[] = [
      { name: 'waiting', seconds: 3.5, mw: 0 },
      { name: 'compute', seconds: 3, mw: 8 },
      { name: 'waiting', seconds: 3.5, mw: 0 },
    ];
    expect(phaseHarmonic(shifted, 3)).toBeCloseTo(rectangularHarmonic(8, 0.3, 3), 10);
  });

  it('sums its squared harmonics / 2 to the waveform variance (Parseval), with the tail bounded', () => {
    const A = 12;
    for (const duty of [0.2, 0.44, 0.5]) {
      const variance = phaseVariance(pulse(A, duty));
      expect(variance).toBeCloseTo(A * A * duty * (1 - duty), 10);
      const K = 20_000;
      let sum = 0;
      for (let k = 1; k <= K; k++) sum += rectangularHarmonic(A, duty, k) ** 2 / 2;
      // Σ_{k>K} 2A²sin²(πkd)/(π²k²) ≤ 2A²/(π²K).
      expect(sum).toBeLessThanOrEqual(variance + 1e-9);
      expect(variance - sum).toBeLessThanOrEqual((2 * A * A) / (Math.PI * Math.PI * K));
    }
    // Three levels (compute, communication, waiting): the general series, Parseval the same way.
    const three: PowerPhase[] = [
      { name: 'compute', seconds: 4.4, mw: 10 },
      { name: 'communication', seconds: 0.7, mw: 4 },
      { name: 'waiting', seconds: 4.8, mw: 2 },
    ];
    let sum = 0;
    for (let k = 1; k <= 20_000; k++) sum += phaseHarmonic(three, k) ** 2 / 2;
    expect(sum / phaseVariance(three)).toBeGreaterThan(0.9999);
    expect(sum / phaseVariance(three)).toBeLessThanOrEqual(1 + 1e-9);
  });

  it('has no even harmonics at duty 0.5, and the odd ones fall as 1/k', () => {
    for (let k = 2; k <= 40; k += 2) expect(phaseHarmonic(pulse(5, 0.5), k)).toBeLessThan(1e-12);
    for (let k = 1; k <= 39; k += 2) expect(phaseHarmonic(pulse(5, 0.5), k)).toBeCloseTo((2 * 5) / (Math.PI * k), 12);
    const top = stepSpectrum(pulse(5, 0.5), 1, 0).harmonics.map((h) => h.k);
    expect(top).toEqual([1, 3, 5, 7, 9]);
  });

  it('passes the IT swing through and filters the cooling overhead (first-order lag)', () => {
    expect(facilityGain(0, 1.5, 300)).toBeCloseTo(1.5, 12); // a steady load carries the whole overhead
    expect(facilityGain(0.1, 1.5, 0)).toBeCloseTo(1.5, 12); // no lag: PUE × instantaneous, the old model
    expect(facilityGain(0.1, 1.5, 300)).toBeCloseTo(1, 4); // a 10-second swing: the IT swing alone
    const s = stepSpectrum(pulse(10, 0.44), 1.5, 300);
    expect(s.harmonics[0]?.hz).toBeCloseTo(0.1, 12);
    expect(s.harmonics[0]?.amplitudeMW).toBeCloseTo(rectangularHarmonic(10, 0.44, 1), 3);
    expect(s.varianceMW2).toBeCloseTo(100 * 0.44 * 0.56, 2);
  });
});

describe('facility power through the cooling lag', () => {
  it('averages to PUE × the mean IT load, the difference bounded by the lag at the ends', () => {
    const meter = new PowerMeter(settings());
    // 20 days of running hours broken by 3-second checkpoints and 10-minute restarts.
    let t = 0;
    let itEnergy = 0;
    const segment = (seconds: number, mw: number) => {
      meter.record(t, t + seconds, mw);
      itEnergy += (mw / 1.5) * seconds;
      t += seconds;
    };
    for (let i = 0; i < 2000; i++) {
      segment(250 + (i % 7) * 40, 30);
      segment(3, 15);
      if (i % 50 === 0) segment(600, 15);
    }
    const summary = meter.summary(t);
    const meanIt = itEnergy / t;
    // ∫ facility = PUE·∫IT − (PUE − 1)·τ·(s_end − s_0): at most (PUE − 1)·τ·(30 − 15)/1.5 over the run.
    const bound = (0.5 * 300 * (30 - 15)) / 1.5 / t;
    expect(Math.abs(summary.meanMW - 1.5 * meanIt)).toBeLessThanOrEqual(bound);
    // A 3-second dip drops the IT load and barely the overhead; a 10-minute restart lets it settle most of the way.
    expect(summary.peakMW).toBeCloseTo(30, 6);
    const afterRestart = 10 + 0.5 * (10 + (20 - 10) * Math.exp(-600 / 300));
    // (the overhead's state before it is a little under the running level: the 3-second dips before it)
    expect(Math.abs(summary.minimumMW - afterRestart)).toBeLessThan(0.05);
    expect(summary.dipMW).toBeCloseTo(10, 12);
  });

  it('with no lag is PUE × the instantaneous load (the model before)', () => {
    const meter = new PowerMeter(settings({ coolingTimeConstantSeconds: 0 }));
    meter.record(0, 100, 30);
    meter.record(100, 103, 15);
    meter.record(103, 200, 30);
    const s = meter.summary(200);
    expect(s.meanMW).toBeCloseTo((30 * 197 + 15 * 3) / 200, 12);
    expect(s.minimumMW).toBeCloseTo(15, 12);
    expect(s.dipMW).toBeCloseTo(15, 12);
  });
});

describe('levels against the measured H100 trace', () => {
  // nvidia-smi every 50 ms on one H100 SXM (700 W); the training-step benchmark runs at about 124.8-141 s (t).
  const rows = readFileSync('../shared/data/telemetry/h100-power-2026-11-25.csv', 'utf8')
    .trim()
    .split('\n')
    .slice(1)
    .map((line) => {
      const [t, , power, , , util] = line.split(',');
      return { t: Number(t), watts: Number(power), util: Number(util) };
    });
  const training = rows.filter((r) => r.t >= 124 && r.t < 141.3);

  it('reads the whole trace', () => {
    expect(rows).toHaveLength(3010);
    expect(training.length).toBeGreaterThan(300);
  });

  it('puts the training level within 3% of the busy blocks and the idle level within 5 W of their dips', () => {
    const tdp = 700;
    // Busy: the samples at ≥ 99% utilisation a second past each block's start and before its fall (nvidia-smi's power lags by about 1 s).
    const plateau = (i: number) => [-20, -10, 0, 3].every((d) => (training[i + d]?.util ?? 0) >= 99);
    const busy = training.filter((_r, i) => plateau(i)).map((r) => r.watts);
    const mean = busy.reduce((a, b) => a + b, 0) / busy.length;
    expect(mean).toBeGreaterThan(620); // measured 632 W
    expect(mean).toBeLessThan(645);
    expect(Math.abs(TRAINING_POWER_SHARE.value * tdp - mean) / mean).toBeLessThan(0.03);
    // Dips: the trace falls from a busy block to near idle three times (about 131.6, 136.3 and 140.9 s).
    const dips: number[] = [];
    let inDip = false;
    for (const r of training) {
      if (!inDip && r.watts < 200) {
        inDip = true;
        dips.push(r.watts);
      } else if (inDip && r.watts < 200) dips[dips.length - 1] = Math.min(dips[dips.length - 1] as number, r.watts);
      else if (r.watts > 500) inDip = false;
    }
    expect(dips.slice(1)).toHaveLength(3); // the first entry is the idle before the benchmark starts
    for (const low of dips.slice(1)) expect(Math.abs(low - GPU_IDLE_POWER_SHARE.value * tdp)).toBeLessThan(5);
    // The communication level sits between the two measured levels, a quarter of the way up.
    const comm =
      GPU_IDLE_POWER_SHARE.value * tdp +
      COMM_POWER_SHARE * (TRAINING_POWER_SHARE.value - GPU_IDLE_POWER_SHARE.value) * tdp;
    expect(comm).toBeCloseTo(244, 6);
  });
});
