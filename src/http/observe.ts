/**
 * `POST /v1/observe` and `POST /v1/jobs/observe`: the CLI's `tokenworks observe` over HTTP. The body is a JSON
 * (or YAML) request: the spec (or the JSON `tokenworks plan` prints), the run's name in the server's store, and
 * what to read: training logs and dcgm-exporter scrape files (paths under the server's `--data-dir`, nowhere
 * else), dcgm-exporter endpoints, or a Prometheus that scraped the run's GPUs; or nothing new, for a run the store
 * already holds (one a Prometheus forwarded by remote write, `remote-write.ts`). What is read goes into the
 * server's embedded store (`--store FILE`, or an in-memory one), so that observing again reads nothing twice; the
 * answer is what `tokenworks observe --json` prints. Each run's latest outcome is kept for `/metrics`
 * (`metrics.ts`: its KPIs, plan gap and straggler scores).
 *
 * Paths: a path is taken relative to the data dir, resolved through symbolic links, and refused (422 naming the
 * field, `logs.0`) unless what it names lies inside the data dir; a server started without one reads no files.
 * @module
 */
import { realpath, stat } from 'node:fs/promises';
import { isAbsolute, relative, resolve, sep } from 'node:path';
import { z } from 'zod';
import type { ObserveOutcome } from '../app/observe.js';
import type { TelemetryStore } from '../app/ports.js';
import type { SpecIssue } from '../spec/issues.js';
import { loadSpec, parseText, type SpecFormat } from '../spec/load.js';
import type { ResolvedSpec } from '../spec/resolve.js';
import { type HttpProblem, issuesProblem } from './problem.js';
import type { RunContext, UseCaseRequest } from './request.js';

/** The problem of request fields beside the spec (`run`, `logs.0`, `window`): 422 `REQUEST_INVALID` with their paths. */
const requestProblem = (issues: readonly SpecIssue[]): HttpProblem => issuesProblem(issues, undefined, true);

/** Most log files one observe request names (the CLI's bound). */
export const MAX_OBSERVE_LOGS = 1000;

/** Most dcgm sources one observe request names, folders counting once (each expands to its files). */
export const MAX_OBSERVE_DCGM = 1000;

/** Most twin replicas of an observe request's band and forecast. */
export const MAX_OBSERVE_REPLICAS = 10_000;

/** Twin replicas of the detectors' expected gains at most (each policy is a paired study; the CLI's figure). */
const DETECT_REPLICAS = 20;

/** A run's name: a store key and a metric label, so short and plain. */
const RUN_NAME = /^[A-Za-z0-9][A-Za-z0-9._:@-]{0,127}$/;

/** A time: Unix seconds, or ISO 8601 (UTC unless it says otherwise). */
const time = z
  .union([z.number().min(0).max(1e11), z.string().max(64)])
  .describe('Unix seconds, or ISO 8601 (UTC unless it says otherwise)');

