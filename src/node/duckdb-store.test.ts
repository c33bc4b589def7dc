import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DuckDBInstance } from '@duckdb/node-api';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { GpuPoint, RunEvent } from '../app/ports.js';
import { TokenworksError } from '../errors.js';
import { parseStepLog, type StepSample } from '../telemetry/step-log.js';
import { GPU_POINT_BATCH, openDuckDbStore } from './duckdb-store.js';

const LOG = [
  ' [2024-09-03 15:54:54] iteration        1/     100 | consumed samples:         1024 | elapsed time per iteration (ms): 9512.3 | throughput per GPU (TFLOP/s/GPU): 402.1 | learning rate: 1.500000E-04 | global batch size:  1024 | lm loss: 1.012345E+01 | loss scale: 1.0 | grad norm: 0.912 | number of skipped iterations:   0 | number of nan iterations:   0 |',
  ' [2024-09-03 15:55:04.250000] iteration        2/     100 | consumed samples:         2048 | elapsed time per iteration (ms): 9498.0 | learning rate: 1.500000E-04 | global batch size:  1024 | lm loss: nan | loss scale: 1.0 | number of skipped iterations:   0 | number of nan iterations:   1 |',
  'step: 20  loss: 11.83506  grad_norm:  9.6669  memory: 48.87GiB(51.44%)  tps: 4,376  tflops: 253.41  mfu: 25.62%',
].join('\n');

let directory: string;
beforeEach(() => {
  directory = mkdtempSync(join(tmpdir(), 'tokenworks-store-'));
});
afterEach(() => {
  rmSync(directory, { recursive: true, force: true });
});

const points = (n: number, start = 0): GpuPoint[] =>
  Array.from({ length: n }, (_, i) => ({
    time: 1_767_225_600 + Math.floor((start + i) / 4) * 15,
    gpuKey: `host-0/GPU-${(start + i) % 4}`,
    hostname: 'host-0',
    field: (start + i) % 2 === 0 ? 'DCGM_FI_DEV_POWER_USAGE' : 'DCGM_FI_DEV_GPU_UTIL',
    value: (start + i) % 700,
  }));

