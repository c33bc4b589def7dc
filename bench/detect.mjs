/**
 * Benchmark of the detectors at fleet scale (compiled code under plain node; `npm run bench:detect` builds first),
 * for the acceptance of issue 13: detectors keep up with 100k GPUs at a 15 s scrape interval on one core.
 *   1. Per-GPU scrapes: {@link GPUS} GPUs ({@link HOSTS} hosts × {@link GPUS_PER_HOST}), {@link SCRAPES} scrapes
 *      {@link SCRAPE_SECONDS} s apart, into the SM-clock and temperature straggler detectors (gpuSignalDetector,
 *      one Float64Array per scrape) and the failure-risk detector (per GPU per scrape: the XID gauge, five error
 *      counters, the temperature): 9 samples per GPU per scrape. SM clocks near 1980 MHz with a few throttled GPUs,
 *      temperatures near 65 °C with a few hot ones, counters mostly flat with rare increments and a few injected
 *      bursts, XID mostly 0 with a few injected codes.
 *   2. Per-rank section times: {@link RANKS} ranks, an iteration every {@link ITERATION_SECONDS} s, into
 *      RankStragglerDetector, with a few slow ranks; and StepTimeDetector over {@link STEPS} steps of one job.
 * Each part runs in a fresh child process, so its peak RSS is its own. Inputs are built before the timing (one
 * typed array per scrape or iteration); the timing is the detector calls only, per detector, with process.cpuUsage
 * (per core: samples per CPU-second of the process, GC threads included). The first {@link WARM_UP_SCRAPES} scrapes
 * (or {@link WARM_UP_ITERATIONS} iterations: JIT, the detectors' maps and windows filling) are reported apart as
 * `warmUp`; the steady figures are over the rest. Headroom: the interval over the CPU-seconds per scrape (or
 * iteration); ≥ 1 keeps up on one core. The detections on the injected faults are counted, so that the bench does
 * not time a no-op.
 * Writes bench/results/detect-<date>.json; the figures of the results file it replaces, or that file's own
 * `before` block, are kept as `before`, so one file holds the figures before and after a change.
 */

import { execFileSync } from 'node:child_process';
import { mkdir } from 'node:fs/promises';
import os from 'node:os';
import { join } from 'node:path';
import { FailureRiskDetector } from '../dist/detect/failure-risk.js';
import { StepTimeDetector } from '../dist/detect/step-time.js';
import { gpuSignalDetector, RankStragglerDetector } from '../dist/detect/stragglers.js';
import { writeFileAtomic } from '../dist/node/files.js';
import { mulberry32 } from '../dist/util/random.js';
import { previousFigures } from './previous.mjs';

const HOSTS = 12_500;
const GPUS_PER_HOST = 8;
const GPUS = HOSTS * GPUS_PER_HOST;
const SCRAPE_SECONDS = 15;
/** 10 minutes of fleet time: the straggler windows fill and report many times. */
const SCRAPES = 40;
const WARM_UP_SCRAPES = 4;
const RANKS = 100_000;
const ITERATION_SECONDS = 6;
const ITERATIONS = 100;
const WARM_UP_ITERATIONS = 10;
const STEPS = 100_000;
const START_SECONDS = Date.UTC(2026, 0, 1) / 1000;
const COUNTER_KINDS = ['row-remap', 'pcie-replay', 'nvlink-error', 'ecc-sbe', 'ecc-dbe'];
/** Samples per GPU per scrape: SM clock and temperature (stragglers), XID, five counters, temperature (risk). */
const SAMPLES_PER_GPU = 2 + 1 + COUNTER_KINDS.length + 1;
/** Faults are injected from this scrape (iteration) on, after the windows have filled. */
const FAULT_SCRAPE = 10;
const FAULT_ITERATION = 30;
/**
 * Chance of a counter increment per GPU and scrape (background errors), by counter: none for uncorrectable ECC (a
 * fatal event that flags its host alone, injected only), rarer remaps than correctable errors and replays.
 */
const BACKGROUND_RATES = [2e-6, 2e-5, 2e-5, 2e-5, 0];

/** A standard normal generator (Box–Muller) over a seeded uniform. */
function normal(seed) {
  const u = mulberry32(seed);
  return () => Math.sqrt(-2 * Math.log(1 - u())) * Math.cos(2 * Math.PI * u());
}

/** `count` distinct indices spread over [0, n), from an offset (a prime stride). */
const spread = (count, n, offset) => Array.from({ length: count }, (_, k) => (offset + k * 7_919) % n);

