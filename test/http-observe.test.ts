/**
 * `POST /v1/observe` and `POST /v1/jobs/observe` (docs/api.md) on a real socket, on an emulated run (Llama 3 8B on
 * 16 H100, its training log and dcgm scrape files in the server's data dir): the answer is what
 * `tokenworks observe --json` prints for the same files (the CLI run here is the independent expectation), what was
 * read is in the server's store (as many steps as the log has lines) and observing the run again without files
 * reads it from there; paths outside the data dir, through `..`, an absolute path or a link, are 422s naming the
 * field, and a server without a data dir reads no files.
 */
import { readFile, symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ObserveOutputSchema } from '../src/app/outputs.js';
import { ProblemSchema } from '../src/http/problem.js';
import { type RunningServer, startServer } from '../src/http/server.js';
import { parsePrometheusText } from '../src/telemetry/prometheus-text.js';
import { run } from './run-cli.js';
import { type EmulatedFiles, emulateObservedRun, OBSERVED_SPEC } from './support/observed-run.js';

// biome-ignore lint/suspicious/noExplicitAny: the tests read answers field by field after checking them against their schema
type Json = any;

let files: EmulatedFiles;
let server: RunningServer;
/** A server started without a data dir. */
let bare: RunningServer;
/** What the CLI prints for the same run. */
let cli: Json;

beforeAll(async () => {
  files = await emulateObservedRun();
  // A link inside the data dir that leads out of it.
  await symlink('/etc/hostname', join(files.dir, 'escape.log'));
  server = await startServer({ port: 0, threads: 1, dataDir: files.dir });
  bare = await startServer({ port: 0, threads: 1 });
  const result = await run(
    'observe',
    files.spec,
    '--log',
    files.log,
    '--dcgm',
    files.dcgmDir,
    '--replicas',
    '0',
    '--json',
  );
  expect(result.code, result.stderr).toBe(0);
  cli = JSON.parse(result.stdout);
}, 120_000);

afterAll(async () => {
  await server?.close();
  await bare?.close();
});

const post = (target: RunningServer, path: string, body: unknown) =>
  fetch(new URL(path, target.url), {
    method: 'POST',
    body: JSON.stringify(body),
    headers: { 'content-type': 'application/json' },
  });

/** A problem answer of `status`: its document. */
async function problem(response: Response, status: number): Promise<Json> {
  const body = await response.json();
  expect(response.status, JSON.stringify(body)).toBe(status);
  expect(response.headers.get('content-type')).toMatch(/^application\/problem\+json/);
  expect(ProblemSchema.safeParse(body).success).toBe(true);
  return body;
}

const request = { spec: OBSERVED_SPEC, run: 'emulated', logs: ['run/training.log'], dcgm: ['run/dcgm'], replicas: 0 };

