import { spawn } from 'node:child_process';
import { appendFileSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { run } from '../../test/run-cli.js';
import type { GpuPoint, TelemetryStore } from '../app/ports.js';
import { TokenworksError } from '../errors.js';
import { dcgmFieldName, gpuPointsOf, normaliseDcgm, normaliseDcgmSample } from '../telemetry/dcgm.js';
import { parsePromLine } from '../telemetry/prometheus-text.js';
import { parseStepLog } from '../telemetry/step-log.js';
import { openDuckDbStore } from './duckdb-store.js';
import { DCGM_READ_LINES, fileSourceName, ingestDcgmFiles, ingestLog } from './ingest.js';

/** A Megatron-LM `training_log` line (the format of src/telemetry/step-log.ts) for iteration `i`. */
function megatron(i: number): string {
  const stamp = new Date(Date.UTC(2026, 0, 1) + i * 9_500).toISOString().replace('T', ' ').slice(0, 19);
  return ` [${stamp}] iteration ${String(i).padStart(8)}/  100000 | consumed samples: ${i * 1024} | elapsed time per iteration (ms): ${9500 + (i % 7)}.0 | learning rate: 1.500000E-04 | global batch size:  1024 | lm loss: ${(2 + 1 / i).toExponential(6).toUpperCase()} | loss scale: 1.0 | number of skipped iterations:   0 | number of nan iterations:   0 |\n`;
}
const lines = (from: number, to: number) =>
  Array.from({ length: to - from + 1 }, (_, k) => megatron(from + k)).join('');

/** dcgm-exporter text as the emulator writes it: one family group per field, every scrape's samples in it. */
function dcgmText(scrapes: number, gpus = 4): string {
  const fields = ['DCGM_FI_DEV_POWER_USAGE', 'DCGM_FI_DEV_GPU_UTIL'];
  return fields
    .map((field, f) => {
      const rows: string[] = [];
      for (let s = 0; s < scrapes; s++) {
        for (let g = 0; g < gpus; g++) {
          const value = f === 0 ? (600 + s + g / 8).toFixed(3) : String((s * 3 + g) % 101);
          rows.push(
            `${field}{gpu="${g}",UUID="GPU-0000000${g}",pci_bus_id="00000000:18:00.0",device="nvidia${g}",modelName="NVIDIA H100 80GB HBM3",Hostname="host-0001"} ${value} ${1_767_225_600_000 + s * 15_000}`,
          );
        }
      }
      return `# HELP ${field} help.\n# TYPE ${field} gauge\n${rows.join('\n')}\n`;
    })
    .join('');
}

async function allPoints(store: TelemetryStore, run: string): Promise<GpuPoint[]> {
  const out: GpuPoint[] = [];
  for await (const batch of store.gpuPoints(run)) out.push(...batch);
  return out;
}
const sortKey = (p: GpuPoint) => `${p.time} ${p.gpuKey} ${p.field} ${p.value}`;

/** The shared dcgm-exporter fixtures (../shared/data/telemetry/dcgm, README there). */
const FIXTURES = join(import.meta.dirname, '..', '..', '..', 'shared', 'data', 'telemetry', 'dcgm');

let directory: string;
let emulatedDirectory: string;
beforeAll(() => {
  emulatedDirectory = mkdtempSync(join(tmpdir(), 'tokenworks-ingest-emulated-'));
});
afterAll(() => {
  rmSync(emulatedDirectory, { recursive: true, force: true });
});
beforeEach(() => {
  directory = mkdtempSync(join(tmpdir(), 'tokenworks-ingest-'));
});
afterEach(() => {
  rmSync(directory, { recursive: true, force: true });
});

describe('ingestLog', () => {
  it('stores every step line, records malformed lines as events with file:line, and resumes without duplicates', async () => {
    const path = join(directory, 'train.log');
    writeFileSync(
      path,
      `banner\n${lines(1, 3)} [2026-01-01 00:00:00] iteration 4/ 10 | lm loss: zzz |\n${lines(5, 6)}`,
    );
    const store = await openDuckDbStore(':memory:');
    expect(await ingestLog(store, 'r', path)).toEqual({ samples: 5, malformed: 1, ignored: 1 });
    expect(await store.steps('r')).toEqual(parseStepLog(readFileSync(path, 'utf8')).samples);
    const [event] = await store.events('r');
    expect(event?.kind).toBe('malformed');
    expect(event?.detail).toContain(`${path}:5: bad number for 'lm loss'`);
    expect(await store.cursor('r', fileSourceName('log', path))).toEqual({ offset: statSync(path).size, nextLine: 8 });
    // Nothing new: nothing added. Grown: only the new lines.
    expect(await ingestLog(store, 'r', path)).toEqual({ samples: 0, malformed: 0, ignored: 0 });
    appendFileSync(path, lines(7, 9));
    expect((await ingestLog(store, 'r', path)).samples).toBe(3);
    expect((await store.steps('r')).map((s) => s.step)).toEqual([1, 2, 3, 5, 6, 7, 8, 9]);
    expect(await store.counts('r')).toEqual({ steps: 8, gpuPoints: 0, events: 1 });
    await store.close();
  });

  it('stores time stamps of every form and reads them back as printed, from the store and from its Parquet', async () => {
    const stamps = [
      '2026-01-01 00:00:09',
      '2026-01-01 23:59:59.543',
      '2026-01-02 00:00:00.5',
      '2026-01-02 00:00:01.123456',
      '2026-01-02T00:00:02',
      '2026-02-30 00:00:03',
      '0999-01-02 00:00:04',
      '2026-01-02 24:00:00',
    ];
    // Each stamp on its own line after a plain one, so the in-place reader meets every form.
    const text = stamps
      .flatMap((stamp, k) => [megatron(2 * k + 1), megatron(2 * k + 2).replace(/\[[^\]]*\]/, `[${stamp}]`)])
      .join('');
    const path = join(directory, 'stamps.log');
    writeFileSync(path, `${text}${megatron(99).replace(/ \[[^\]]*\]/, '')}`);
    const store = await openDuckDbStore(':memory:');
    await ingestLog(store, 'r', path);
    const expected = parseStepLog(readFileSync(path, 'utf8')).samples;
    expect(expected.map((sample) => sample.timestamp).filter((_, k) => k % 2 === 1)).toEqual(stamps);
    expect(expected.at(-1)?.timestamp).toBeUndefined();
    expect(await store.steps('r')).toStrictEqual(expected);
    const [table] = await store.exportParquet('r', join(directory, 'parquet'));
    const { DuckDBInstance } = await import('@duckdb/node-api');
    const instance = await DuckDBInstance.create(':memory:');
    const connection = await instance.connect();
    const rows = (
      await connection.runAndReadAll(`SELECT timestamp FROM read_parquet('${table?.path}') ORDER BY seq`)
    ).getRows();
    expect(rows.map(([stamp]) => stamp ?? undefined)).toEqual(expected.map((sample) => sample.timestamp));
    connection.closeSync();
    instance.closeSync();
    await store.close();
  });

  it('repeats nothing when a crash fell between the steps and the events of a batch', async () => {
    const path = join(directory, 'train.log');
    writeFileSync(path, `${lines(1, 2)}iteration 3/ 9 | nope |\n${lines(4, 5)}`);
    const store = await openDuckDbStore(':memory:');
    // The events append fails once, after the batch's steps were committed: as a crash between the two would.
    const crashing: TelemetryStore = Object.create(store, {
      appendEvents: { value: () => Promise.reject(new Error('crash')) },
    });
    await expect(ingestLog(crashing, 'r', path)).rejects.toThrow('crash');
    expect((await store.counts('r')).steps).toBe(4);
    expect(await store.cursor('r', `${fileSourceName('log', path)}#malformed`)).toBeUndefined();
    expect(await ingestLog(store, 'r', path)).toEqual({ samples: 0, malformed: 1, ignored: 0 });
    expect(await store.counts('r')).toEqual({ steps: 4, gpuPoints: 0, events: 1 });
    await store.close();
  });

  it('commits a log read to its end in transactions of commitRows rows across reads, and a failed append loses only what was not committed', async () => {
    const path = join(directory, 'train.log');
    writeFileSync(path, `${lines(1, 30)}iteration 31/ 9 | nope |\n${lines(32, 100)}`);
    const store = await openDuckDbStore(join(directory, 'store.duckdb'));
    const commits: number[] = [];
    const options = {
      chunkBytes: 4096,
      commitRows: 40,
      onCommit: ({ samples }: { samples: number }) => commits.push(samples),
    };
    // The 5th append fails (before the store sees it): the rows held since the last commit are not committed by it.
    let appends = 0;
    const failing: TelemetryStore = Object.create(store, {
      appendStepSegments: {
        value: (...args: Parameters<NonNullable<TelemetryStore['appendStepSegments']>>) =>
          ++appends === 5 ? Promise.reject(new Error('crash')) : store.appendStepSegments(...args),
      },
    });
    await expect(ingestLog(failing, 'r', path, options)).rejects.toThrow('crash');
    // Each read is about 12 lines: one commit, of 40 rows or more (the 4th read's), none for the failed 5th.
    expect(commits).toHaveLength(1);
    expect(commits[0]).toBeGreaterThanOrEqual(40);
    // What the store committed is what its cursor says (the malformed line 31 with it): the next ingest reads the
    // rest, and nothing twice.
    const cursor = await store.cursor('r', fileSourceName('log', path));
    const { steps } = await store.counts('r');
    expect(cursor?.nextLine).toBe(steps + 2);
    commits.length = 0;
    expect(await ingestLog(store, 'r', path, options)).toEqual({ samples: 99 - steps, malformed: 0, ignored: 0 });
    expect(commits.length).toBeGreaterThan(0);
    expect(commits.at(-1)).toBe(99 - steps);
    expect((await store.steps('r')).map((sample) => sample.step)).toEqual(
      Array.from({ length: 100 }, (_, k) => k + 1).filter((step) => step !== 31),
    );
    expect(await store.counts('r')).toEqual({ steps: 99, gpuPoints: 0, events: 1 });
    await store.close();
  });

  it('loses nothing committed when a following ingest is killed with SIGKILL, and a restart resumes without duplicates', async () => {
    const storePath = join(directory, 'store.duckdb');
    const log = join(directory, 'train.log');
    writeFileSync(log, lines(1, 200));
    let written = 200;
    const child = spawn(process.execPath, ['--import', 'tsx', 'test/support/ingest-child.ts', storePath, 'r', log], {
      cwd: join(import.meta.dirname, '..', '..'),
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stderr = '';
    child.stderr.on('data', (data: Buffer) => {
      stderr += data.toString();
    });
    const exited = new Promise<void>((resolve) => child.on('exit', () => resolve()));
    let committed = 0;
    let commits = 0;
    let killing = false;
    let opened = false;
    let buffered = '';
    const progress = new Promise<void>((resolve, reject) => {
      child.stdout.on('data', (data: Buffer) => {
        buffered += data.toString();
        const parts = buffered.split('\n');
        buffered = parts.pop() ?? '';
        for (const part of parts) {
          if (part === 'open') opened = true;
          const match = /^committed (\d+)$/.exec(part);
          if (match === null) continue;
          committed = Number(match[1]);
          commits++;
          // Keep the log growing while the child follows it, a batch per commit seen (not once the kill is under way:
          // a batch appended after the half-written line would run into it).
          if (written < 2000 && !killing) {
            appendFileSync(log, lines(written + 1, written + 150));
            written += 150;
          }
          if (commits >= 6 && committed > 200) resolve();
        }
      });
      child.on('exit', () => reject(new Error(`the child exited early: ${stderr}`)));
    });
    await progress;
    expect(opened).toBe(true);
    // The running child holds the store: another process gets a clear error, not a crash.
    const locked = await openDuckDbStore(storePath).catch((e: unknown) => e);
    expect(locked).toBeInstanceOf(TokenworksError);
    expect((locked as Error).message).toMatch(/in use by another process/);
    // A line half written when the kill lands.
    killing = true;
    const next = megatron(written + 1);
    appendFileSync(log, next.slice(0, 40));
    child.kill('SIGKILL');
    await exited;
    appendFileSync(log, `${next.slice(40)}${lines(written + 2, written + 20)}`);
    written += 20;

    const store = await openDuckDbStore(storePath);
    const kept = await store.steps('r');
    expect(kept.length).toBeGreaterThanOrEqual(committed);
    expect(new Set(kept.map((s) => s.step)).size).toBe(kept.length);
    expect(kept.map((s) => s.step)).toEqual(Array.from({ length: kept.length }, (_, i) => i + 1));
    await ingestLog(store, 'r', log);
    const steps = (await store.steps('r')).map((s) => s.step);
    expect(steps).toEqual(Array.from({ length: written }, (_, i) => i + 1));
    expect(await store.steps('r')).toEqual(parseStepLog(readFileSync(log, 'utf8')).samples);
    await store.close();
  }, 30_000);
});

describe('ingestDcgmFiles', () => {
  it('stores the points normaliseDcgm finds, in chunks, and a re-ingest adds nothing', async () => {
    const path = join(directory, 'host-0001.prom');
    const text = dcgmText(300);
    writeFileSync(path, text);
    const expected = gpuPointsOf(normaliseDcgm(text), 0).map(sortKey).sort();
    for (const chunkBytes of [4096, undefined]) {
      const store = await openDuckDbStore(':memory:');
      const counts = await ingestDcgmFiles(store, 'r', [path], chunkBytes === undefined ? {} : { chunkBytes });
      expect(counts).toEqual({ points: 2400, malformed: 0, skipped: 0, skippedByName: {}, lines: 2404 });
      const stored = await allPoints(store, 'r');
      expect(stored.map(sortKey).sort()).toEqual(expected);
      expect(stored[0]).toEqual({
        time: 1_767_225_600,
        gpuKey: 'host-0001/GPU-00000000',
        hostname: 'host-0001',
        field: 'DCGM_FI_DEV_GPU_UTIL',
        value: 0,
      });
      expect(await store.cursor('r', fileSourceName('dcgm', path))).toEqual({
        offset: statSync(path).size,
        nextLine: 2405,
      });
      expect(await ingestDcgmFiles(store, 'r', [path])).toEqual({
        points: 0,
        malformed: 0,
        skipped: 0,
        skippedByName: {},
        lines: 0,
      });
      expect((await store.counts('r')).gpuPoints).toBe(2400);
      await store.close();
    }
  });

  // The reader returns every DCGM_READ_LINES lines, mid-buffer: the ingest calls it again where it stopped.
  it('reads a file of many more lines than one read call takes, whole and once, and resumes after it', async () => {
    const path = join(directory, 'long.prom');
    const scrapes = Math.ceil((2.5 * DCGM_READ_LINES) / 8);
    writeFileSync(path, dcgmText(scrapes));
    const store = await openDuckDbStore(':memory:');
    const counts = await ingestDcgmFiles(store, 'r', [path]);
    expect(counts.points).toBe(scrapes * 8);
    expect(counts.lines).toBe(scrapes * 8 + 4);
    const stored = await allPoints(store, 'r');
    expect(stored.map(sortKey).sort()).toEqual(
      gpuPointsOf(normaliseDcgm(readFileSync(path, 'utf8')), 0)
        .map(sortKey)
        .sort(),
    );
    appendFileSync(path, dcgmText(1));
    expect((await ingestDcgmFiles(store, 'r', [path])).points).toBe(8);
    expect(await store.cursor('r', fileSourceName('dcgm', path))).toEqual({
      offset: statSync(path).size,
      nextLine: scrapes * 8 + 4 + 12 + 1,
    });
    await store.close();
  });

  it('reads label variants, values and stamps as the full parser does; records malformed lines; skips the rest', async () => {
    const path = join(directory, 'mixed.prom');
    const text = [
      '# HELP DCGM_FI_DEV_GPU_TEMP GPU temperature (in C).',
      '# TYPE DCGM_FI_DEV_GPU_TEMP gauge',
      'DCGM_FI_DEV_GPU_TEMP{gpu="0",uuid="GPU-a",hostname="n1"} 41 1767225600000',
      'DCGM_FI_DEV_GPU_TEMP{gpu="0",uuid="GPU-a",hostname="n1"} 4.2e1 1767225615000',
      'DCGM_FI_DEV_GPU_TEMP{gpu="0",uuid="GPU-a",hostname="n1"} NaN 1767225630000',
      'DCGM_FI_DEV_GPU_TEMP{gpu="0",uuid="GPU-a",hostname="n1"} -0.125',
      'DCGM_FI_DEV_GPU_TEMP{gpu="0",uuid="GPU-a",hostname="n1"} 0x10 1767225645000',
      'DCGM_FI_DEV_GPU_TEMP{gpu="0",uuid="GPU-a",hostname="n1"} 43 1767225660000 extra',
      'dcgm_gpu_temp{gpu="1",UUID="GPU-b",Hostname="n1",exported_pod="p"} +Inf',
      'DCGM_FI_DEV_GPU_TEMP{Hostname="n1"} 0',
      'go_goroutines 12',
      'DCGM_FI_DEV_GPU_TEMP{gpu="0",uuid="GPU-a",hostname="n1"} 44.000000000000001 1767225675000',
      'DCGM_FI_DEV_GPU_TEMP{gpu="0",uuid="GPU-a",hostname="n1"} 45\r',
      '',
    ].join('\n');
    writeFileSync(path, text);
    const mtime = statSync(path).mtimeMs / 1000;
    const store = await openDuckDbStore(':memory:');
    const counts = await ingestDcgmFiles(store, 'r', [path]);
    // Skipped: the temperature line naming no GPU, and another exporter's go_goroutines.
    expect(counts).toEqual({
      points: 7,
      malformed: 2,
      skipped: 2,
      skippedByName: { DCGM_FI_DEV_GPU_TEMP: 1, go_goroutines: 1 },
      lines: 13,
    });
    const scrape = normaliseDcgm(text);
    expect(scrape.malformed.map((m) => m.line)).toEqual([7, 8]);
    const expected = gpuPointsOf(scrape, mtime);
    const stored = await allPoints(store, 'r');
    const key = (p: GpuPoint) => `${p.time} ${p.gpuKey} ${p.hostname} ${p.field} ${String(p.value)}`;
    expect(stored.map(key).sort()).toEqual(expected.map(key).sort());
    const events = await store.events('r');
    expect(events.map((e) => e.detail)).toEqual([
      `${path}:7: bad value '0x10': DCGM_FI_DEV_GPU_TEMP{gpu="0",uuid="GPU-a",hostname="n1"} 0x10 1767225645000`,
      `${path}:8: text after the timestamp: DCGM_FI_DEV_GPU_TEMP{gpu="0",uuid="GPU-a",hostname="n1"} 43 1767225660000 extra`,
    ]);
    await store.close();
  });

  it('commits small files together: a failure mid-batch advances none of their cursors, and a rerun stores each once', async () => {
    const paths = [1, 2, 3].map((h) => {
      const path = join(directory, `host-000${h}.prom`);
      writeFileSync(path, dcgmText(20).replaceAll('host-0001', `host-000${h}`));
      return path;
    });
    const store = await openDuckDbStore(':memory:');
    let batches = 0;
    // The last point's series is made invalid: the store fails inside the batch's transaction, after its points.
    const failing = Object.assign(Object.create(store) as typeof store, {
      appendGpuBatch: (run: string, batch: Parameters<typeof store.appendGpuBatch>[1]) => {
        batches++;
        const { columns } = batch;
        const last = columns.seriesIndex[columns.length - 1] as number;
        const series = columns.series.map((key, i) => (i === last ? { ...key, gpuKey: '' } : key));
        return store.appendGpuBatch(run, { ...batch, columns: { ...columns, series } });
      },
    });
    await expect(ingestDcgmFiles(failing, 'r', paths)).rejects.toThrow(TokenworksError);
    expect(batches).toBe(1);
    for (const path of paths) {
      expect(await store.cursor('r', fileSourceName('dcgm', path))).toBeUndefined();
      expect(await store.cursor('r', `${fileSourceName('dcgm', path)}#malformed`)).toBeUndefined();
    }
    expect(await store.counts('r')).toEqual({ steps: 0, gpuPoints: 0, events: 0 });
    const commits: number[] = [];
    const counts = await ingestDcgmFiles(store, 'r', paths, { onCommit: ({ points }) => commits.push(points) });
    expect(counts.points).toBe(3 * 160);
    expect(commits).toEqual([480]);
    for (const path of paths) {
      expect(await store.cursor('r', fileSourceName('dcgm', path))).toEqual({
        offset: statSync(path).size,
        nextLine: 165,
      });
    }
    expect((await store.counts('r')).gpuPoints).toBe(480);
    expect(await ingestDcgmFiles(store, 'r', paths)).toEqual({
      points: 0,
      malformed: 0,
      skipped: 0,
      skippedByName: {},
      lines: 0,
    });
    await store.close();
  });

  it('resumes a file that grew, and names a missing file', async () => {
    const path = join(directory, 'grow.prom');
    writeFileSync(path, dcgmText(10).split('\n').slice(0, 20).join('\n'));
    const store = await openDuckDbStore(':memory:');
    const first = await ingestDcgmFiles(store, 'r', [path]);
    appendFileSync(path, `\n${dcgmText(10).split('\n').slice(20).join('\n')}`);
    const second = await ingestDcgmFiles(store, 'r', [path]);
    expect(first.points + second.points).toBe(80);
    expect((await store.counts('r')).gpuPoints).toBe(80);
    await expect(ingestDcgmFiles(store, 'r', [join(directory, 'none.prom')])).rejects.toThrow(/cannot read the dcgm/);
    await store.close();
  });
});

/**
 * The reference reading of a dcgm file: every line through the one parser (`parsePromLine`, `dcgmFieldName`,
 * `normaliseDcgmSample`), as the streaming reader's contract says (a line after `# EOF` is malformed; a sample
 * without a time stamp takes the file's modification time).
 */
function referenceDcgm(text: string, mtime: number) {
  const points: GpuPoint[] = [];
  const malformed: string[] = [];
  let skipped = 0;
  let eofLine: number | undefined;
  const lines = text.split('\n');
  if (lines[lines.length - 1] === '') lines.pop();
  lines.forEach((rawLine, index) => {
    const line = index + 1;
    const raw = rawLine.endsWith('\r') ? rawLine.slice(0, -1) : rawLine;
    const parsed = parsePromLine(raw, line);
    if (parsed.kind === 'blank') return;
    if (eofLine !== undefined) {
      malformed.push(detail(line, `after # EOF on line ${eofLine}`, raw));
      return;
    }
    if (parsed.kind === 'eof') eofLine = line;
    if (parsed.kind === 'malformed') malformed.push(detail(line, parsed.reason, raw));
    if (parsed.kind !== 'sample') return;
    const field = dcgmFieldName(parsed.sample.name);
    const sample = field === undefined ? undefined : normaliseDcgmSample(parsed.sample, field);
    if (field === undefined || sample?.gpuKey === undefined) {
      skipped++;
      return;
    }
    points.push({
      time: parsed.sample.timestamp === undefined ? mtime : parsed.sample.timestamp / 1000,
      gpuKey: sample.gpuKey,
      ...(sample.gpu.hostname !== undefined && sample.gpu.hostname !== '' && { hostname: sample.gpu.hostname }),
      field,
      value: parsed.sample.value,
    });
  });
  return { points, malformed, skipped, lines: lines.length };
}

/** A malformed event's detail after `file:` (ingest.ts keeps 200 characters of the line). */
const detail = (line: number, reason: string, text: string) =>
  `${line}: ${reason}: ${text.length > 200 ? `${text.slice(0, 200)}…` : text}`;

/** Every file under `folder`, recursively. */
function filesUnder(folder: string): string[] {
  return readdirSync(folder, { withFileTypes: true }).flatMap((entry) =>
    entry.isDirectory() ? filesUnder(join(folder, entry.name)) : [join(folder, entry.name)],
  );
}

/** Lines the quick path must leave to the parser, or read exactly as it does. */
const EDGE_CASES = [
  '# HELP DCGM_FI_DEV_POWER_USAGE Power draw (in W).',
  '# TYPE DCGM_FI_DEV_POWER_USAGE gauge',
  ...Array.from({ length: 3 }, (_, s) =>
    [0, 1, 2]
      .map(
        (g) =>
          `DCGM_FI_DEV_POWER_USAGE{gpu="${g}",UUID="GPU-${g}",Hostname="n1"} ${600 + s + g / 8} ${1_767_225_600_000 + s * 15_000}`,
      )
      .join('\n'),
  ),
  'DCGM_FI_DEV_POWER_USAGE{gpu="0",UUID="GPU-0",Hostname="n1"} 601 +1767225700000',
  'DCGM_FI_DEV_POWER_USAGE{gpu="1",UUID="GPU-1",Hostname="n1"} 6.01e2 1767225700000',
  'DCGM_FI_DEV_POWER_USAGE{gpu="2",UUID="GPU-2",Hostname="n1"} +Inf 1.7672257e12',
  'DCGM_FI_DEV_POWER_USAGE{gpu="0",UUID="GPU-0",Hostname="n1"} -Inf',
  'DCGM_FI_DEV_POWER_USAGE{gpu="1",UUID="GPU-1",Hostname="n1"} nan 1767225715000',
  'DCGM_FI_DEV_POWER_USAGE{gpu="2",UUID="GPU-2",Hostname="n1"} NAN 1767225715000',
  'DCGM_FI_DEV_POWER_USAGE{gpu="0",UUID="GPU-0",Hostname="n1"} Infinity 1767225730000',
  'DCGM_FI_DEV_POWER_USAGE{gpu="1",UUID="GPU-1",Hostname="n1"} 1234567890123456789 1767225730000',
  'DCGM_FI_DEV_POWER_USAGE{gpu="2",UUID="GPU-2",Hostname="n1"} 0.1234567890123456 1767225730000',
  'DCGM_FI_DEV_POWER_USAGE{gpu="0",UUID="GPU-0",Hostname="n1"} -0 1767225745000',
  'DCGM_FI_DEV_POWER_USAGE{gpu="1",UUID="GPU-1",Hostname="n1"}\t7.\t1767225745000 \r',
  'DCGM_FI_DEV_POWER_USAGE{gpu="2",UUID="GPU-2",Hostname="n1"} .5 1767225745000\r\r',
  'DCGM_FI_DEV_POWER_USAGE{gpu="0",UUID="GPU-0",Hostname="n1"}1 1767225760000',
  '  DCGM_FI_DEV_POWER_USAGE{gpu="1",UUID="GPU-1",Hostname="n1"} 2 1767225760000',
  'DCGM_FI_DEV_POWER_USAGE {gpu="2",UUID="GPU-2",Hostname="n1"} 3 1767225760000',
  'DCGM_FI_DEV_POWER_USAGE{gpu="0",UUID="GPU-0",Hostname="n1"} 4 1767225775000 # {trace_id="x"} 1',
  'DCGM_FI_DEV_POWER_USAGE{gpu="1",UUID="GPU-1",Hostname="n1",note="a } b"} 5 1767225775000',
  'DCGM_FI_DEV_POWER_USAGE{gpu="2",UUID="GPU-2",Hostname="n1",note="a # b"} 6 1767225775000',
  'DCGM_FI_DEV_POWER_USAGE{gpu="0",UUID="GPU-0",Hostname="nœud-1"} 7 1767225790000',
  'DCGM_FI_DEV_POWER_USAGE{gpu="0",UUID="GPU-0",Hostname="n1"} 7\u00a0 1767225790000',
  'DCGM_FI_DEV_POWER_USAGE{gpu="1",UUID="GPU-1",Hostname="n1"} 8 1767225790000 9',
  'DCGM_FI_DEV_POWER_USAGE{gpu="2",UUID="GPU-2",Hostname="n1"} 0x10 1767225790000',
  'DCGM_FI_DEV_POWER_USAGE{gpu="2",UUID="GPU-2",Hostname="n1"} 9 -1767225790000',
  'DCGM_FI_DEV_POWER_USAGE{gpu="2",UUID="GPU-2",Hostname="n1"} 9 1767225790000.5',
  'DCGM_FI_DEV_POWER_USAGE{gpu="2",UUID="GPU-2",Hostname="n1"} 9 17672257900001234567',
  'DCGM_FI_DEV_POWER_USAGE{gpu="2",UUID="GPU-2",Hostname="n1"}',
  'DCGM_FI_DEV_POWER_USAGE{gpu="2",UUID="GPU-2",Hostname="n1"} ',
  '   ',
  '\u00a0',
  '',
  '# NOTE a comment',
  '# TYPE DCGM_FI_DEV_POWER_USAGE sometype',
  'DCGM_FI_DEV_POWER_USAGE{Hostname="n1"} 0',
  'go_goroutines{job="x"} 12',
  'dcgm_gpu_temp{gpu="1",UUID="GPU-1",Hostname="n1",exported_pod="p"} 41',
  'DCGM_FI_DEV_GPU_TEMP{gpu="1",uuid="GPU-1",hostname="n1"} 42 1767225800000',
  '}DCGM_FI_DEV_GPU_TEMP 1',
  'DCGM_FI_DEV_GPU_TEMP{gpu="1",uuid="GPU-1",hostname="n1"} 43 1767225815000',
  '# EOF',
  'DCGM_FI_DEV_GPU_TEMP{gpu="1",uuid="GPU-1",hostname="n1"} 44 1767225830000',
  '',
  'DCGM_FI_DEV_GPU_TEMP{gpu="1",uuid="GPU-1",hostname="n1"} 45 1767225845000',
].join('\n');

describe('ingestDcgmFiles reads as the parser does', () => {
  let emulated: string[] = [];
  beforeAll(async () => {
    const spec = join(emulatedDirectory, 'spec.yaml');
    writeFileSync(
      spec,
      `name: Llama 3 8B on 16 H100
workload:
  model: llama3-8b
  training: { totalTokens: 15T, sequenceLength: 8192, globalBatch: { tokens: 1048576 }, precision: fp8 }
system: { accelerator: h100-sxm, gpuCount: 16, scaleOut: { fabric: ndr-ib } }
plan: { tp: 1, pp: 1, sharding: zero1, microBatch: 1, recomputation: none }
twin: { days: 0.2, failureScale: 40 }
`,
    );
    const out = join(emulatedDirectory, 'run');
    const result = await run('emulate', spec, '--out', out);
    expect(result.code, result.stderr).toBe(0);
    emulated = filesUnder(join(out, 'dcgm'));
  }, 60_000);

  it('gives the points, skips and malformed lines of the parser on every fixture, emulated file and edge case', async () => {
    const edge = join(directory, 'edge.prom');
    writeFileSync(edge, `${EDGE_CASES}\n${EDGE_CASES.replaceAll('\n', '\r\n')}`);
    const binary = join(directory, 'binary.prom');
    writeFileSync(
      binary,
      Buffer.concat([
        Buffer.from('DCGM_FI_DEV_GPU_TEMP{gpu="0",UUID="GPU-0",Hostname="h\xff"} 1 1767225600000\n', 'latin1'),
        Buffer.from('DCGM_FI_DEV_GPU_TEMP{gpu="0",UUID="GPU-0",Hostname="h\xff"} 2 1767225615000\n', 'latin1'),
        Buffer.from([0xe2, 0x82, 0x7d, 0x20, 0x31, 0x0a]),
      ]),
    );
    const files = [...filesUnder(FIXTURES), ...emulated, edge, binary];
    expect(emulated.length).toBeGreaterThan(0);
    expect(files.length).toBeGreaterThan(8);
    for (const path of files) {
      const mtime = statSync(path).mtimeMs / 1000;
      const expected = referenceDcgm(new TextDecoder().decode(readFileSync(path)), mtime);
      for (const chunkBytes of [4096, undefined]) {
        const store = await openDuckDbStore(':memory:');
        const counts = await ingestDcgmFiles(store, 'r', [path], chunkBytes === undefined ? {} : { chunkBytes });
        const stored = await allPoints(store, 'r');
        const key = (p: GpuPoint) =>
          `${p.time} ${p.gpuKey} ${p.hostname} ${p.field} ${Object.is(p.value, -0) ? '-0' : p.value}`;
        expect(stored.map(key).sort(), path).toEqual(expected.points.map(key).sort());
        expect(counts, path).toMatchObject({
          points: expected.points.length,
          malformed: expected.malformed.length,
          skipped: expected.skipped,
          lines: expected.lines,
        });
        expect(
          Object.values(counts.skippedByName).reduce((a, b) => a + b, 0),
          path,
        ).toBe(expected.skipped);
        const events = (await store.events('r')).map((e) => e.detail.slice(path.length + 1));
        expect(events, path).toEqual(expected.malformed);
        await store.close();
      }
    }
  }, 120_000);
});