const cpuSeconds = (used) => (used.user + used.system) / 1e6;
const round = (x, digits = 3) => Number(x.toFixed(digits));
const mib = (bytes) => Math.round(bytes / 2 ** 20);

/** Per-interval CPU-seconds of a detector → its figures (warm-up apart, steady over the rest). */
function figures(cpu, wall, samplesPerInterval, warmUp, interval) {
  const steady = cpu.slice(warmUp);
  const steadySeconds = steady.reduce((a, b) => a + b, 0);
  const warmSeconds = cpu.slice(0, warmUp).reduce((a, b) => a + b, 0);
  const perInterval = steadySeconds / steady.length;
  const worst = Math.max(...steady);
  return {
    samplesPerInterval,
    intervals: steady.length,
    cpuSeconds: round(steadySeconds),
    wallSeconds: round(wall.slice(warmUp).reduce((a, b) => a + b, 0)),
    samplesPerCpuSecond: Math.round((samplesPerInterval * steady.length) / steadySeconds),
    cpuSecondsPerInterval: round(perInterval, 5),
    worstCpuSecondsPerInterval: round(worst, 5),
    headroom: round(interval / perInterval, 1),
    worstHeadroom: round(interval / worst, 1),
    warmUp: {
      intervals: warmUp,
      cpuSeconds: round(warmSeconds),
      firstIntervalCpuSeconds: round(cpu[0], 4),
      samplesPerCpuSecond: Math.round((samplesPerInterval * warmUp) / warmSeconds),
    },
  };
}

/** Runs `f` and adds its CPU and wall seconds to `cpu[i]` and `wall[i]`. */
function timed(cpu, wall, i, f) {
  const start = performance.now();
  const before = process.cpuUsage();
  f();
  const used = process.cpuUsage(before);
  wall[i] = (performance.now() - start) / 1000;
  cpu[i] = cpuSeconds(used);
}

/** Peak memory figures, sampled by `sample()` between the timed calls (the timed loops are synchronous). */
function memoryMeter() {
  let heapPeak = 0;
  return {
    sample() {
      heapPeak = Math.max(heapPeak, process.memoryUsage().heapUsed);
    },
    /** `inputs` is kept alive through the GC, so that the retained figures are the detectors' own. */
    figures(baseline, inputs) {
      globalThis.gc?.();
      const usage = process.memoryUsage();
      return {
        inputIntervals: inputs.length,
        rssAfterInputsMiB: mib(baseline.rss),
        inputsMiB: mib(baseline.arrayBuffers),
        peakRssMiB: Math.round(process.resourceUsage().maxRSS / 1024),
        peakHeapMiB: mib(heapPeak),
        heapRetainedByDetectorsMiB: mib(usage.heapUsed - baseline.heapUsed),
        arrayBuffersRetainedByDetectorsMiB: mib(usage.arrayBuffers - baseline.arrayBuffers),
      };
    },
  };
}