describe('POST /v1/observe', () => {
  it('answers what tokenworks observe --json prints for the same files, and stores what it read', async () => {
    const response = await post(server, '/v1/observe', request);
    const body: Json = await response.json();
    expect(response.status, JSON.stringify(body).slice(0, 500)).toBe(200);
    const parsed = ObserveOutputSchema.safeParse(body);
    expect(parsed.success, parsed.error?.message).toBe(true);
    expect(body.kpis).toEqual(cli.kpis);
    expect(body.planVersusActual).toEqual(cli.planVersusActual);
    expect(body.gpu).toEqual({ ...cli.gpu, source: body.gpu.source });
    expect(body.predictedStep).toEqual(cli.predictedStep);
    // The paths as the request gave them, not the server's.
    expect(body.inputs.logs).toEqual(['run/training.log']);
    expect(body.inputs.run).toBe('emulated');

    const store = await server.api.observed.store();
    const lines = (await readFile(files.log, 'utf8')).trimEnd().split('\n').length;
    const counts = await store.counts('emulated');
    expect(counts.steps).toBe(lines);
    // Every dcgm sample of the scrape files (parsed here with the exposition parser), not only the KPIs' fields.
    let samples = 0;
    for (const file of files.dcgm) {
      samples += parsePrometheusText(await readFile(file, 'utf8')).samples.filter((s) =>
        s.name.startsWith('DCGM_'),
      ).length;
    }
    expect(samples).toBeGreaterThan(cli.gpu.kpis.counts.samples);
    expect(counts.gpuPoints).toBe(samples);
  });

  it('observes the run again from the store, without files, to the same KPIs', async () => {
    const response = await post(server, '/v1/observe', { spec: OBSERVED_SPEC, run: 'emulated', replicas: 0 });
    const body: Json = await response.json();
    expect(response.status, JSON.stringify(body).slice(0, 500)).toBe(200);
    expect(body.kpis).toEqual(cli.kpis);
    expect(body.gpu.kpis.counts).toEqual(cli.gpu.kpis.counts);
    expect(body.gpu.kpis.power.meanPerGpuW).toBeCloseTo(cli.gpu.kpis.power.meanPerGpuW, 9);
  });

  it('runs as a job whose result is the same outcome', async () => {
    const started = await post(server, '/v1/jobs/observe', request);
    expect(started.status).toBe(202);
    const { id, kind } = (await started.json()) as { id: string; kind: string };
    expect(kind).toBe('observe');
    let job: Json;
    do {
      await new Promise((resolve) => setTimeout(resolve, 100));
      job = await (await fetch(new URL(`/v1/jobs/${id}`, server.url))).json();
    } while (job.status === 'running');
    expect(job.status, JSON.stringify(job.problem)).toBe('succeeded');
    expect(job.result.kpis).toEqual(cli.kpis);
    // Observing again read nothing twice.
    const lines = (await readFile(files.log, 'utf8')).trimEnd().split('\n').length;
    expect((await (await server.api.observed.store()).counts('emulated')).steps).toBe(lines);
  });

  it('refuses paths outside the data dir, naming the field', async () => {
    for (const [field, value] of [
      ['logs', '../../etc/passwd'],
      ['logs', '/etc/passwd'],
      ['logs', 'escape.log'],
      ['dcgm', '/etc'],
    ] as const) {
      const body = await problem(await post(server, '/v1/observe', { ...request, logs: [], [field]: [value] }), 422);
      expect(body.issues.map((i: { path: string }) => i.path)).toEqual([`${field}.0`]);
    }
    const missing = await problem(await post(server, '/v1/observe', { ...request, logs: ['run/nothing.log'] }), 422);
    expect(missing.issues[0].path).toBe('logs.0');
    expect(missing.issues[0].message).toMatch(/no such file/);
  });

  it('reads no files on a server without a data dir', async () => {
    const body = await problem(await post(bare, '/v1/observe', request), 422);
    expect(body.issues[0].path).toBe('logs.0');
    expect(body.issues[0].message).toMatch(/--data-dir/);
  });

  it('names the fields of a bad request and of a bad spec', async () => {
    const unknown = await problem(await post(server, '/v1/observe', { ...request, replica: 3 }), 422);
    expect(unknown.issues.map((i: { path: string }) => i.path)).toEqual(['']);
    expect(unknown.issues[0].message).toMatch(/replica/);
    const noRun = await problem(await post(server, '/v1/observe', { ...request, run: undefined }), 422);
    expect(noRun.issues.map((i: { path: string }) => i.path)).toEqual(['run']);
    const badSpec = OBSERVED_SPEC.replace('gpuCount: 16', 'gpuCount: -16');
    const spec = await problem(await post(server, '/v1/observe', { ...request, spec: badSpec }), 422);
    expect(spec.issues.map((i: { path: string }) => i.path)).toContain('spec.system.gpuCount');
    const nothing = await problem(await post(server, '/v1/observe', { spec: OBSERVED_SPEC, run: 'never-seen' }), 422);
    expect(nothing.issues[0].path).toBe('logs');
  });

  it('keeps what it read in a --store file: a server started again on it observes the run without files', async () => {
    const file = join(files.dir, 'observed.duckdb');
    const first = await startServer({ port: 0, threads: 1, dataDir: files.dir, store: file });
    try {
      expect((await post(first, '/v1/observe', request)).status).toBe(200);
    } finally {
      await first.close();
    }
    const again = await startServer({ port: 0, threads: 1, store: file });
    try {
      const response = await post(again, '/v1/observe', { spec: OBSERVED_SPEC, run: 'emulated', replicas: 0 });
      const body: Json = await response.json();
      expect(response.status, JSON.stringify(body).slice(0, 300)).toBe(200);
      expect(body.kpis).toEqual(cli.kpis);
      expect(body.gpu.kpis.counts).toEqual(cli.gpu.kpis.counts);
    } finally {
      await again.close();
    }
    await expect(startServer({ port: 0, threads: 1, dataDir: join(files.dir, 'no-such-dir') })).rejects.toThrow(
      /--data-dir/,
    );
  }, 60_000);

  it('reads a log the data dir holds, even an empty one (an empty run, no figures)', async () => {
    await writeFile(join(files.dir, 'empty.log'), '');
    const response = await post(server, '/v1/observe', {
      spec: OBSERVED_SPEC,
      run: 'empty',
      logs: ['empty.log'],
      replicas: 0,
    });
    const body: Json = await response.json();
    expect(response.status, JSON.stringify(body).slice(0, 300)).toBe(200);
    expect(body.kpis.run.empty).toBe(true);
  });
});
