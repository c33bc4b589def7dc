/**
 * The use cases as the HTTP API runs them: each one's query parameters (a zod schema that both checks the query
 * and documents it in the OpenAPI), whether it is long work (a job resource as well as a synchronous route), and
 * how it runs: the spec loaded by the spec loader the CLI uses, the use case called with the server's runner, its
 * progress port and the request's or job's signal, and its outcome turned into the document the CLI's `--json`
 * prints. A use case's issues are thrown as the 422 problem. Observe (its request, its paths and the server's store)
 * is `observe.ts`'s.
 * @module
 */
import { join } from 'node:path';
import { z } from 'zod';
import { EFFECT_NAMES, SWEEP_LIMITS } from '../app/limits.js';
import { readTextFile } from '../node/files.js';
import type { Result } from '../spec/issues.js';
import { loadSpec } from '../spec/load.js';
import type { ResolvedSpec } from '../spec/resolve.js';
import type { ObservedRuns } from './observe.js';
import { HttpProblem, issuesProblem } from './problem.js';
import type { RunContext, UseCaseRequest } from './request.js';

/** The shipped published-runs set `POST /v1/validate` uses when its body is empty. */
export const DEFAULT_RUNS_FILE = join(
  import.meta.dirname,
  '..',
  '..',
  'data',
  'calibration',
  'published-runs.calibration.json',
);

/** Most replicas one simulate request may ask for (the CLI's bound: about six minutes for Llama 3 405B on 2 cores). */
export const MAX_REPLICAS = 100_000;

/** A query parameter holding an integer in [min, max]. */
const integer = (min: number, max: number) =>
  z
    .string()
    .regex(/^-?\d+$/, 'expected an integer')
    .transform(Number)
    .pipe(z.number().int().min(min).max(max));

/** A query parameter holding a comma-separated list of `values`. */
const list = <T extends string>(values: readonly [T, ...T[]]) =>
  z
    .string()
    .transform((text) => text.split(',').map((part) => part.trim()))
    .pipe(z.array(z.enum(values)).min(1));

const seed = integer(-(2 ** 31), 2 ** 31 - 1).describe('seed of the random streams: the same seed, the same answer');

const boolean = z.enum(['true', 'false', '1', '0']).transform((text) => text === 'true' || text === '1');

/** Query parameters of each use case. */
export const QUERIES = {
  check: z.object({}),
  estimate: z.object({}),
  plan: z.object({
    top: integer(1, 1000).optional().describe('how many plans to list (default 10)'),
    precisions: list(['bf16', 'fp8', 'fp4'])
      .optional()
      .describe('matmul precisions to try, comma-separated (default: the workload precision)'),
  }),
  simulate: z.object({
    replicas: integer(1, MAX_REPLICAS).optional().describe('independent replicas of the run (default 100)'),
    seed: seed.optional().describe('seed of the random streams (default 1)'),
    days: z
      .string()
      .transform(Number)
      .pipe(z.number().gt(0).max(3650))
      .optional()
      .describe('simulate this many wall-clock days instead of until trained (overrides twin.days)'),
    mitigation: boolean.optional().describe("also run without the spec's twin.mitigation on the same seeds"),
  }),
  compare: z.object({
    sizes: z
      .string()
      .transform((text) => text.split(',').map((part) => Number(part.trim())))
      .pipe(z.array(z.number().int().min(1).max(SWEEP_LIMITS.gpus)).min(1).max(SWEEP_LIMITS.sizes))
      .optional()
      .describe('job sizes in GPUs, comma-separated, e.g. 64,256,1024 (overrides compare.sizes)'),
    replicas: integer(1, 1000).optional().describe('twin replicas per side and size (overrides compare.replicas)'),
    seed: seed.optional().describe('seed of the twin and the tenant load (overrides compare.seed)'),
    without: list(EFFECT_NAMES as [(typeof EFFECT_NAMES)[number], ...(typeof EFFECT_NAMES)[number][]])
      .optional()
      .describe(`effects to switch off, comma-separated: ${EFFECT_NAMES.join(', ')}`),
  }),
  validate: z.object({}),
  observe: z.object({}),
} as const;