/** Part 1: the fleet's scrapes into the per-GPU straggler detectors and the failure-risk detector. */
function gpuChild() {
  const hostNames = Array.from({ length: HOSTS }, (_, h) => `host-${String(h).padStart(5, '0')}`);
  const gpus = Array.from({ length: GPUS }, (_, i) => {
    const host = hostNames[Math.floor(i / GPUS_PER_HOST)];
    return { host, gpu: `${host}/${i % GPUS_PER_HOST}` };
  });
  const gpuNames = gpus.map((g) => g.gpu);
  // Injected faults: throttled SM clocks (10–20 % low), hot GPUs (some above the 87 °C excursion), error bursts.
  const throttled = spread(16, GPUS, 1_234);
  const hot = spread(8, GPUS, 50_001);
  const veryHot = spread(8, GPUS, 75_003);
  const dbeGpus = spread(4, GPUS, 20_011);
  const remapGpus = spread(4, GPUS, 30_013);
  const fatalXidGpus = spread(4, GPUS, 40_017);
  const applicationXidGpus = spread(16, GPUS, 60_029);
  const n = normal(1);
  const u = mulberry32(2);
  const clockOf = new Float64Array(GPUS).fill(1);
  for (const [k, i] of throttled.entries()) clockOf[i] = 0.8 + (0.1 * k) / throttled.length;
  const tempOf = new Float64Array(GPUS);
  for (const i of hot) tempOf[i] = 82;
  for (const i of veryHot) tempOf[i] = 90;
  const baseTemp = Float64Array.from({ length: GPUS }, () => 63 + 4 * u());
  const scrapes = [];
  let counters = COUNTER_KINDS.map(() => Float64Array.from({ length: GPUS }, () => Math.floor(50 * u())));
  for (let s = 0; s < SCRAPES; s++) {
    const faulty = s >= FAULT_SCRAPE;
    const smClock = new Float64Array(GPUS);
    const temperature = new Float64Array(GPUS);
    const xid = new Float64Array(GPUS);
    counters = counters.map((c) => c.slice());
    for (let i = 0; i < GPUS; i++) {
      smClock[i] = Math.round((1980 + 4 * n()) * (faulty ? clockOf[i] : 1));
      temperature[i] = Math.round(faulty && tempOf[i] > 0 ? tempOf[i] + n() : baseTemp[i] + n());
      for (const [k, c] of counters.entries()) if (u() < BACKGROUND_RATES[k]) c[i] += 1;
    }
    if (faulty) {
      for (const i of fatalXidGpus) xid[i] = 79;
      for (const i of applicationXidGpus) xid[i] = 13;
      if (s === FAULT_SCRAPE + 2) for (const i of dbeGpus) counters[4][i] += 1;
      if (s >= FAULT_SCRAPE + 3 && s < FAULT_SCRAPE + 6) for (const i of remapGpus) counters[0][i] += 1;
    }
    scrapes.push({ time: START_SECONDS + s * SCRAPE_SECONDS, smClock, temperature, xid, counters });
  }
  globalThis.gc?.();
  const baseline = process.memoryUsage();
  const memory = memoryMeter();

  const clock = gpuSignalDetector(gpus, 'smClock');
  const heat = gpuSignalDetector(gpus, 'temperature');
  const risk = new FailureRiskDetector();
  const cpu = { smClock: [], temperature: [], failureRisk: [], total: [] };
  const wall = { smClock: [], temperature: [], failureRisk: [], total: [] };
  for (const [s, { time, smClock, temperature, xid, counters: values }] of scrapes.entries()) {
    timed(cpu.smClock, wall.smClock, s, () => clock.pushIteration(time, smClock));
    timed(cpu.temperature, wall.temperature, s, () => heat.pushIteration(time, temperature));
    timed(cpu.failureRisk, wall.failureRisk, s, () => {
      for (let i = 0; i < GPUS; i++) {
        const host = hostNames[Math.floor(i / GPUS_PER_HOST)];
        const gpu = gpuNames[i];
        risk.xidGauge(host, gpu, time, xid[i]);
        for (let k = 0; k < COUNTER_KINDS.length; k++) risk.counter(host, gpu, COUNTER_KINDS[k], time, values[k][i]);
        risk.temperature(host, gpu, time, temperature[i]);
      }
    });
    cpu.total[s] = cpu.smClock[s] + cpu.temperature[s] + cpu.failureRisk[s];
    wall.total[s] = wall.smClock[s] + wall.temperature[s] + wall.failureRisk[s];
    memory.sample();
  }

  const hits = (detector, injected) => {
    const names = new Set(injected.map((i) => gpuNames[i]));
    const found = detector.detections.filter((d) => names.has(d.gpu)).length;
    return { detections: detector.detections.length, injected: injected.length, injectedFound: found };
  };
  // A hot GPU is one thermal excursion (counted once on the way up), not a failure risk on its own: the hosts
  // injected for the risk detector are those with error events.
  const riskHosts = new Set(
    [...dbeGpus, ...remapGpus, ...fatalXidGpus].map((i) => hostNames[Math.floor(i / GPUS_PER_HOST)]),
  );
  const detectedHosts = new Set(risk.detections.map((d) => d.host));
  const samplesOf = { smClock: 1, temperature: 1, failureRisk: SAMPLES_PER_GPU - 2, total: SAMPLES_PER_GPU };
  const perScrape = (name) => figures(cpu[name], wall[name], GPUS * samplesOf[name], WARM_UP_SCRAPES, SCRAPE_SECONDS);
  if (clock.detections.length === 0 || heat.detections.length === 0 || risk.detections.length === 0) {
    throw new Error('a detector found nothing on the injected faults: the bench would time a no-op');
  }
  return {
    gpus: GPUS,
    hosts: HOSTS,
    scrapes: SCRAPES,
    scrapeSeconds: SCRAPE_SECONDS,
    samplesPerGpuPerScrape: SAMPLES_PER_GPU,
    samples: GPUS * SAMPLES_PER_GPU * SCRAPES,
    smClock: { ...perScrape('smClock'), ...hits(clock, throttled), reports: clock.reports },
    temperature: { ...perScrape('temperature'), ...hits(heat, [...hot, ...veryHot]), reports: heat.reports },
    failureRisk: {
      ...perScrape('failureRisk'),
      detections: risk.detections.length,
      injectedHosts: riskHosts.size,
      injectedHostsFound: [...riskHosts].filter((h) => detectedHosts.has(h)).length,
      otherHostsFlagged: [...detectedHosts].filter((h) => !riskHosts.has(h)).length,
    },
    total: perScrape('total'),
    memory: memory.figures(baseline, scrapes),
  };
}

