/**
 * Benchmark of the observe side's ingest (compiled code under plain node; `npm run bench:observe` builds first):
 * Megatron-LM log files and dcgm-exporter scrape files of growing run length (1×, 4×, 16×, 32×) ingested from files into
 * a file-backed DuckDB store (src/node/duckdb-store.ts, one DuckDB thread), each size in a fresh child process so its
 * peak RSS is its own. A step line counts as one sample, a dcgm value as one sample; a log's `numericValuesPerCpuSecond`
 * counts the numbers its lines print instead (the iteration and the run's total, and each `key: value` field: 12 on
 * the bench's Megatron lines, the time stamp not counted). The acceptance of issue 12:
 * ≥ 1M samples/s per core from files into the store, and memory flat in run length: each size reports its peak
 * RSS (`peakRssMiB`: the process's high-water mark when the ingest returns, the warm-up's included, before the
 * bench's check that counts the stored rows and before the store's close; `peakRssWithCheckAndCloseMiB` after them:
 * the count reads the whole table back into DuckDB's cache, which grows with the run up to `memory_limit`), its peak
 * JavaScript heap and the heap still held after the ingest (after a GC), which stay flat from 1× to 32× when nothing
 * grows with the run. DuckDB's buffer pool is capped at {@link MEMORY_LIMIT} (`memory_limit`): without a cap DuckDB
 * may cache up to 80% of RAM. Per core: samples per CPU-second of the
 * whole process (JavaScript and DuckDB's thread together); each size of each kind runs {@link RUNS} times and keeps
 * the median run, listing every run's rate and peak RSS (a single run of the 1× log, under a second of CPU, varied by
 * a third on the shared machine).
 * Writes bench/results/observe-<date>.json; the figures of the results file it replaces, or that file's own
 * `before` block, are kept as `before`, so one file holds the figures before and after a change.
 */