describe('openDuckDbStore', () => {
  it('round-trips steps, GPU points, events and cursors', async () => {
    const store = await openDuckDbStore(':memory:');
    const { samples } = parseStepLog(LOG);
    expect(samples).toHaveLength(3);
    await store.appendSteps('run-a', 'log:x', samples, { offset: 100, nextLine: 4 });
    const gpu: GpuPoint[] = [
      { time: 2, gpuKey: 'h/GPU-1', hostname: 'h', field: 'DCGM_FI_DEV_POWER_USAGE', value: 700.5 },
      { time: 1, gpuKey: 'h/GPU-1', hostname: 'h', field: 'DCGM_FI_DEV_POWER_USAGE', value: 650 },
      { time: 1, gpuKey: '/gpu0', field: 'DCGM_FI_DEV_GPU_TEMP', value: Number.NaN },
    ];
    await store.appendGpuPoints('run-a', 'dcgm:y', gpu, { offset: 10, nextLine: 2 });
    const events: RunEvent[] = [
      { time: 5, kind: 'xid', gpuKey: 'h/GPU-1', detail: 'XID 79' },
      { time: 6, kind: 'malformed', detail: "x.log:3: it's bad" },
    ];
    await store.appendEvents('run-a', 'events', events, { offset: 1, nextLine: 2 });

    expect(await store.steps('run-a')).toEqual(samples);
    const batches: GpuPoint[][] = [];
    for await (const batch of store.gpuPoints('run-a')) batches.push([...batch]);
    expect(batches.flat()).toEqual([gpu[2], gpu[1], gpu[0]]);
    expect(await store.events('run-a')).toEqual(events);
    expect(await store.cursor('run-a', 'log:x')).toEqual({ offset: 100, nextLine: 4 });
    expect(await store.cursor('run-a', 'nope')).toBeUndefined();
    expect(await store.counts('run-a')).toEqual({ steps: 3, gpuPoints: 3, events: 2 });
    expect(await store.counts('run-b')).toEqual({ steps: 0, gpuPoints: 0, events: 0 });
    expect(await store.runs()).toEqual(['run-a']);
    const only: GpuPoint[] = [];
    for await (const batch of store.gpuPoints('run-a', { fields: ['DCGM_FI_DEV_GPU_TEMP'] })) only.push(...batch);
    expect(only).toEqual([gpu[2]]);
    await store.close();
    await store.close();
  });

  it('reads events of one kind, the first few, and counts them in the store', async () => {
    const store = await openDuckDbStore(':memory:');
    const events: RunEvent[] = Array.from({ length: 10 }, (_, i) => ({
      time: i,
      kind: i % 3 === 0 ? 'xid' : 'malformed',
      detail: `event ${i}`,
    }));
    await store.appendEvents('r', 'e', events, { offset: 1, nextLine: 2 });
    // Six of ten are malformed (i = 1, 2, 4, 5, 7, 8); the first three of them in order.
    expect(await store.countEvents('r', 'malformed')).toBe(6);
    expect((await store.events('r', { kind: 'malformed', limit: 3 })).map((e) => e.detail)).toEqual([
      'event 1',
      'event 2',
      'event 4',
    ]);
    expect(await store.events('r', { limit: 0 })).toEqual([]);
    expect(await store.events('r')).toHaveLength(10);
    await expect(store.events('r', { limit: -1 })).rejects.toThrow(/limit must be a whole number/);
    await store.close();
  });

  it('stores the fields of every format once (typed columns, field sets) and reads back exactly what was parsed', async () => {
    const text = [
      LOG,
      ' [2024-09-03 15:55:14] iteration        3/     100 | consumed samples:         3072 | elapsed time per iteration (ms): 9501.7 | learning rate: -0 | global batch size:  1024 | lm loss: inf | loss scale: -inf | weird, key: 1e400 | number of skipped iterations:   0 | number of nan iterations:   0 |',
      'iteration 4/ 100 | elapsed time per iteration (ms): 0.1 | mtp loss: 3.25 | loss scale: 65536.0 |',
      // 63.7 ms: 0.0637 s × 1000 is 63.70000000000001, so this iteration time is stored as printed.
      'iteration 5/ 100 | elapsed time per iteration (ms): 63.7 | mtp loss: 3.25 | loss scale: 65536.0 |',
      'Training epoch 0, iteration 74/99 | lr: 1.124e-05 | global_batch_size: 128 | global_step: 74 | reduced_train_loss: 11.87 | train_step_timing in s: 8.768 | TFLOPS_per_GPU: 865.7 | consumed_samples: 9600',
      'Epoch 0: 100%|██████████| 10/10 [00:06<00:00, reduced_train_loss=6.93, global_step=9.000, consumed_samples=80.0, train_step_timing in s=0.615]',
      'step: 21  loss: 11.5  grad_norm:  9.0  memory: 48.87GiB(51.44%)  tps: 4,376  tflops: 253.41  mfu: N/A',
      'step,time,tokens,loss',
      '5,0.5,1048576,2.5',
      '6,NaN,1048576,-0',
      '{"step": 7, "time": 0.25, "samples": 512, "loss": 2.25}',
    ].join('\n');
    const { samples, malformed } = parseStepLog(text);
    expect(malformed).toEqual([]);
    expect(new Set(samples.map((s) => s.format))).toEqual(new Set(['megatron', 'nemo', 'torchtitan', 'csv', 'jsonl']));
    const path = join(directory, 'fields.duckdb');
    let store = await openDuckDbStore(path);
    await store.appendSteps('r', 'log', samples.slice(0, 4), { offset: 1, nextLine: 2 });
    await store.appendSteps('r', 'log', samples.slice(4), { offset: 2, nextLine: 3 });
    expect(await store.steps('r')).toEqual(samples);
    await store.close();
    store = await openDuckDbStore(path);
    expect(await store.steps('r')).toEqual(samples);
    await store.appendSteps('r', 'log', samples, { offset: 3, nextLine: 4 });
    expect(await store.steps('r')).toEqual([...samples, ...samples]);
    await store.close();
    const instance = await DuckDBInstance.create(path);
    const connection = await instance.connect();
    const first = async (sql: string) => (await connection.runAndReadAll(sql)).getRows()[0]?.[0];
    const sets = await first('SELECT count(*) FROM step_field_sets');
    // The typed values are not stored twice: the first Megatron line's field values hold only the untyped loss scale
    // (its 9512.3 ms is its 9.5123 s × 1000 exactly); the 63.7 ms line's hold its iteration time too, beside its
    // untyped `mtp loss` and loss scale.
    const duplicated = await first('SELECT field_values FROM steps ORDER BY seq LIMIT 1');
    expect(Number(sets)).toBeLessThanOrEqual(samples.length + 1);
    expect(duplicated).toBe(',,,,,,1,,,');
    expect(
      await first("SELECT field_values FROM steps WHERE step = 5 AND format = 'megatron' ORDER BY seq LIMIT 1"),
    ).toBe('63.7,3.25,65536');
    connection.closeSync();
    instance.closeSync();
  });

  it('writes the same steps rows appended directly as staged (NULLs, NaN, -0, every format, several chunks)', async () => {
    const lines = [
      LOG,
      ' [2024-09-03 15:55:14] iteration        3/     100 | consumed samples:         3072 | elapsed time per iteration (ms): 9501.7 | learning rate: -0 | global batch size:  1024 | lm loss: inf | loss scale: -inf | number of skipped iterations:   0 | number of nan iterations:   0 |',
      'Training epoch 0, iteration 74/99 | lr: 1.124e-05 | global_batch_size: 128 | global_step: 74 | reduced_train_loss: 11.87 | train_step_timing in s: 8.768 | consumed_samples: 9600',
      'step,time,tokens,loss',
      '5,0.5,1048576,2.5',
      '6,NaN,1048576,-0',
      '{"step": 7, "time": 0.25, "samples": 512}',
    ].join('\n');
    const text = Array.from({ length: 700 }, () => lines).join('\n');
    const { samples } = parseStepLog(text);
    expect(samples.length).toBeGreaterThan(2 * 2048);
    const rows = async (bulkCopy: boolean) => {
      const path = join(directory, `steps-${bulkCopy}.duckdb`);
      const store = await openDuckDbStore(path, { bulkCopy });
      await store.appendSteps('run-a', 'log:a', samples.slice(0, 3000), { offset: 1, nextLine: 2 });
      await store.appendSteps('run-a', 'log:a', samples.slice(3000), { offset: 2, nextLine: 3 });
      expect(await store.steps('run-a')).toEqual(samples);
      await store.close();
      const instance = await DuckDBInstance.create(path);
      const connection = await instance.connect();
      const all = (await connection.runAndReadAll('SELECT * FROM steps ORDER BY seq')).getRows();
      const sets = (await connection.runAndReadAll('SELECT * FROM step_field_sets ORDER BY id')).getRows();
      connection.closeSync();
      instance.closeSync();
      return { all, sets };
    };
    const direct = await rows(true);
    expect(direct.all).toHaveLength(samples.length);
    expect(direct).toEqual(await rows(false));
  });

  it('reads a store written before field sets (a fields JSON column) and appends to it', async () => {
    const path = join(directory, 'old.duckdb');
    const instance = await DuckDBInstance.create(path);
    const connection = await instance.connect();
    await connection.run(
      'CREATE TABLE steps (run VARCHAR NOT NULL, source VARCHAR NOT NULL, seq BIGINT NOT NULL, line DOUBLE, format VARCHAR, step DOUBLE, iteration_seconds DOUBLE, loss DOUBLE, time DOUBLE, timestamp VARCHAR, consumed_samples DOUBLE, tokens DOUBLE, train_iterations DOUBLE, global_batch_size DOUBLE, tflops_per_gpu DOUBLE, learning_rate DOUBLE, tokens_per_second_per_gpu DOUBLE, grad_norm DOUBLE, mfu_percent DOUBLE, memory_gib DOUBLE, skipped_iterations DOUBLE, nan_iterations DOUBLE, fields VARCHAR)',
    );
    await connection.run(
      `INSERT INTO steps (run, source, seq, line, format, step, iteration_seconds, loss, fields) VALUES ('r', 'log', 0, 1, 'csv', 1, 0.5, 'NaN', '{"step":1,"time":0.5,"loss":"NaN"}')`,
    );
    connection.closeSync();
    instance.closeSync();
    const store = await openDuckDbStore(path);
    const old = {
      format: 'csv',
      line: 1,
      step: 1,
      iterationSeconds: 0.5,
      loss: Number.NaN,
      fields: { step: 1, time: 0.5, loss: Number.NaN },
    };
    expect(await store.steps('r')).toEqual([old]);
    const { samples } = parseStepLog(LOG);
    await store.appendSteps('r', 'log', samples, { offset: 1, nextLine: 2 });
    expect(await store.steps('r')).toEqual([old, ...samples]);
    await store.close();
  });

  it('appends a batch and its cursor atomically: a failing append leaves neither', async () => {
    const store = await openDuckDbStore(':memory:');
    await store.appendGpuPoints('r', 's', points(10), { offset: 10, nextLine: 11 });
    const bad = [...points(5, 10), { time: 1, gpuKey: '', field: 'F', value: 1 }];
    await expect(store.appendGpuPoints('r', 's', bad, { offset: 16, nextLine: 17 })).rejects.toThrow(TokenworksError);
    await expect(store.appendSteps('r', 's', [], { offset: -1, nextLine: 1 })).rejects.toThrow(/offset/);
    expect(await store.counts('r')).toEqual({ steps: 0, gpuPoints: 10, events: 0 });
    expect(await store.cursor('r', 's')).toEqual({ offset: 10, nextLine: 11 });
    // The store still works after the rollback, and the series of the failed batch are not half-known.
    await store.appendGpuPoints('r', 's', points(5, 10), { offset: 15, nextLine: 16 });
    expect(await store.counts('r')).toEqual({ steps: 0, gpuPoints: 15, events: 0 });
    await store.close();
  });

  it('is durable: a reopened file holds every committed row and cursor, and appends after them', async () => {
    const path = join(directory, 'store.duckdb');
    const { samples } = parseStepLog(LOG);
    let store = await openDuckDbStore(path);
    await store.appendSteps('r', 'log', samples.slice(0, 2), { offset: 50, nextLine: 3 });
    await store.appendGpuPoints('r', 'dcgm', points(8), { offset: 8, nextLine: 9 });
    await store.close();
    store = await openDuckDbStore(path);
    expect(await store.cursor('r', 'log')).toEqual({ offset: 50, nextLine: 3 });
    await store.appendSteps('r', 'log', samples.slice(2), { offset: 80, nextLine: 4 });
    await store.appendGpuPoints('r', 'dcgm', points(8, 8), { offset: 16, nextLine: 17 });
    expect(await store.steps('r')).toEqual(samples);
    const all: GpuPoint[] = [];
    for await (const batch of store.gpuPoints('r')) all.push(...batch);
    expect(all).toHaveLength(16);
    expect(new Set(all.map((p) => `${p.gpuKey} ${p.field}`)).size).toBe(4);
    await store.close();
  });

  it('holds a step append open when asked: the next append joins it, any other operation or the close commits it', async () => {
    const path = join(directory, 'store.duckdb');
    const { samples } = parseStepLog(LOG);
    let store = await openDuckDbStore(path);
    await store.appendStepSegments('r', 'log', [samples.slice(0, 1)], { offset: 10, nextLine: 2 }, { hold: true });
    await store.appendStepSegments('r', 'log', [samples.slice(1, 2)], { offset: 20, nextLine: 3 }, { hold: true });
    // A read commits the held rows first, with the last cursor.
    expect(await store.cursor('r', 'log')).toEqual({ offset: 20, nextLine: 3 });
    await store.appendStepSegments('r', 'log', [samples.slice(2)], { offset: 30, nextLine: 4 }, { hold: true });
    await store.close();
    store = await openDuckDbStore(path);
    expect(await store.cursor('r', 'log')).toEqual({ offset: 30, nextLine: 4 });
    expect(await store.steps('r')).toEqual(samples);
    // A held append that fails rolls back every append it joined, and their cursor stays where it was.
    await store.appendStepSegments('r', 'log', [samples.slice(0, 1)], { offset: 40, nextLine: 5 }, { hold: true });
    const bad: StepSample[] = [samples[0] as StepSample];
    Object.defineProperty(bad, 0, {
      get() {
        throw new Error('unreadable row');
      },
    });
    await expect(store.appendStepSegments('r', 'log', [bad], { offset: 50, nextLine: 6 })).rejects.toThrow(
      /unreadable row/,
    );
    expect(await store.cursor('r', 'log')).toEqual({ offset: 30, nextLine: 4 });
    expect(await store.steps('r')).toEqual(samples);
    await store.close();
  });

  it('appends more than a row group at a memory limit of its own (cache checks after commits), and reads back every point', async () => {
    const path = join(directory, 'store.duckdb');
    const store = await openDuckDbStore(path, { memoryLimit: '64MB' });
    for (let k = 0; k < 3; k++) {
      await store.appendGpuPoints('r', 'dcgm', points(65_536, k * 65_536), { offset: k + 1, nextLine: k + 2 });
    }
    expect(await store.counts('r')).toEqual({ steps: 0, gpuPoints: 3 * 65_536, events: 0 });
    await store.close();
    const instance = await DuckDBInstance.create(path, { memory_limit: '64MB' });
    const connection = await instance.connect();
    const reader = await connection.runAndReadAll('SELECT count(*), sum(value) FROM gpu_samples');
    expect(reader.getRows()).toEqual([[BigInt(3 * 65_536), points(3 * 65_536).reduce((sum, p) => sum + p.value, 0)]]);
    instance.closeSync();
  });

  it('streams GPU points in time order in bounded batches', async () => {
    const store = await openDuckDbStore(':memory:');
    const n = GPU_POINT_BATCH + 5000;
    // Appended newest first: the store sorts.
    await store.appendGpuPoints('r', 's', points(n).reverse(), { offset: n, nextLine: n + 1 });
    const sizes: number[] = [];
    let last = Number.NEGATIVE_INFINITY;
    let ordered = true;
    for await (const batch of store.gpuPoints('r')) {
      sizes.push(batch.length);
      for (const point of batch) {
        if (point.time < last) ordered = false;
        last = point.time;
      }
    }
    expect(ordered).toBe(true);
    expect(Math.max(...sizes)).toBeLessThanOrEqual(GPU_POINT_BATCH + 2048);
    expect(sizes.reduce((a, b) => a + b, 0)).toBe(n);
    expect(sizes.length).toBeGreaterThan(1);
    await store.close();
  });

  it('stores the same GPU points by bulk copy into the vectors as by setItem (NaN, -0, ±Infinity, a partial chunk)', async () => {
    const special = [Number.NaN, -0, Number.POSITIVE_INFINITY, Number.NEGATIVE_INFINITY, 1e-300, -123.456];
    const input = points(2048 * 2 + 77).map((point, i) => ({ ...point, value: special[i % 9] ?? point.value }));
    const read = async (bulkCopy: boolean) => {
      const store = await openDuckDbStore(':memory:', { bulkCopy });
      expect(store.bulkCopy).toBe(bulkCopy);
      await store.appendGpuPoints('r', 's', input, { offset: 1, nextLine: 2 });
      const all: GpuPoint[] = [];
      for await (const batch of store.gpuPoints('r')) all.push(...batch);
      await store.close();
      return all;
    };
    const bulk = await read(true);
    expect(bulk).toHaveLength(input.length);
    expect(bulk).toEqual(await read(false));
    const sorted = [...input].sort((a, b) => a.time - b.time || a.gpuKey.localeCompare(b.gpuKey));
    expect(bulk.map((p) => p.value).sort()).toEqual(sorted.map((p) => p.value).sort());
  });

  it('exports a run as Parquet files that read back with the same rows and sums', async () => {
    const store = await openDuckDbStore(':memory:');
    const { samples } = parseStepLog(LOG);
    await store.appendSteps('r', 'log', samples, { offset: 1, nextLine: 2 });
    await store.appendSteps('other', 'log', samples, { offset: 1, nextLine: 2 });
    await store.appendGpuPoints('r', 'dcgm', points(1000), { offset: 1, nextLine: 2 });
    await store.appendEvents('r', 'e', [{ time: 1, kind: 'restart', detail: 'seen' }], { offset: 1, nextLine: 2 });
    const folder = join(directory, "it's exported");
    const exported = await store.exportParquet('r', folder);
    expect(exported.map((e) => [e.table, e.rows])).toEqual([
      ['steps', 3],
      ['gpu_points', 1000],
      ['events', 1],
    ]);
    const instance = await DuckDBInstance.create(':memory:');
    const connection = await instance.connect();
    const read = async (sql: string) => (await connection.runAndReadAll(sql)).getRows()[0];
    const file = (table: string) => `'${join(folder, `${table}.parquet`).replaceAll("'", "''")}'`;
    expect(
      await read(`SELECT count(*), sum(value), count(DISTINCT gpu_key) FROM read_parquet(${file('gpu_points')})`),
    ).toEqual([1000n, points(1000).reduce((sum, p) => sum + p.value, 0), 4n]);
    expect(await read(`SELECT count(*), sum(step) FROM read_parquet(${file('steps')})`)).toEqual([3n, 23]);
    expect(await read(`SELECT count(*) FROM read_parquet(${file('events')})`)).toEqual([1n]);
    connection.closeSync();
    instance.closeSync();
    await store.close();
  });

  it('refuses a file that is not a DuckDB database, and bad names, with a TokenworksError naming them', async () => {
    const path = join(directory, 'notes.txt');
    writeFileSync(path, 'this is not a database\n'.repeat(500));
    const error = await openDuckDbStore(path).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(TokenworksError);
    expect((error as TokenworksError).message).toContain(path);
    expect((error as TokenworksError).message).toMatch(/not a readable DuckDB database.*new --store file/);
    const store = await openDuckDbStore(':memory:');
    await expect(store.appendSteps('x'.repeat(201), 's', [], { offset: 0, nextLine: 1 })).rejects.toThrow(
      /201 characters long: give a run name of 1 to 200/,
    );
    await expect(store.cursor('r', '')).rejects.toThrow(/source name "" is empty/);
    await store.close();
  });
});