/** Part 2: per-rank section times into RankStragglerDetector; a job's steps into StepTimeDetector. */
function rankChild() {
  const n = normal(3);
  const slow = spread(16, RANKS, 4_321);
  const slowOf = new Float64Array(RANKS).fill(1);
  for (const [k, r] of slow.entries()) slowOf[r] = 1.1 + (0.2 * k) / slow.length;
  const iterations = [];
  for (let t = 0; t < ITERATIONS; t++) {
    // What all ranks share this iteration (the data, the step), then each rank's own noise.
    const shared = 5.2 * (1 + 0.02 * n());
    const sections = new Float64Array(RANKS);
    for (let r = 0; r < RANKS; r++) {
      sections[r] = shared * (1 + 0.01 * n()) * (t >= FAULT_ITERATION ? slowOf[r] : 1);
    }
    iterations.push({ time: START_SECONDS + (t + 1) * ITERATION_SECONDS, sections });
  }
  // One job's step times: 6 s with 1 % noise, a 3× stall every 10,000 steps, a 20 % slowdown over the last quarter.
  const steps = Array.from({ length: STEPS }, (_, step) => ({
    step,
    time: START_SECONDS + step * ITERATION_SECONDS,
    seconds: 6 * (1 + 0.01 * n()) * (step % 10_000 === 5_000 ? 3 : 1) * (step >= 0.75 * STEPS ? 1.2 : 1),
  }));
  globalThis.gc?.();
  const baseline = process.memoryUsage();
  const memory = memoryMeter();

  const detector = new RankStragglerDetector(RANKS);
  const cpu = [];
  const wall = [];
  for (const [t, { time, sections }] of iterations.entries()) {
    timed(cpu, wall, t, () => detector.pushIteration(time, sections));
    memory.sample();
  }
  const stepDetector = new StepTimeDetector();
  const stepCpu = [];
  const stepWall = [];
  const warmSteps = 1_000;
  timed(stepCpu, stepWall, 0, () => {
    for (let i = 0; i < warmSteps; i++) stepDetector.push(steps[i]);
  });
  timed(stepCpu, stepWall, 1, () => {
    for (let i = warmSteps; i < STEPS; i++) stepDetector.push(steps[i]);
  });
  memory.sample();
  const slowRanks = new Set(slow);
  if (detector.detections.length === 0 || stepDetector.detections.length === 0) {
    throw new Error('a detector found nothing on the injected faults: the bench would time a no-op');
  }
  const stepSeconds = stepCpu[1] / (STEPS - warmSteps);
  return {
    ranks: RANKS,
    iterations: ITERATIONS,
    iterationSeconds: ITERATION_SECONDS,
    rankStraggler: {
      ...figures(cpu, wall, RANKS, WARM_UP_ITERATIONS, ITERATION_SECONDS),
      reports: detector.reports,
      detections: detector.detections.length,
      injected: slow.length,
      injectedFound: detector.detections.filter((d) => slowRanks.has(d.rank)).length,
    },
    stepTime: {
      steps: STEPS,
      warmUpSteps: warmSteps,
      cpuSeconds: round(stepCpu[1]),
      stepsPerCpuSecond: Math.round((STEPS - warmSteps) / stepCpu[1]),
      cpuMicrosecondsPerStep: round(stepSeconds * 1e6, 2),
      headroom: Math.round(ITERATION_SECONDS / stepSeconds),
      stalls: stepDetector.stalls.detections.length,
      failSlow: stepDetector.failSlow.detections.length,
      injectedStalls: Math.ceil(STEPS / 10_000),
    },
    memory: memory.figures(baseline, iterations),
  };
}