import { execFileSync } from 'node:child_process';
import {
  appendFileSync,
  closeSync,
  mkdirSync,
  mkdtempSync,
  openSync,
  readdirSync,
  readSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { mkdir } from 'node:fs/promises';
import os, { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openDuckDbStore } from '../dist/node/duckdb-store.js';
import { writeFileAtomic } from '../dist/node/files.js';
import { ingestDcgmFiles, ingestLog } from '../dist/node/ingest.js';
import { parseStepLog } from '../dist/telemetry/step-log.js';
import { previousFigures } from './previous.mjs';

/** Run length of the 1× size: log lines and dcgm scrapes (a scrape: 8 GPUs × 4 fields on each of 4 hosts). */
const BASE_LINES = 50_000;
const BASE_SCRAPES = 2_000;
const HOSTS = 4;
const GPUS = 8;
const FIELDS = ['DCGM_FI_DEV_SM_CLOCK', 'DCGM_FI_DEV_GPU_TEMP', 'DCGM_FI_DEV_POWER_USAGE', 'DCGM_FI_DEV_GPU_UTIL'];
const START_MS = Date.UTC(2026, 0, 1);
/** DuckDB's buffer pool cap for the bench: without one DuckDB caches up to 80% of RAM and RSS tracks the file. */
const MEMORY_LIMIT = '128MB';
/** The warm-up set's share of the 1× size, ingested before each measured size (JIT and DuckDB warm-up). */
const WARM_UP = 0.25;
/** Child runs of each size of each kind (a few seconds each), the median kept: see {@link median}. */
const RUNS = 3;
/** Run lengths measured, in multiples of the 1× size. */
const SCALES = [1, 4, 16, 32];

/** Megatron-LM `training_log` lines (the format of src/telemetry/step-log.ts), one per iteration. */
function writeLog(path, lines) {
  writeFileSync(path, '');
  let text = '';
  for (let i = 1; i <= lines; i++) {
    const stamp = new Date(START_MS + i * 9_500).toISOString().replace('T', ' ').slice(0, 19);
    const ms = (9_500 + (i % 97) - 48).toFixed(1);
    text += ` [${stamp}] iteration ${String(i).padStart(8)}/${String(lines).padStart(8)} | consumed samples: ${i * 1024} | elapsed time per iteration (ms): ${ms} | throughput per GPU (TFLOP/s/GPU): 402.3 | learning rate: 1.500000E-04 | global batch size:  1024 | lm loss: ${(2 + 8 / Math.sqrt(i)).toExponential(6).toUpperCase()} | loss scale: 1.0 | grad norm: 0.912 | number of skipped iterations:   0 | number of nan iterations:   0 |\n`;
    if (text.length > 1 << 20) {
      appendFileSync(path, text);
      text = '';
    }
  }
  appendFileSync(path, text);
}

/** One scrape file per host, each family declared once with every scrape's samples (as src/telemetry/emulator.ts). */
function writeDcgm(directory, scrapes) {
  const paths = [];
  for (let h = 0; h < HOSTS; h++) {
    const host = `host-${String(h).padStart(4, '0')}`;
    const path = join(directory, `${host}.prom`);
    writeFileSync(path, '');
    for (const [f, field] of FIELDS.entries()) {
      appendFileSync(path, `# HELP ${field} help.\n# TYPE ${field} gauge\n`);
      let text = '';
      for (let s = 0; s < scrapes; s++) {
        const ms = START_MS + s * 15_000;
        for (let g = 0; g < GPUS; g++) {
          const value = f === 2 ? (650 + ((s * 7 + g * 13) % 50)).toFixed(3) : String((s + g) % 100);
          text += `${field}{gpu="${g}",UUID="GPU-00000001-${String(h).padStart(4, '0')}-${String(g).padStart(4, '0')}",pci_bus_id="00000000:${(0x18 + g * 0x10).toString(16).toUpperCase()}:00.0",device="nvidia${g}",modelName="NVIDIA H100 80GB HBM3",Hostname="${host}"} ${value} ${ms}\n`;
        }
        if (text.length > 1 << 20) {
          appendFileSync(path, text);
          text = '';
        }
      }
      appendFileSync(path, text);
    }
    paths.push(path);
  }
  return paths;
}

/** The numbers the log's first line prints: the iteration, the run's total and each `key: value` field. */
function valuesPerLine(path) {
  const head = Buffer.alloc(4096);
  const handle = openSync(path, 'r');
  try {
    readSync(handle, head, 0, head.length, 0);
  } finally {
    closeSync(handle);
  }
  const [first] = parseStepLog(head.toString('utf8').split('\n')[0]).samples;
  return Object.keys(first.fields).length + 2;
}

/** Ingests one kind of file into a fresh store; the count of samples. */
async function ingest(kind, directory, store, run) {
  return kind === 'log'
    ? (await ingestLog(store, run, join(directory, 'train.log'))).samples
    : (await ingestDcgmFiles(store, run, dcgmPaths(directory))).points;
}

/**
 * Ingests one kind of file of a size into a fresh store, in this process (a child: its peak RSS is the ingest's).
 * First the warm-up set (a fixed {@link WARM_UP} of the 1× size, in a store of its own, closed after): its figures
 * are the cold rate, JIT compilation and DuckDB's first appends included; then the size, measured warm.
 */
async function child(kind, directory, scale) {
  const perLine = kind === 'log' ? valuesPerLine(join(directory, 'train.log')) : 1;
  const warmDirectory = join(directory, 'warm-up');
  const warmStore = await openDuckDbStore(join(warmDirectory, `store-${kind}.duckdb`), {
    threads: 1,
    memoryLimit: MEMORY_LIMIT,
  });
  const coldCpu = process.cpuUsage();
  const coldStart = performance.now();
  const warmCount = await ingest(kind, warmDirectory, warmStore, 'warm-up');
  const coldSeconds = (performance.now() - coldStart) / 1000;
  const coldUsed = process.cpuUsage(coldCpu);
  await warmStore.close();
  const store = await openDuckDbStore(join(directory, `store-${kind}.duckdb`), {
    threads: 1,
    memoryLimit: MEMORY_LIMIT,
  });
  globalThis.gc?.();
  const rssBefore = process.memoryUsage().rss;
  let heapPeak = 0;
  let buffersPeak = 0;
  const sampler = setInterval(() => {
    const usage = process.memoryUsage();
    heapPeak = Math.max(heapPeak, usage.heapUsed);
    buffersPeak = Math.max(buffersPeak, usage.arrayBuffers);
  }, 20);
  const cpu = process.cpuUsage();
  const start = performance.now();
  const count = await ingest(kind, directory, store, 'bench');
  const seconds = (performance.now() - start) / 1000;
  const used = process.cpuUsage(cpu);
  const cpuSeconds = (used.user + used.system) / 1e6;
  clearInterval(sampler);
  // The ingest's peak: before the check below, whose count of the whole table reads its blocks back into DuckDB's
  // cache (up to memory_limit, so that it grows with the run), and before the close's checkpoint.
  const peakRss = process.resourceUsage().maxRSS;
  globalThis.gc?.();
  const heapRetained = process.memoryUsage().heapUsed;
  const counts = await store.counts('bench');
  await store.close();
  const expected = kind === 'log' ? BASE_LINES * scale : BASE_SCRAPES * scale * HOSTS * GPUS * FIELDS.length;
  if (count !== expected || (kind === 'log' ? counts.steps : counts.gpuPoints) !== count) {
    throw new Error(
      `${kind}: ${count} samples ingested, ${expected} expected; the store counts ${JSON.stringify(counts)}`,
    );
  }
  return {
    ...(kind === 'log' && {
      numericValuesPerLine: perLine,
      numericValuesPerCpuSecond: Math.round((count * perLine) / cpuSeconds),
    }),
    coldWarmUp: {
      samples: warmCount,
      seconds: Number(coldSeconds.toFixed(3)),
      samplesPerCpuSecond: Math.round(warmCount / ((coldUsed.user + coldUsed.system) / 1e6)),
    },
    samples: count,
    seconds: Number(seconds.toFixed(3)),
    samplesPerSecond: Math.round(count / seconds),
    cpuSeconds: Number(cpuSeconds.toFixed(3)),
    samplesPerCpuSecond: Math.round(count / cpuSeconds),
    rssAfterOpenMiB: Math.round(rssBefore / 2 ** 20),
    peakRssMiB: Math.round(peakRss / 1024),
    peakRssWithCheckAndCloseMiB: Math.round(process.resourceUsage().maxRSS / 1024),
    peakHeapMiB: Math.round(heapPeak / 2 ** 20),
    peakArrayBuffersMiB: Math.round(buffersPeak / 2 ** 20),
    heapRetainedAfterIngestMiB: Math.round(heapRetained / 2 ** 20),
  };
}

const dcgmPaths = (directory) =>
  Array.from({ length: HOSTS }, (_, h) => join(directory, `host-${String(h).padStart(4, '0')}.prom`));

/**
 * The run of median rate among `runs` (each a child's figures), with every run's rate beside it: on a shared
 * machine one run can lose its core to another process.
 */
function median(runs) {
  const sorted = [...runs].sort((a, b) => a.samplesPerCpuSecond - b.samplesPerCpuSecond);
  return {
    ...sorted[Math.floor(sorted.length / 2)],
    runs: runs.length,
    runsSamplesPerCpuSecond: runs.map((x) => x.samplesPerCpuSecond),
    ...(runs[0]?.numericValuesPerCpuSecond !== undefined && {
      runsNumericValuesPerCpuSecond: runs.map((x) => x.numericValuesPerCpuSecond),
    }),
    runsPeakRssMiB: runs.map((x) => x.peakRssMiB),
  };
}

/** Writes a size's files, then ingests the log and the dcgm files, each in a fresh child process. */
function size(scale) {
  const directory = mkdtempSync(join(tmpdir(), 'tokenworks-observe-'));
  try {
    writeLog(join(directory, 'train.log'), BASE_LINES * scale);
    writeDcgm(directory, BASE_SCRAPES * scale);
    const warmDirectory = join(directory, 'warm-up');
    mkdirSync(warmDirectory);
    writeLog(join(warmDirectory, 'train.log'), BASE_LINES * WARM_UP);
    writeDcgm(warmDirectory, BASE_SCRAPES * WARM_UP);
    const run = (kind) => {
      // Each run ingests into fresh stores: the last run's files (and the warm-up's) are removed first.
      for (const folder of [directory, warmDirectory]) {
        for (const name of readdirSync(folder)) {
          if (name.startsWith(`store-${kind}.duckdb`)) rmSync(join(folder, name), { force: true });
        }
      }
      const out = execFileSync(
        process.execPath,
        ['--expose-gc', import.meta.filename, '--child', kind, directory, String(scale)],
        { encoding: 'utf8', maxBuffer: 2 ** 24 },
      );
      return JSON.parse(out.trim().split('\n').pop());
    };
    return {
      scale,
      logLines: BASE_LINES * scale,
      dcgmSamples: BASE_SCRAPES * scale * HOSTS * GPUS * FIELDS.length,
      log: median(Array.from({ length: RUNS }, () => run('log'))),
      dcgm: median(Array.from({ length: RUNS }, () => run('dcgm'))),
    };
  } finally {
    rmSync(directory, { recursive: true, force: true });
  }
}

if (process.argv[2] === '--child') {
  console.log(JSON.stringify(await child(process.argv[3], process.argv[4], Number(process.argv[5]))));
} else {
  const sizes = SCALES.map(size);
  const directory = join(import.meta.dirname, 'results');
  const before = previousFigures(directory, 'observe');
  const result = {
    benchmark: `observe: files into the DuckDB store (one DuckDB thread, memory_limit ${MEMORY_LIMIT})`,
    cpus: os.cpus().length,
    loadAverage: os.loadavg().map((x) => Number(x.toFixed(2))),
    date: new Date().toISOString(),
    node: process.version,
    target: '≥ 1,000,000 samples/s per core (issue 12); memory flat in run length',
    measured:
      "each size warm, after a warm-up set of a quarter of the 1× size in a store of its own (coldWarmUp: that set's figures, JIT and first appends included); log and dcgm: the median of 3 child runs (runsSamplesPerCpuSecond, runsNumericValuesPerCpuSecond, runsPeakRssMiB: each run's)",
    sizes,
    ...(before !== undefined && { before }),
  };
  await mkdir(directory, { recursive: true });
  await writeFileAtomic(
    join(directory, `observe-${result.date.slice(0, 10)}.json`),
    `${JSON.stringify(result, null, 2)}\n`,
  );
  console.log(JSON.stringify(result, null, 2));
  for (const { scale, logLines, dcgmSamples, log, dcgm } of sizes) {
    const rate = (x) =>
      `${(x.samplesPerSecond / 1e6).toFixed(2)}M/s (${(x.samplesPerCpuSecond / 1e6).toFixed(2)}M/cpu-s; cold warm-up set ${(x.coldWarmUp.samplesPerCpuSecond / 1e6).toFixed(2)}M/cpu-s)`;
    const memory = (x) =>
      `peak RSS ${x.peakRssMiB} MiB (${x.rssAfterOpenMiB} after opening), heap peak ${x.peakHeapMiB} MiB, buffers peak ${x.peakArrayBuffersMiB} MiB, retained ${x.heapRetainedAfterIngestMiB} MiB`;
    console.log(
      `${String(scale).padStart(2)}×: log ${logLines} lines ${rate(log)}, ${(log.numericValuesPerCpuSecond / 1e6).toFixed(2)}M numeric values/cpu-s, ${memory(log)}`,
    );
    console.log(`    dcgm ${dcgmSamples} samples ${rate(dcgm)}, ${memory(dcgm)}`);
  }
}