/** The use cases served. */
export type UseCaseName = keyof typeof QUERIES;

/** Every use case served, in the order the API lists them. */
export const USE_CASES = Object.keys(QUERIES) as UseCaseName[];

/** The use cases that are long work: also served as jobs (`POST /v1/jobs/{kind}`). */
export const LONG_USE_CASES = ['plan', 'simulate', 'compare', 'observe'] as const satisfies readonly UseCaseName[];

/** A module imported on first use, then kept (the use cases load lazily, so that the server starts quickly). */
function lazy<T>(load: () => Promise<T>): () => Promise<T> {
  let loaded: Promise<T> | undefined;
  return () => {
    loaded ??= load();
    return loaded;
  };
}

const checkModule = lazy(() => import('../app/check.js'));
const estimateModule = lazy(() => import('../app/estimate.js'));

export type { RunContext, UseCaseRequest } from './request.js';

/** The query of `name`, checked: a 400 problem naming each bad parameter (`query.replicas`) otherwise. */
export function parseQuery<N extends UseCaseName>(
  name: N,
  query: Record<string, string>,
): z.infer<(typeof QUERIES)[N]> {
  const schema = QUERIES[name];
  const known = Object.keys(schema.shape);
  const unknown = Object.keys(query).filter((key) => !known.includes(key));
  const parsed = schema.safeParse(query);
  const issues = [
    ...unknown.map((key) => ({
      code: 'unrecognized_keys',
      path: `query.${key}`,
      message: known.length > 0 ? `unknown parameter; valid: ${known.join(', ')}` : 'this route takes no parameters',
    })),
    ...(parsed.success
      ? []
      : parsed.error.issues.map((issue) => ({
          code: issue.code,
          path: ['query', ...issue.path.map(String)].join('.'),
          message: issue.message,
        }))),
  ];
  if (issues.length > 0 || !parsed.success) {
    throw new HttpProblem('QUERY_INVALID', issues.map((i) => `${i.path}: ${i.message}`).join('; '), { issues });
  }
  return parsed.data as z.infer<(typeof QUERIES)[N]>;
}

/** The message of a spec that names a calibration file: the API reads no files. */
const NO_CALIBRATION_FILE =
  'a spec sent to the API cannot name a calibration file (the server reads no files): give system.siteEfficiency instead';

/** Most specs {@link specOf} keeps loaded, and the longest body it keeps one of (64 × 64 KiB at most held). */
export const SPEC_CACHE = { entries: 64, maxChars: 65_536 } as const;

/** Loaded specs of the short use cases by format and body text, least recently used first. */
const loadedSpecs = new Map<string, ResolvedSpec>();

/** Freezes `value` and everything it holds, so that a spec shared between requests cannot be changed by one. */
function deepFreeze<T>(value: T): T {
  if (typeof value === 'object' && value !== null && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const inner of Object.values(value)) deepFreeze(inner);
  }
  return value;
}

/**
 * Loads the request's spec with the CLI's loader; the 422 problem with the issues' field paths otherwise. With
 * `cached`, a body loaded before (the same text, the same format) answers the same spec, frozen, without parsing
 * it again: a console re-estimating one spec, or a client polling, pays the YAML parse and the schema once (loading
 * is most of a short request's cost, docs/api.md § Load). Invalid specs are never kept.
 */
export function specOf(request: UseCaseRequest, cached = false): ResolvedSpec {
  const key = cached && request.body.length <= SPEC_CACHE.maxChars ? `${request.format}\0${request.body}` : undefined;
  const hit = key === undefined ? undefined : loadedSpecs.get(key);
  if (key !== undefined && hit !== undefined) {
    loadedSpecs.delete(key);
    loadedSpecs.set(key, hit);
    return hit;
  }
  if (request.body.trim() === '') {
    throw issuesProblem([
      { code: 'missing_value', path: '', message: 'the request body must hold a spec (YAML or JSON; see examples/)' },
    ]);
  }
  const loaded = loadSpec(request.body, request.format, { calibrationError: NO_CALIBRATION_FILE });
  if (!loaded.ok) throw issuesProblem(loaded.issues);
  if (key !== undefined) {
    loadedSpecs.set(key, deepFreeze(loaded.value));
    if (loadedSpecs.size > SPEC_CACHE.entries) loadedSpecs.delete(loadedSpecs.keys().next().value as string);
  }
  return loaded.value;
}