if (process.argv[2] === '--child') {
  console.log(JSON.stringify(process.argv[3] === 'gpus' ? gpuChild() : rankChild()));
} else {
  const run = (part) => {
    const out = execFileSync(process.execPath, ['--expose-gc', import.meta.filename, '--child', part], {
      encoding: 'utf8',
      maxBuffer: 2 ** 24,
    });
    return JSON.parse(out.trim().split('\n').pop());
  };
  const gpus = run('gpus');
  const ranks = run('ranks');
  const directory = join(import.meta.dirname, 'results');
  const before = previousFigures(directory, 'detect');
  const result = {
    benchmark: `detect: ${GPUS.toLocaleString('en')} GPUs at a ${SCRAPE_SECONDS} s scrape, ${RANKS.toLocaleString('en')} ranks at a ${ITERATION_SECONDS} s iteration, one core`,
    cpus: os.cpus().length,
    loadAverage: os.loadavg().map((x) => Number(x.toFixed(2))),
    date: new Date().toISOString(),
    node: process.version,
    target:
      'detectors keep up with 100k GPUs at a 15 s scrape interval on one core (issue 13): headroom = interval / CPU-seconds per interval ≥ 1',
    measured: `detector calls only (inputs built before), CPU-seconds of the process (process.cpuUsage); steady over the scrapes after the first ${WARM_UP_SCRAPES} (iterations after the first ${WARM_UP_ITERATIONS}), which are reported as warmUp (JIT, the detectors' state filling)`,
    gpus,
    ranks,
    ...(before !== undefined && { before }),
  };
  await mkdir(directory, { recursive: true });
  const path = join(directory, `detect-${result.date.slice(0, 10)}.json`);
  await writeFileAtomic(path, `${JSON.stringify(result, null, 2)}\n`);
  console.log(JSON.stringify(result, null, 2));
  const line = (name, x) =>
    `${name.padEnd(14)} ${(x.samplesPerCpuSecond / 1e6).toFixed(2)}M samples/cpu-s, ${(x.cpuSecondsPerInterval * 1000).toFixed(1)} ms CPU per interval (worst ${(x.worstCpuSecondsPerInterval * 1000).toFixed(1)} ms), headroom ${x.headroom}× (worst ${x.worstHeadroom}×)`;
  console.log(
    `${GPUS} GPUs, ${SCRAPES} scrapes of ${SCRAPE_SECONDS} s (${SAMPLES_PER_GPU} samples per GPU per scrape):`,
  );
  for (const name of ['smClock', 'temperature', 'failureRisk', 'total']) console.log(`  ${line(name, gpus[name])}`);
  console.log(
    `  detections: SM clock ${gpus.smClock.detections} (${gpus.smClock.injectedFound}/${gpus.smClock.injected} throttled GPUs), temperature ${gpus.temperature.detections} (${gpus.temperature.injectedFound}/${gpus.temperature.injected} hot GPUs), failure risk ${gpus.failureRisk.detections} (${gpus.failureRisk.injectedHostsFound}/${gpus.failureRisk.injectedHosts} injected hosts, ${gpus.failureRisk.otherHostsFlagged} others)`,
  );
  console.log(
    `  memory: peak RSS ${gpus.memory.peakRssMiB} MiB (${gpus.memory.rssAfterInputsMiB} after the inputs, ${gpus.memory.inputsMiB} MiB of them), heap peak ${gpus.memory.peakHeapMiB} MiB, held by the detectors ${gpus.memory.heapRetainedByDetectorsMiB} MiB heap + ${gpus.memory.arrayBuffersRetainedByDetectorsMiB} MiB buffers`,
  );
  console.log(`${RANKS} ranks, ${ITERATIONS} iterations of ${ITERATION_SECONDS} s:`);
  console.log(`  ${line('rankStraggler', ranks.rankStraggler)}`);
  console.log(
    `  detections: ${ranks.rankStraggler.detections} (${ranks.rankStraggler.injectedFound}/${ranks.rankStraggler.injected} slow ranks); step time ${ranks.stepTime.cpuMicrosecondsPerStep} µs CPU per step (${ranks.stepTime.stalls} stalls of ${ranks.stepTime.injectedStalls} injected, ${ranks.stepTime.failSlow} fail-slow)`,
  );
  console.log(
    `  memory: peak RSS ${ranks.memory.peakRssMiB} MiB (${ranks.memory.rssAfterInputsMiB} after the inputs), heap peak ${ranks.memory.peakHeapMiB} MiB`,
  );
  console.log(`wrote ${path}`);
}