/** The body of `POST /v1/observe`: what `tokenworks observe` takes as arguments and flags. */
export const ObserveRequestSchema = z
  .object({
    spec: z
      .union([z.record(z.string(), z.unknown()), z.string().max(1_000_000)])
      .describe('the spec document (or the JSON `tokenworks plan` prints), as an object or as YAML/JSON text'),
    run: z
      .string()
      .regex(
        RUN_NAME,
        'a name of letters, digits and . _ : @ -, at most 128 characters, starting with a letter or digit',
      )
      .describe('the run’s name in the store and in /metrics (`--run`)'),
    logs: z
      .array(z.string().min(1).max(4096))
      .max(MAX_OBSERVE_LOGS)
      .default([])
      .describe('training logs or Megatron CI golden files, paths under the server’s --data-dir (`--log`)'),
    dcgm: z
      .array(z.string().min(1).max(4096))
      .max(MAX_OBSERVE_DCGM)
      .default([])
      .describe(
        'dcgm-exporter scrape files or folders under --data-dir, or exporter endpoints http(s)://…/metrics scraped once (`--dcgm`)',
      ),
    prometheus: z
      .object({
        url: z
          .string()
          .regex(/^https?:\/\//i, 'an http(s) URL')
          .max(2048),
        match: z.string().max(2000).optional().describe('the run’s series, e.g. {Hostname=~"node-0[0-7]"}'),
        from: time.optional().describe('window start (default the log’s first stamp)'),
        to: time.optional().describe('window end (default the log’s last stamp)'),
      })
      .strict()
      .optional()
      .describe(
        'a Prometheus or VictoriaMetrics that scraped the run’s GPUs: GPU KPIs computed in PromQL (`--prometheus`)',
      ),
    window: z
      .object({ fromStep: z.number().int().min(0).optional(), toStep: z.number().int().min(0).optional() })
      .strict()
      .optional()
      .describe('also report the KPIs of these iterations (`--window`)'),
    replicas: z
      .number()
      .int()
      .min(0)
      .max(MAX_OBSERVE_REPLICAS)
      .default(100)
      .describe('replicas of the twin band and of the forecast; 0 for neither'),
    seed: z
      .number()
      .int()
      .min(-(2 ** 31))
      .max(2 ** 31 - 1)
      .default(1),
    forecast: z.boolean().default(true).describe('forecast the time to train (`--no-forecast`: false)'),
    deadlineDays: z.number().gt(0).max(3650).optional(),
    detect: z.boolean().default(false).describe('run the detectors and propose actions (`--detect`)'),
  })
  .strict();

/** A parsed observe request. */
export type ObserveRequest = z.infer<typeof ObserveRequestSchema>;

/** The latest outcome of one observed run, as `/metrics` exports it. */
export interface ObservedRun {
  readonly run: string;
  readonly outcome: ObserveOutcome;
  /** Unix milliseconds when it was observed. */
  readonly at: number;
}

/** Where the server keeps observed runs, and what it may read. */
export interface ObservedRunsOptions {
  /** The store: a DuckDB file, `:memory:` (default), or a store already open (tests). */
  readonly store?: string | TelemetryStore;
  /** The one folder whose files observe requests may name; none: no files. */
  readonly dataDir?: string;
}

/**
 * The server's observed runs: the embedded store (opened on first use, closed with the server), the data dir
 * paths are checked against, and each run's latest outcome.
 */
export class ObservedRuns {
  readonly dataDir: string | undefined;
  readonly #store: string | TelemetryStore;
  #opened: Promise<TelemetryStore> | undefined;
  #realDataDir: Promise<string> | undefined;
  readonly #latest = new Map<string, ObservedRun>();

  constructor(options: ObservedRunsOptions = {}) {
    this.#store = options.store ?? ':memory:';
    this.dataDir = options.dataDir;
  }

  /** The store, opened on first use. */
  store(): Promise<TelemetryStore> {
    if (this.#opened === undefined) {
      const given = this.#store;
      this.#opened =
        typeof given === 'string'
          ? import('../node/observe-inputs.js').then((m) => m.openObserveStore(given))
          : Promise.resolve(given);
      // A store that failed to open is tried again on the next request.
      this.#opened.catch(() => {
        this.#opened = undefined;
      });
    }
    return this.#opened;
  }

  /** Keeps `outcome` as `run`'s latest (a run observed again replaces its figures). */
  record(run: string, outcome: ObserveOutcome, at: number = Date.now()): void {
    this.#latest.delete(run);
    this.#latest.set(run, { run, outcome, at });
  }

  /** Every run's latest outcome, the most recently observed first. */
  latest(): ObservedRun[] {
    return [...this.#latest.values()].reverse();
  }

  /** The data dir with its links resolved (it must exist: `serve` checks it at start). */
  realDataDir(): Promise<string> {
    if (this.dataDir === undefined) return Promise.reject(new Error('no data dir'));
    this.#realDataDir ??= realpath(this.dataDir);
    return this.#realDataDir;
  }

  /** Closes the store, when it was opened here. */
  async close(): Promise<void> {
    const opened = this.#opened;
    this.#opened = undefined;
    if (opened !== undefined && typeof this.#store === 'string') await (await opened).close();
  }
}

/** The issues of a request's body (400 for a body that is no document at all is the caller's: here every issue is 422). */
function requestIssues(error: z.ZodError): SpecIssue[] {
  return error.issues.map((issue) => ({
    code: issue.code,
    path: issue.path.map(String).join('.'),
    message: issue.message,
  }));
}

/** The message of a spec that names a calibration file: the API reads no spec-named files. */
const NO_CALIBRATION_FILE = 'a spec sent to the API cannot name a calibration file: give system.siteEfficiency instead';

/** Loads the request's spec; the 422 problem with `spec.`-prefixed field paths otherwise. */
function specOfRequest(spec: ObserveRequest['spec']): ResolvedSpec {
  const [text, format]: [string, SpecFormat] =
    typeof spec === 'string' ? [spec, 'yaml'] : [JSON.stringify(spec), 'json'];
  const loaded = loadSpec(text, format, { calibrationError: NO_CALIBRATION_FILE });
  if (!loaded.ok) {
    throw issuesProblem(loaded.issues.map((issue) => ({ ...issue, path: issue.path ? `spec.${issue.path}` : 'spec' })));
  }
  return loaded.value;
}

/** Parses a request time (Unix seconds or ISO 8601) at `path`. */
function secondsOf(value: number | string, path: string): number {
  if (typeof value === 'number') return value;
  const iso = /^\s*\d{4}-\d\d-\d\d[T ]\d\d:\d\d(:\d\d(\.\d+)?)?\s*$/.test(value)
    ? `${value.trim().replace(' ', 'T')}Z`
    : value;
  const seconds = Date.parse(iso) / 1000;
  if (!Number.isFinite(seconds) || seconds < 0) {
    throw requestProblem([
      {
        code: 'invalid_value',
        path,
        message: `must be ISO 8601 (2026-01-01T00:00:00Z) or Unix seconds, got "${value.slice(0, 64)}"`,
      },
    ]);
  }
  return seconds;
}

const isUrl = (source: string) => /^https?:\/\//i.test(source);

/** Whether `child` (resolved) lies inside `parent` (resolved), or is it. */
function inside(parent: string, child: string): boolean {
  const rel = relative(parent, child);
  return rel === '' || (!rel.startsWith(`..${sep}`) && rel !== '..' && !isAbsolute(rel));
}

/**
 * The real path of `given` (relative to the data dir, links resolved), or the 422 problem naming `path` when there
 * is no data dir, no such file, or it lies outside the data dir.
 */
export async function dataPath(runs: ObservedRuns, given: string, path: string): Promise<string> {
  if (runs.dataDir === undefined) {
    throw requestProblem([
      {
        code: 'forbidden',
        path,
        message: 'this server reads no files: start it with --data-dir DIR to observe files under DIR',
      },
    ]);
  }
  const root = await runs.realDataDir();
  const outside = () =>
    requestProblem([
      {
        code: 'forbidden',
        path,
        message: `must name a file under the server's data dir, got "${given.slice(0, 200)}"`,
      },
    ]);
  if (given.includes('\0')) throw outside();
  // Checked before and after the links are resolved: `..` never climbs out, and neither does a link.
  const lexical = resolve(root, given);
  if (!inside(root, lexical)) throw outside();
  let real: string;
  try {
    real = await realpath(lexical);
  } catch {
    throw requestProblem([
      { code: 'file', path, message: `no such file under the server's data dir: "${given.slice(0, 200)}"` },
    ]);
  }
  if (!inside(root, real)) throw outside();
  return real;
}

/** What a checked request reads: the real paths, and the paths as the request gave them (for the answer). */
interface CheckedSources {
  readonly logs: string[];
  readonly dcgm: string[];
}

/** The request's logs and dcgm sources, every path checked against the data dir (dcgm folders expanded). */
async function checkedSources(runs: ObservedRuns, request: ObserveRequest): Promise<CheckedSources> {
  const logs: string[] = [];
  for (const [i, log] of request.logs.entries()) {
    const real = await dataPath(runs, log, `logs.${i}`);
    if (!(await stat(real)).isFile()) {
      throw requestProblem([{ code: 'file', path: `logs.${i}`, message: `"${log.slice(0, 200)}" is not a file` }]);
    }
    logs.push(real);
  }
  const dcgm: string[] = [];
  const { expandDcgmSources, MAX_DCGM_FILES } = await import('../node/observe-inputs.js');
  for (const [i, source] of request.dcgm.entries()) {
    const path = `dcgm.${i}`;
    if (isUrl(source)) {
      dcgm.push(source);
      continue;
    }
    const real = await dataPath(runs, source, path);
    let expanded: string[];
    try {
      expanded = await expandDcgmSources([real]);
    } catch (error) {
      throw requestProblem([{ code: 'file', path, message: error instanceof Error ? error.message : String(error) }]);
    }
    // A folder's files are checked too: a link inside the data dir must not lead out of it.
    for (const file of expanded) {
      const target = await realpath(file).catch(() => file);
      const root = await runs.realDataDir();
      if (!inside(root, target)) {
        throw requestProblem([
          { code: 'forbidden', path, message: `"${source.slice(0, 200)}" holds a link out of the data dir` },
        ]);
      }
      dcgm.push(target);
    }
    if (dcgm.length > MAX_DCGM_FILES) {
      throw requestProblem([{ code: 'too_big', path: 'dcgm', message: `more than ${MAX_DCGM_FILES} scrape files` }]);
    }
  }
  if (request.prometheus !== undefined && dcgm.length > 0) {
    throw requestProblem([
      { code: 'conflict', path: 'prometheus', message: 'give dcgm or prometheus for the GPU samples, not both' },
    ]);
  }
  return { logs, dcgm };
}

/**
 * Parses an observe request (400 or 422 with the field paths), loads its spec and checks its paths, so that a job
 * is only started for a request that can run; returns the run, which answers `tokenworks observe --json`'s
 * document and records the outcome for `/metrics`.
 */
export async function prepareObserve(
  request: UseCaseRequest,
  runs: ObservedRuns,
): Promise<(context: RunContext) => Promise<unknown>> {
  if (request.body.trim() === '') {
    throw requestProblem([
      {
        code: 'missing_value',
        path: '',
        message: 'the request body must hold an observe request: {spec, run, logs, …}',
      },
    ]);
  }
  const text = parseText(request.body, request.format);
  if (!text.ok) throw requestProblem(text.issues);
  const parsed = ObserveRequestSchema.safeParse(text.value);
  if (!parsed.success) throw requestProblem(requestIssues(parsed.error));
  const body = parsed.data;
  const { fromStep, toStep } = body.window ?? {};
  if (fromStep !== undefined && toStep !== undefined && fromStep > toStep) {
    throw requestProblem([{ code: 'invalid_value', path: 'window', message: 'fromStep must not be after toStep' }]);
  }
  const spec = specOfRequest(body.spec);
  const from = body.prometheus?.from === undefined ? undefined : secondsOf(body.prometheus.from, 'prometheus.from');
  const to = body.prometheus?.to === undefined ? undefined : secondsOf(body.prometheus.to, 'prometheus.to');
  const checked = await checkedSources(runs, body);
  if (checked.logs.length === 0) {
    const counts = await (await runs.store()).counts(body.run);
    if (counts.steps === 0 && counts.gpuPoints === 0) {
      throw requestProblem([
        {
          code: 'missing_value',
          path: 'logs',
          message: `give at least one log, or observe a run the store holds (it holds nothing of "${body.run}")`,
        },
      ]);
    }
  }
  return (context) => observe(body, spec, checked, { from, to }, runs, context);
}

/** Runs an observe request: ingest into the store, read back, the use case, the detectors; records the outcome. */
async function observe(
  body: ObserveRequest,
  spec: ResolvedSpec,
  checked: CheckedSources,
  window: { readonly from: number | undefined; readonly to: number | undefined },
  runs: ObservedRuns,
  { runner, progress, signal }: RunContext,
): Promise<unknown> {
  const [inputsModule, { runObserve }, report] = await Promise.all([
    import('../node/observe-inputs.js'),
    import('../app/observe.js'),
    import('../report/observe-report.js'),
  ]);
  const store = await runs.store();
  const gpu: import('../node/observe-inputs.js').GpuInput =
    body.prometheus !== undefined
      ? {
          kind: 'prometheus',
          url: body.prometheus.url,
          ...(body.prometheus.match !== undefined && { match: body.prometheus.match }),
          ...(window.from !== undefined && { from: window.from }),
          ...(window.to !== undefined && { to: window.to }),
        }
      : checked.dcgm.length > 0
        ? { kind: 'dcgm', sources: checked.dcgm }
        : { kind: 'none' };
  const sources = { run: body.run, logs: checked.logs, gpu };
  const ingested = await inputsModule.ingestObserveSources(store, sources, { signal });
  // GPU points the store already holds (a remote write, an earlier observe) are read even when none came now.
  const fromStore = gpu.kind === 'none' && (await store.counts(body.run)).gpuPoints > 0;
  const read = fromStore ? { ...sources, gpu: { kind: 'dcgm' as const, sources: [] } } : sources;
  const inputs = await inputsModule.readObserveInputs(store, read, ingested, { signal });
  const gpuInput =
    inputs.gpu && (fromStore ? { ...inputs.gpu, source: `the server's store (run ${body.run})` } : inputs.gpu);
  const result = await runObserve(
    {
      spec,
      steps: inputs.steps,
      replicas: body.replicas,
      seed: body.seed,
      ...(body.window && { window: body.window }),
      ...(body.forecast && { forecastReplicas: body.replicas }),
      ...(body.deadlineDays !== undefined && { deadlineDays: body.deadlineDays }),
      ...(gpuInput && { gpu: gpuInput }),
      ...(inputs.stragglers && { stragglers: inputs.stragglers }),
    },
    { runner, ...(progress && { progress }) },
    { signal },
  );
  if (!result.ok) throw issuesProblem(result.issues);
  let outcome: ObserveOutcome = { ...result.value, notes: [...inputs.notes, ...result.value.notes] };
  if (body.detect) {
    const { detectStored } = await import('../node/observe-detect.js');
    const detected = await detectStored(
      store,
      {
        run: body.run,
        logs: checked.logs,
        spec,
        steps: inputs.steps,
        kpis: outcome.kpis.run,
        gpuFromStore: gpu.kind === 'dcgm' || fromStore,
        replicas: Math.min(body.replicas, DETECT_REPLICAS),
        seed: body.seed,
        ...(inputs.fleet && { detections: inputs.fleet.stragglers.detections }),
      },
      { runner, ...(progress && { progress }) },
      { signal },
    );
    if (!detected.ok) throw issuesProblem(detected.issues);
    const detect = detected.value;
    outcome = { ...outcome, detect };
    if (gpu.kind === 'prometheus') {
      outcome = {
        ...outcome,
        notes: [
          ...outcome.notes,
          'the GPU detectors read dcgm samples from the store; with prometheus only the step and straggler-line detectors ran',
        ],
      };
    }
  }
  runs.record(body.run, outcome);
  return {
    ...(report.observeJson(outcome) as object),
    inputs: {
      // The paths as the request gave them: the server's own paths stay its own.
      logs: body.logs,
      ...(body.dcgm.length > 0 && { dcgm: body.dcgm }),
      store: true,
      run: body.run,
      malformedLines: inputs.malformedCount,
      malformed: inputs.malformed.slice(0, 20).map((m) => ({
        ...m,
        file: body.logs[checked.logs.indexOf(m.file)] ?? m.file,
      })),
      ignoredLines: inputs.ignoredLines,
      skippedGpuSamples: inputs.skippedGpuSamples,
    },
  };
}