/** The value of a use case's result, or its issues thrown as the 422 problem. */
function resultValue<T>(result: Result<T>): T {
  if (!result.ok) throw issuesProblem(result.issues);
  return result.value;
}

/** What a run is prepared with beyond its request: the server's observed runs (its store and data dir). */
export interface PrepareContext {
  readonly observed?: ObservedRuns;
}

/**
 * Parses the query (400) and loads the spec (422) of a request to `name`, so that a job is only started for a
 * request that can run; returns the run, which answers the CLI's `--json` document.
 */
export async function prepare(
  name: UseCaseName,
  request: UseCaseRequest,
  context: PrepareContext = {},
): Promise<(context: RunContext) => Promise<unknown>> {
  switch (name) {
    case 'observe': {
      parseQuery(name, request.query);
      if (context.observed === undefined) throw new Error("observe is run with the server's observed runs");
      const { prepareObserve } = await import('./observe.js');
      return prepareObserve(request, context.observed);
    }
    case 'check':
    case 'estimate': {
      parseQuery(name, request.query);
      const spec = specOf(request, true);
      return async ({ signal }) => {
        const run = name === 'check' ? (await checkModule()).runCheck : (await estimateModule()).runEstimate;
        return resultValue<unknown>(await run({ spec }, {}, { signal }));
      };
    }
    case 'plan': {
      const query = parseQuery(name, request.query);
      const spec = specOf(request);
      return async ({ runner, progress, signal }) => {
        const { runPlan } = await import('../app/plan.js');
        const input = { spec, top: query.top ?? 10, ...(query.precisions && { precisions: query.precisions }) };
        return resultValue(await runPlan(input, { runner, ...(progress && { progress }) }, { signal })).outcome;
      };
    }
    case 'simulate': {
      const query = parseQuery(name, request.query);
      const spec = specOf(request);
      return async ({ runner, progress, signal }) => {
        const [{ runSimulate }, { simulateJson }] = await Promise.all([
          import('../app/simulate.js'),
          import('../report/twin-report.js'),
        ]);
        const input = {
          spec,
          replicas: query.replicas ?? 100,
          seed: query.seed ?? 1,
          ...(query.days !== undefined && { days: query.days }),
          ...(query.mitigation && { mitigation: true }),
        };
        return simulateJson(
          resultValue(await runSimulate(input, { runner, ...(progress && { progress }) }, { signal })),
        );
      };
    }
    case 'compare': {
      const query = parseQuery(name, request.query);
      const spec = specOf(request);
      return async ({ runner, progress, signal }) => {
        const { runCompare, compareOutput } = await import('../app/compare.js');
        const input = {
          spec,
          ...(query.sizes && { sizes: [...new Set(query.sizes)].sort((a, b) => a - b) }),
          ...(query.replicas !== undefined && { replicas: query.replicas }),
          ...(query.seed !== undefined && { seed: query.seed }),
          without: query.without ?? [],
        };
        return compareOutput(
          resultValue(await runCompare(input, { runner, ...(progress && { progress }) }, { signal })),
        );
      };
    }
    case 'validate': {
      parseQuery(name, request.query);
      const posted = request.body.trim() === '' ? undefined : request.body;
      if (posted !== undefined && request.format !== 'json') {
        throw new HttpProblem('UNSUPPORTED_MEDIA_TYPE', 'a runs file is JSON: send it as application/json');
      }
      return async ({ signal }) => {
        const { runValidate } = await import('../app/validate.js');
        const text = posted ?? (await readTextFile(DEFAULT_RUNS_FILE));
        return resultValue(await runValidate({ text }, {}, { signal }));
      };
    }
  }
}
