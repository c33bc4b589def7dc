/**
 * Shared machinery of the CLI fuzzer (`test/fuzz.test.ts`, `scripts/fuzz.ts`): fast-check generators of CLI
 * cases (a real example spec from `examples/` or rows of the published-runs file, a few mutations of it, and
 * random flag values), runners that execute a case in a child process killed at its time budget (a long-lived case
 * server, `cli-entry.ts --serve`, for speed; or a fresh `node --import tsx test/support/cli-entry.ts argv...` per
 * case, the real thing, which also confirms every timeout of the server), each case in a temporary directory of
 * its own, the checks every outcome must pass, a grouping signature for failures, a reproduction text and a
 * greedy minimizer.
 *
 * A case is data ({@link FuzzCase}); {@link buildCase} turns it into the files to write and the argv, where
 * `{dir}` stands for the case's temporary directory. The checks: exit code 0 or 2, no exception escaping
 * `runCli`, nothing left open that would keep the process from exiting, no stack trace or "internal error", no
 * `NaN`, `Infinity` or `undefined` printed as a value (in stdout, stderr or a written report), no control
 * characters (a NUL from the spec echoed back), stdout and stderr under {@link OUTPUT_LIMIT_BYTES}, JSON on stdout
 * with `--json` and exit 0, and the run within the time budget.
 * @module
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { chmod, mkdir, mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import fc from 'fast-check';
import { parse as yamlParse, stringify as yamlStringify } from 'yaml';
import { MODEL_PRESETS } from '../../src/catalog/index.js';

const REPO_ROOT = fileURLToPath(new URL('../../', import.meta.url));
const ENTRY = fileURLToPath(new URL('./cli-entry.ts', import.meta.url));

/**
 * stdout and stderr together must stay under this. The largest legitimate output is `simulate --json` at the
 * bounds: a timeline of at most 20,000 buckets (four numbers each, about 1.5 MB) and at most 2,000 events of
 * replica 0, so 4 MB leaves room and still catches anything unbounded.
 */
export const OUTPUT_LIMIT_BYTES = 4_000_000;
/** Default wall-clock budget of one case. */
export const DEFAULT_CASE_TIMEOUT_MS = 20_000;
/** Printed by cli-entry.ts when an exception escapes `runCli`. */
const ESCAPED_MARKER = '[cli-entry] runCli threw:';

// ---------------------------------------------------------------------------------------------------------------
// Inputs
// ---------------------------------------------------------------------------------------------------------------

/** The commands the fuzzer drives; `plan-designs` is `plan` on a spec without a system (the design search). */
export const FUZZ_COMMANDS = [
  'check',
  'estimate',
  'plan',
  'plan-designs',
  'simulate',
  'compare',
  'validate',
  'catalog',
] as const;
export type FuzzCommand = (typeof FUZZ_COMMANDS)[number];

/** The example specs, parsed (comments dropped), by file stem. */
const EXAMPLES: Readonly<Record<string, unknown>> = Object.fromEntries(
  [
    'breakpoint',
    'deepseek-v3-h800',
    'gpt3-175b-a100',
    'llama3-405b-54d',
    'llama3-405b',
    'llama3-70b',
    'llama3-8b',
    'mixtral-8x7b',
  ].map((name) => [name, yamlParse(readFileSync(join(REPO_ROOT, 'examples', `${name}.yaml`), 'utf8'))]),
);
const EXAMPLE_NAMES = Object.keys(EXAMPLES);

/** The published runs `validate` reads by default. */
const RUNS: readonly unknown[] = JSON.parse(
  readFileSync(join(REPO_ROOT, 'data', 'calibration', 'published-runs.calibration.json'), 'utf8'),
);

/** Every leaf field path of the spec schema (schemas/spec.schema.json), for mutations that add fields. */
const SCHEMA_PATHS: readonly string[] = schemaLeafPaths();

/** The twin's fields, which `simulate` and `plan --simulate` cases mutate more often. */
const TWIN_PATHS: readonly string[] = SCHEMA_PATHS.filter((path) => path.startsWith('twin.'));

/**
 * Fields that size the work an engine does (event counts, buckets, sizes, replicas, steps): drawn more often than
 * the rest of the schema, since a plausible-looking value there can ask for a hang.
 */
const HOT_PATHS: readonly string[] = [
  'twin.days',
  'twin.bucketMinutes',
  'twin.failureScale',
  'twin.checkpoint.intervalMinutes',
  'twin.checkpoint.storageGBps',
  'twin.spares.nodes',
  'twin.spares.autoRepairHours',
  'twin.stragglers.ratePerNodeYear',
  'twin.stragglers.meanMinutes',
  'twin.detection.hangSeconds',
  'twin.restart.seconds',
  'twin.failures.gpu.ratePerYear',
  'twin.failures.gpu.weibullShape',
  'twin.failures.maintenance.ratePerYear',
  'compare.replicas',
  'compare.shared.gpus',
  'compare.shared.nodesPerLeaf',
  'compare.shared.preemptionsPerDay',
  'compare.shared.utilisation',
  'constraints.maxGpus',
  'constraints.deadlineDays',
  'workload.training.totalTokens',
  'workload.training.sequenceLength',
  'workload.training.globalBatch.sequences',
  'system.gpuCount',
  'system.gpusPerNode',
  'system.scaleOut.podSize',
  'plan.microBatch',
  'plan.pp',
  'plan.virtualStages',
];

function schemaLeafPaths(): string[] {
  const root = JSON.parse(readFileSync(join(REPO_ROOT, 'schemas', 'spec.schema.json'), 'utf8'));
  const out: string[] = [];
  const walk = (node: Record<string, unknown> | undefined, path: string, depth: number): void => {
    if (!node || depth > 10) return;
    if (typeof node.$ref === 'string') {
      let target: unknown = root;
      for (const key of node.$ref.replace(/^#\//, '').split('/')) target = (target as Record<string, unknown>)?.[key];
      walk(target as Record<string, unknown>, path, depth + 1);
      return;
    }
    if (node.properties && typeof node.properties === 'object') {
      for (const [key, child] of Object.entries(node.properties as Record<string, Record<string, unknown>>)) {
        if (key !== '$schema') walk(child, path ? `${path}.${key}` : key, depth + 1);
      }
      return;
    }
    for (const key of ['anyOf', 'oneOf', 'allOf']) {
      const options = node[key];
      if (Array.isArray(options)) {
        const objects = options.filter((o) => o && (o.properties || o.$ref));
        if (objects.length > 0) {
          for (const o of objects) walk(o, path, depth + 1);
          return;
        }
      }
    }
    if (path) out.push(path);
  };
  walk(root, '', 0);
  return [...new Set(out)];
}

/**
 * Scalar and flow values written raw into the spec (YAML form; `json` when JSON differs). Chosen to hit zero,
 * negative, huge (finite and overflowing to Infinity), tiny, non-integer, wrong-type and YAML-special values.
 */
const RAW_VALUES: readonly { yaml: string; json?: string }[] = [
  // Plausible values: specs that still validate and drive the engines somewhere new.
  { yaml: '1' },
  { yaml: '2' },
  { yaml: '4' },
  { yaml: '8' },
  { yaml: '16' },
  { yaml: '64' },
  { yaml: '1024' },
  { yaml: '0.9' },
  { yaml: '100' },
  // Edge and wrong values.
  { yaml: '0' },
  { yaml: '-1' },
  { yaml: '-8' },
  { yaml: '1e308' },
  { yaml: '1e400' },
  { yaml: '-1e400' },
  { yaml: '1e-6' },
  { yaml: '1e-320' },
  { yaml: '0.5' },
  { yaml: '2.5' },
  { yaml: '3' },
  { yaml: '7' },
  { yaml: '13' },
  { yaml: '1e15' },
  { yaml: '9007199254740993' },
  { yaml: '-0' },
  { yaml: '65536' },
  { yaml: '.nan', json: 'NaN' },
  { yaml: '.inf', json: '1e400' },
  { yaml: '-.inf', json: '-1e400' },
  { yaml: '0x10', json: '16' },
  { yaml: '"abc"' },
  { yaml: '""' },
  { yaml: 'null' },
  { yaml: '~', json: 'null' },
  { yaml: '[]' },
  { yaml: '[1, 2]' },
  { yaml: '{}' },
  { yaml: '{ a: 1 }', json: '{"a": 1}' },
  { yaml: 'true' },
  { yaml: 'false' },
  { yaml: '"12"' },
  { yaml: '"1e400"' },
  { yaml: '"15.6T"' },
  { yaml: '"-1T"' },
  { yaml: '"1e400T"' },
  { yaml: '"0.001K"' },
  { yaml: '"\\u0000"' },
  { yaml: '"h100-sxm"' },
  { yaml: '"__proto__"' },
];

/** Whole-file contents that replace the spec. */
const REPLACEMENTS = [
  'empty',
  'spaces',
  'comment',
  'document-start',
  'null',
  'list',
  'number',
  'string',
  'bom',
  'utf16',
  'crlf',
  'tabs',
  'deep-flow',
  'deep-block',
  'json-in-yaml',
] as const;

/** A field path in a document. */
export type Path = readonly (string | number)[];

/** A change to the base document. Indices pick among the paths present when the mutation applies (modulo). */
export type Mutation =
  | { readonly kind: 'set'; readonly target: number; readonly raw: number }
  | { readonly kind: 'add'; readonly field: number; readonly raw: number }
  | { readonly kind: 'add-hot'; readonly field: number; readonly raw: number }
  | { readonly kind: 'add-twin'; readonly field: number; readonly raw: number }
  | { readonly kind: 'delete'; readonly target: number }
  | { readonly kind: 'rename'; readonly target: number; readonly how: number }
  | { readonly kind: 'drop-section'; readonly section: string }
  | { readonly kind: 'inline-model' }
  | { readonly kind: 'many-keys'; readonly count: number; readonly where: number }
  | { readonly kind: 'alias-bomb'; readonly depth: number; readonly width: number; readonly atName: boolean }
  | { readonly kind: 'duplicate-key'; readonly line: number }
  | { readonly kind: 'nul'; readonly at: number }
  | { readonly kind: 'truncate'; readonly at: number }
  | { readonly kind: 'bytes'; readonly bytes: readonly number[] }
  | { readonly kind: 'replace'; readonly content: (typeof REPLACEMENTS)[number]; readonly size: number }
  // The same, with the paths resolved (what `resolveCase` gives; stable when other mutations are dropped).
  | { readonly kind: 'set-path'; readonly path: Path; readonly raw: number }
  | { readonly kind: 'delete-path'; readonly path: Path }
  | { readonly kind: 'rename-path'; readonly path: Path; readonly to: string }
  | { readonly kind: 'many-keys-at'; readonly path: Path; readonly count: number };

/** One flag: its name and value (`null` for a boolean flag); `positional` values go before the flags. */
export interface Flag {
  readonly name: string;
  readonly value: string | null;
}

/** One fuzz case, as data. */
export interface FuzzCase {
  readonly command: FuzzCommand;
  /** Example stem; for plan-designs also the GPU budget put in `constraints.maxGpus` ("name@budget"). */
  readonly base: string;
  readonly format: 'yaml' | 'json';
  /** The spec (or runs) argument: the generated file, a missing file, a directory or none at all. */
  readonly specArg: 'file' | 'missing' | 'directory' | 'none';
  readonly mutations: readonly Mutation[];
  readonly positional: readonly string[];
  readonly flags: readonly Flag[];
}

/** A case ready to run: the files to write into `{dir}` and the argv. */
export interface BuiltCase {
  readonly files: readonly { readonly name: string; readonly data: string | Uint8Array }[];
  readonly argv: readonly string[];
  /** What the mutations did, as text (field paths and values). */
  readonly notes: readonly string[];
  /** The report path in `{dir}` the run may write, when `--report` is given. */
  readonly report?: string;
}

// ---------------------------------------------------------------------------------------------------------------
// Generators
// ---------------------------------------------------------------------------------------------------------------

const pick = <T>(values: readonly T[], weights?: readonly number[]): fc.Arbitrary<T> =>
  weights
    ? fc.oneof(...values.map((value, i) => ({ arbitrary: fc.constant(value), weight: weights[i] ?? 1 })))
    : fc.constantFrom(...values);

const rawArb = fc.nat({ max: RAW_VALUES.length - 1 });

/** Mutations of a spec document. */
const specMutationArb: fc.Arbitrary<Mutation> = fc.oneof(
  { arbitrary: fc.record({ kind: fc.constant('set' as const), target: fc.nat(), raw: rawArb }), weight: 10 },
  { arbitrary: fc.record({ kind: fc.constant('add' as const), field: fc.nat(), raw: rawArb }), weight: 5 },
  { arbitrary: fc.record({ kind: fc.constant('add-hot' as const), field: fc.nat(), raw: rawArb }), weight: 4 },
  { arbitrary: fc.record({ kind: fc.constant('delete' as const), target: fc.nat() }), weight: 3 },
  {
    arbitrary: fc.record({ kind: fc.constant('rename' as const), target: fc.nat(), how: fc.nat({ max: 4 }) }),
    weight: 2,
  },
  {
    arbitrary: fc.record({
      kind: fc.constant('drop-section' as const),
      section: fc.constantFrom('workload', 'system', 'plan', 'facility', 'twin', 'compare', 'name', 'constraints'),
    }),
    weight: 2,
  },
  { arbitrary: fc.constant({ kind: 'inline-model' as const }), weight: 1 },
  {
    arbitrary: fc.record({
      kind: fc.constant('many-keys' as const),
      count: fc.integer({ min: 20, max: 3000 }),
      where: fc.nat(),
    }),
    weight: 1,
  },
  {
    arbitrary: fc.record({
      kind: fc.constant('alias-bomb' as const),
      depth: fc.integer({ min: 2, max: 9 }),
      width: fc.integer({ min: 2, max: 10 }),
      atName: fc.boolean(),
    }),
    weight: 1,
  },
  { arbitrary: fc.record({ kind: fc.constant('duplicate-key' as const), line: fc.nat() }), weight: 1 },
  { arbitrary: fc.record({ kind: fc.constant('nul' as const), at: fc.nat() }), weight: 1 },
  { arbitrary: fc.record({ kind: fc.constant('truncate' as const), at: fc.nat() }), weight: 1 },
  {
    arbitrary: fc.record({
      kind: fc.constant('bytes' as const),
      bytes: fc.array(fc.integer({ min: 0, max: 255 }), { minLength: 1, maxLength: 256 }),
    }),
    weight: 1,
  },
  {
    arbitrary: fc.record({
      kind: fc.constant('replace' as const),
      content: fc.constantFrom(...REPLACEMENTS),
      size: fc.integer({ min: 10, max: 20000 }),
    }),
    weight: 1,
  },
);

/** Mutations of a spec for the twin: the spec mutations, and more of them in the twin section. */
const twinMutationArb: fc.Arbitrary<Mutation> = fc.oneof(
  { arbitrary: specMutationArb, weight: 3 },
  { arbitrary: fc.record({ kind: fc.constant('add-twin' as const), field: fc.nat(), raw: rawArb }), weight: 1 },
);

/** Mutations of a published-runs array (object-level ones, plus a few whole-file ones). */
const runsMutationArb: fc.Arbitrary<Mutation> = fc.oneof(
  { arbitrary: fc.record({ kind: fc.constant('set' as const), target: fc.nat(), raw: rawArb }), weight: 10 },
  { arbitrary: fc.record({ kind: fc.constant('delete' as const), target: fc.nat() }), weight: 3 },
  {
    arbitrary: fc.record({ kind: fc.constant('rename' as const), target: fc.nat(), how: fc.nat({ max: 4 }) }),
    weight: 2,
  },
  { arbitrary: fc.record({ kind: fc.constant('truncate' as const), at: fc.nat() }), weight: 1 },
  { arbitrary: fc.record({ kind: fc.constant('nul' as const), at: fc.nat() }), weight: 1 },
  {
    arbitrary: fc.record({
      kind: fc.constant('replace' as const),
      content: fc.constantFrom('empty', 'null', 'number', 'string', 'bom', 'deep-flow', 'json-in-yaml' as const),
      size: fc.integer({ min: 10, max: 20000 }),
    }),
    weight: 1,
  },
);

const mutationsArb = (arb: fc.Arbitrary<Mutation>) =>
  fc.oneof(
    { arbitrary: fc.constant([] as Mutation[]), weight: 2 },
    { arbitrary: fc.array(arb, { minLength: 1, maxLength: 1 }), weight: 5 },
    { arbitrary: fc.array(arb, { minLength: 2, maxLength: 3 }), weight: 3 },
  );

/** A flag that is present with probability `weight`/(weight+1): `values` drawn with their weights. */
const optionalFlag = (name: string, values: readonly (string | null)[], weights?: readonly number[], absent = 1) =>
  fc.oneof(
    { arbitrary: fc.constant(undefined), weight: absent },
    { arbitrary: pick(values, weights).map((value): Flag => ({ name, value })), weight: 1 },
  );

/** A flag that is always present. */
const flag = (name: string, values: readonly (string | null)[], weights?: readonly number[]) =>
  pick(values, weights).map((value): Flag => ({ name, value }));

const present = (flags: readonly (Flag | undefined)[]): Flag[] => flags.filter((f): f is Flag => f !== undefined);

/** Weights that give the `invalid` values together a share `invalidShare` of the draws. */
function choice(valid: readonly (string | null)[], invalid: readonly (string | null)[], invalidShare = 0.1) {
  const each = Math.max(1, Math.round(((1 - invalidShare) / invalidShare) * (invalid.length / valid.length)));
  return { values: [...valid, ...invalid], weights: [...valid.map(() => each), ...invalid.map(() => 1)] };
}
const optionalChoice = (name: string, c: ReturnType<typeof choice>, absent = 1) =>
  optionalFlag(name, c.values, c.weights, absent);
const flagChoice = (name: string, c: ReturnType<typeof choice>) => flag(name, c.values, c.weights);

const JSON_FLAG = optionalFlag('--json', [null]);
const QUIET_FLAG = optionalFlag('-q', [null], undefined, 6);
const BOGUS_FLAG = optionalFlag('--bogus', [null, 'x'], undefined, 30);
const REPORT_FLAG = optionalChoice(
  '--report',
  choice(
    ['{dir}/out.html', '{dir}/out.md'],
    [
      '{dir}/missing/sub/out.html',
      '{dir}/afile.txt/out.html',
      '{dir}/adir.html',
      '{dir}/ro/out.html',
      '{dir}/out.txt',
      '',
      '/proc/tokenworks-fuzz.html',
    ],
    0.35,
  ),
  2,
);
// Values such as 1e9 are legal-looking integers that ask for a huge amount of work: they belong to the invalid set.
const THREADS_FLAG = flagChoice('--threads', choice(['1', '1', '1', '2'], ['0', '-1', 'abc', '1.5', '64', '1e9', '']));
const SEED_FLAG = (absent: number) =>
  optionalChoice(
    '--seed',
    choice(['1', '0', '-5', '42', '2147483647'], ['2147483648', '-2147483649', 'abc', '1.5', '1e400', 'NaN', '']),
    absent,
  );
const TOP_FLAG = optionalChoice('--top', choice(['1', '3', '10'], ['0', '-1', 'abc', '1.5', '1e9', '1000000', '']));
const PRECISIONS_FLAG = optionalChoice(
  '--precisions',
  choice(
    ['bf16', 'fp8', 'bf16,fp8', 'fp4', 'fp8,bf16'],
    ['fp16', 'FP8', '', ',', 'bf16,bf16', 'xyz', 'fp8,,bf16'],
    0.2,
  ),
);
const REPLICAS_FLAG = flagChoice(
  '--replicas',
  choice(['1', '2', '2', '3', '8'], ['0', '-1', '1.5', 'abc', '1e9', '100001', '']),
);
const DAYS_FLAG = optionalChoice(
  '--days',
  choice(['0.5', '1', '2', '7'], ['0', '-1', '1e-6', 'abc', '1e400', 'Infinity', 'NaN', '1e9', '']),
  1,
);
const SIMULATE_FLAG = optionalChoice('--simulate', choice([null, '1', '2', '2'], ['0', '-1', 'abc', '1e9']), 4);
const SWEEP_FLAG = flagChoice(
  '--sweep',
  choice(
    ['64', '8', '128', '1024', '64,128', '64..128'],
    ['1', '0', 'abc', '128..64', '', '1e9', '99999999999999999999', '0..0', '64,,128'],
    0.2,
  ),
);

const specArgArb = pick(['file', 'missing', 'directory', 'none'] as const, [40, 1, 1, 1]);
const formatArb = pick(['yaml', 'json'] as const, [4, 1]);

const specCase = (
  command: FuzzCommand,
  bases: fc.Arbitrary<string>,
  flags: fc.Arbitrary<Flag[]>,
  mutations = specMutationArb,
): fc.Arbitrary<FuzzCase> =>
  fc.record({
    command: fc.constant(command),
    base: bases,
    format: formatArb,
    specArg: specArgArb,
    mutations: mutationsArb(mutations),
    positional: fc.constant([] as string[]),
    flags,
  });

const anyExample = fc.constantFrom(...EXAMPLE_NAMES);

const caseArbs: Record<FuzzCommand, fc.Arbitrary<FuzzCase>> = {
  check: specCase(
    'check',
    anyExample,
    fc.tuple(JSON_FLAG, QUIET_FLAG, BOGUS_FLAG).map((f) => present(f)),
  ),
  estimate: specCase(
    'estimate',
    anyExample,
    fc.tuple(JSON_FLAG, QUIET_FLAG, BOGUS_FLAG).map((f) => present(f)),
  ),
  plan: specCase(
    'plan',
    anyExample.filter((name) => name !== 'breakpoint'),
    fc
      .tuple(
        THREADS_FLAG,
        TOP_FLAG,
        PRECISIONS_FLAG,
        SIMULATE_FLAG,
        SEED_FLAG(3),
        REPORT_FLAG,
        JSON_FLAG,
        QUIET_FLAG,
        BOGUS_FLAG,
      )
      .map((f) => present(f)),
    twinMutationArb,
  ),
  'plan-designs': specCase(
    'plan-designs',
    fc
      .tuple(
        anyExample.filter((name) => name !== 'deepseek-v3-h800'),
        fc.constantFrom(64, 256, 1024, 4096, 16384),
      )
      .map(([name, budget]) => `${name}@${budget}`),
    fc.tuple(THREADS_FLAG, TOP_FLAG, PRECISIONS_FLAG, REPORT_FLAG, JSON_FLAG, QUIET_FLAG).map((f) => present(f)),
  ),
  simulate: specCase(
    'simulate',
    anyExample,
    fc
      .tuple(REPLICAS_FLAG, DAYS_FLAG, SEED_FLAG(2), THREADS_FLAG, REPORT_FLAG, JSON_FLAG, QUIET_FLAG, BOGUS_FLAG)
      .map((f) => present(f)),
    twinMutationArb,
  ),
  compare: specCase(
    'compare',
    pick(['breakpoint', 'llama3-8b', 'llama3-70b', 'mixtral-8x7b'], [6, 2, 1, 1]),
    fc
      .tuple(
        SWEEP_FLAG,
        flagChoice('--threads', choice(['1'], ['2', '0', 'abc'], 0.15)),
        REPORT_FLAG,
        JSON_FLAG,
        QUIET_FLAG,
      )
      .map((f) => present(f)),
  ),
  validate: fc.record({
    command: fc.constant('validate' as const),
    base: fc
      .tuple(fc.nat({ max: RUNS.length - 1 }), fc.integer({ min: 1, max: 8 }))
      .map(([start, count]) => `runs@${start}+${count}`),
    format: fc.constant('json' as const),
    specArg: specArgArb,
    mutations: mutationsArb(runsMutationArb),
    positional: fc.constant([] as string[]),
    flags: fc.tuple(JSON_FLAG, QUIET_FLAG).map((f) => present(f)),
  }),
  catalog: fc.record({
    command: fc.constant('catalog' as const),
    base: fc.constant(''),
    format: fc.constant('yaml' as const),
    specArg: fc.constant('none' as const),
    mutations: fc.constant([] as Mutation[]),
    positional: fc.oneof(
      { arbitrary: fc.constant([] as string[]), weight: 1 },
      {
        arbitrary: fc.tuple(
          fc.constantFrom('accelerators', 'fabrics', 'facilities', 'models', 'a', 'm', 'f', 'x', '', 'ACCELERATORS'),
        ),
        weight: 3,
      },
      {
        arbitrary: fc.tuple(
          fc.constantFrom('accelerators', 'fabrics', 'facilities', 'models', 'a', 'x'),
          fc.constantFrom(
            'h100',
            'h100-sxm',
            'llama3-8b',
            'deepseek-v3',
            'ndr-ib',
            'direct-liquid',
            'nope',
            'h10',
            '',
            '__proto__',
            'constructor',
            'toString',
            'a'.repeat(5000),
            'H100',
            ' h100 ',
          ),
        ),
        weight: 4,
      },
    ),
    flags: fc.tuple(JSON_FLAG, QUIET_FLAG, BOGUS_FLAG).map((f) => present(f)),
  }),
};

/** Relative weights of the commands in a run. */
export const DEFAULT_COMMAND_WEIGHTS: Readonly<Record<FuzzCommand, number>> = {
  check: 4,
  estimate: 3,
  plan: 3,
  'plan-designs': 2,
  simulate: 4,
  compare: 1,
  validate: 2,
  catalog: 1,
};

/** The generator of cases, commands drawn with `weights`. */
export function fuzzCaseArb(weights: Readonly<Record<FuzzCommand, number>> = DEFAULT_COMMAND_WEIGHTS) {
  return fc.oneof(
    ...FUZZ_COMMANDS.filter((command) => (weights[command] ?? 0) > 0).map((command) => ({
      arbitrary: caseArbs[command],
      weight: weights[command],
    })),
  );
}

/** `count` cases drawn from the generator with `seed` (the same seed gives the same cases). */
export function sampleCases(seed: number, count: number, weights = DEFAULT_COMMAND_WEIGHTS): FuzzCase[] {
  return fc.sample(fuzzCaseArb(weights), { seed, numRuns: count });
}

// ---------------------------------------------------------------------------------------------------------------
// Building a case: mutations applied, the spec rendered, the argv put together
// ---------------------------------------------------------------------------------------------------------------

type Json = unknown;

const isContainer = (value: Json): value is Record<string | number, Json> =>
  value !== null && typeof value === 'object';

function paths(value: Json, leavesOnly: boolean, prefix: Path = []): Path[] {
  if (!isContainer(value)) return prefix.length ? [prefix] : [];
  const keys = Array.isArray(value) ? value.map((_, i) => i) : Object.keys(value);
  if (keys.length === 0) return prefix.length ? [prefix] : [];
  const inner = keys.flatMap((key) =>
    paths((value as Record<string | number, Json>)[key], leavesOnly, [...prefix, key]),
  );
  return leavesOnly || prefix.length === 0 ? inner : [prefix, ...inner];
}

function getAt(root: Json, path: Path): Json {
  let node = root;
  for (const key of path) node = isContainer(node) ? node[key] : undefined;
  return node;
}

function setAt(root: Record<string, Json>, path: Path, value: Json): void {
  let node: Record<string | number, Json> = root;
  for (const key of path.slice(0, -1)) {
    if (!isContainer(node[key])) node[key] = {};
    node = node[key] as Record<string | number, Json>;
  }
  node[path[path.length - 1] as string | number] = value;
}

function deleteAt(root: Json, path: Path): void {
  const parent = getAt(root, path.slice(0, -1));
  const key = path[path.length - 1] as string | number;
  if (Array.isArray(parent) && typeof key === 'number') parent.splice(key, 1);
  else if (isContainer(parent)) delete parent[key];
}

const showPath = (path: Path) => path.map((k) => (typeof k === 'number' ? `[${k}]` : k)).join('.');

function misspell(key: string, how: number): string {
  switch (how % 5) {
    case 0:
      return key.length > 1 ? key.slice(0, -1) : `${key}x`;
    case 1:
      return key.charAt(0).toUpperCase() + key.slice(1);
    case 2:
      return `${key}s`;
    case 3:
      return key.length > 1 ? key.charAt(1) + key.charAt(0) + key.slice(2) : `_${key}`;
    default:
      return `_${key}`;
  }
}

function baseDocument(fuzzCase: FuzzCase): Json {
  const { command, base } = fuzzCase;
  if (command === 'catalog') return undefined;
  if (command === 'validate') {
    const match = /^runs@(\d+)\+(\d+)$/.exec(base);
    const start = Number(match?.[1] ?? 0);
    const count = Number(match?.[2] ?? 1);
    return structuredClone(RUNS.slice(start, start + count));
  }
  const [name, budget] = base.split('@');
  const doc = structuredClone(EXAMPLES[name ?? ''] ?? {}) as Record<string, Json>;
  if (command === 'plan-designs') {
    delete doc.system;
    delete doc.plan;
    doc.constraints = { ...(isContainer(doc.constraints) ? doc.constraints : {}), maxGpus: Number(budget ?? 1024) };
  }
  return doc;
}

function aliasBomb(depth: number, width: number): string {
  const lines = [`lol0: &a0 [${Array.from({ length: width }, () => '"lol"').join(', ')}]`];
  for (let level = 1; level < depth; level++) {
    lines.push(`lol${level}: &a${level} [${Array.from({ length: width }, () => `*a${level - 1}`).join(', ')}]`);
  }
  return lines.join('\n');
}

function replacement(content: (typeof REPLACEMENTS)[number], size: number, text: string): string | Uint8Array {
  switch (content) {
    case 'empty':
      return '';
    case 'spaces':
      return ' \n\t \n';
    case 'comment':
      return '# nothing but a comment\n';
    case 'document-start':
      return '---\n...\n';
    case 'null':
      return 'null\n';
    case 'list':
      return '- 1\n- 2\n';
    case 'number':
      return '42\n';
    case 'string':
      return 'just a string\n';
    case 'bom':
      return `\uFEFF${text}`;
    case 'utf16':
      return Buffer.from(`\uFEFF${text}`, 'utf16le');
    case 'crlf':
      return text.replaceAll('\n', '\r\n');
    case 'tabs':
      return text.replaceAll('  ', '\t');
    case 'deep-flow':
      return `${'['.repeat(size)}1${']'.repeat(size)}\n`;
    case 'deep-block': {
      const depth = Math.min(size, 3000);
      return `${Array.from({ length: depth }, (_, i) => `${' '.repeat(i)}a:`).join('\n')} 1\n`;
    }
    case 'json-in-yaml':
      // The document as one line of JSON (YAML is a superset); text an earlier mutation broke stays as it is.
      try {
        return `${JSON.stringify(yamlParse(text) ?? null) ?? 'null'}\n`;
      } catch {
        return text;
      }
  }
}

/** Applies the mutations and renders the document; the notes say what each mutation did. */
function renderDocument(fuzzCase: FuzzCase): { data: string | Uint8Array; notes: string[]; resolved: Mutation[] } {
  const doc = baseDocument(fuzzCase);
  const root = { doc } as Record<string, Json>;
  const notes: string[] = [];
  const resolved: Mutation[] = [];
  const raws: { yaml: string; json?: string }[] = [];
  const placeholder = (raw: { yaml: string; json?: string }) => {
    raws.push(raw);
    return `__RAW_${raws.length - 1}__`;
  };
  const setPath = (path: Path, rawIndex: number) => {
    const raw = RAW_VALUES[rawIndex % RAW_VALUES.length] as { yaml: string };
    if (path.length === 0) return;
    // A field under a catalog id (workload.model: llama3-8b) goes into the architecture written out inline;
    // under any other scalar it has nowhere to go.
    if (path[0] === 'workload' && path[1] === 'model' && path.length > 2) inlineModel();
    for (let depth = 1; depth < path.length; depth++) {
      const node = getAt(root.doc, path.slice(0, depth));
      if (node !== undefined && !isContainer(node)) return;
    }
    setAt(root, ['doc', ...path], placeholder(raw));
    notes.push(`set ${showPath(path)} = ${raw.yaml}`);
    resolved.push({ kind: 'set-path', path, raw: rawIndex });
  };
  const inlineModel = () => {
    const id = getAt(root.doc, ['workload', 'model']);
    const preset = MODEL_PRESETS.find((p) => p.id === id);
    if (!preset) return;
    setAt(root, ['doc', 'workload', 'model'], structuredClone(preset.model));
    notes.push(`workload.model: the ${preset.id} architecture written inline`);
    resolved.push({ kind: 'inline-model' });
  };
  const deletePath = (path: Path) => {
    if (getAt(root.doc, path) === undefined) return;
    deleteAt(root.doc, path);
    notes.push(`delete ${showPath(path)}`);
    resolved.push({ kind: 'delete-path', path });
  };
  const renamePath = (path: Path, to: string) => {
    const parent = getAt(root.doc, path.slice(0, -1));
    const key = path[path.length - 1];
    if (!isContainer(parent) || Array.isArray(parent) || typeof key !== 'string' || !(key in parent) || to in parent) {
      return;
    }
    // Keep the key order: rebuild the parent with the renamed key in place.
    const entries = Object.entries(parent).map(([k, v]): [string, Json] => [k === key ? to : k, v]);
    for (const k of Object.keys(parent)) delete parent[k];
    Object.assign(parent, Object.fromEntries(entries));
    notes.push(`rename ${showPath(path)} -> ${to}`);
    resolved.push({ kind: 'rename-path', path, to });
  };
  const manyKeys = (path: Path, count: number) => {
    const node = path.length ? getAt(root.doc, path) : root.doc;
    if (!isContainer(node) || Array.isArray(node)) return;
    for (let i = 0; i < count; i++) node[`extraKey${i}`] = i;
    notes.push(`${count} unknown keys extraKey0.. under ${showPath(path) || 'the root'}`);
    resolved.push({ kind: 'many-keys-at', path, count });
  };
  for (const m of fuzzCase.mutations) {
    const current = root.doc;
    switch (m.kind) {
      case 'set': {
        const leaves = paths(current, true);
        if (leaves.length > 0) setPath(leaves[m.target % leaves.length] as Path, m.raw);
        break;
      }
      case 'set-path':
        setPath(m.path, m.raw);
        break;
      case 'add':
      case 'add-hot':
      case 'add-twin':
        if (isContainer(current) && !Array.isArray(current)) {
          const fields = m.kind === 'add' ? SCHEMA_PATHS : m.kind === 'add-hot' ? HOT_PATHS : TWIN_PATHS;
          setPath((fields[m.field % fields.length] as string).split('.'), m.raw);
        }
        break;
      case 'delete': {
        const all = paths(current, false);
        if (all.length > 0) deletePath(all[m.target % all.length] as Path);
        break;
      }
      case 'delete-path':
        deletePath(m.path);
        break;
      case 'drop-section':
        deletePath([m.section]);
        break;
      case 'rename': {
        const named = paths(current, false).filter((p) => typeof p[p.length - 1] === 'string');
        if (named.length === 0) break;
        const path = named[m.target % named.length] as Path;
        renamePath(path, misspell(path[path.length - 1] as string, m.how));
        break;
      }
      case 'rename-path':
        renamePath(m.path, m.to);
        break;
      case 'inline-model':
        inlineModel();
        break;
      case 'many-keys': {
        const objects = [[] as Path, ...paths(current, false)].filter((p) => {
          const node = p.length ? getAt(current, p) : current;
          return isContainer(node) && !Array.isArray(node);
        });
        manyKeys(objects[m.where % objects.length] ?? [], m.count);
        break;
      }
      case 'many-keys-at':
        manyKeys(m.path, m.count);
        break;
      default:
        break;
    }
  }
  let text: string;
  if (fuzzCase.format === 'json') {
    text = `${JSON.stringify(root.doc ?? null, null, 2)}\n`;
    raws.forEach((raw, i) => {
      text = text.replaceAll(`"__RAW_${i}__"`, raw.json ?? raw.yaml);
    });
  } else {
    text = yamlStringify(root.doc ?? null, { lineWidth: 0 });
    raws.forEach((raw, i) => {
      text = text.replaceAll(`__RAW_${i}__`, raw.yaml);
    });
  }
  let data: string | Uint8Array = text;
  for (const m of fuzzCase.mutations) {
    const current: string = typeof data === 'string' ? data : Buffer.from(data).toString('latin1');
    switch (m.kind) {
      case 'alias-bomb': {
        const bomb = aliasBomb(m.depth, m.width);
        data =
          m.atName && fuzzCase.format === 'yaml'
            ? `${bomb}\n${current.replace(/^name:.*$/m, `name: *a${m.depth - 1}`)}`
            : `${bomb}\n${current}`;
        resolved.push(m);
        notes.push(`alias bomb: ${m.depth} levels of ${m.width} aliases${m.atName ? ', name set to the last' : ''}`);
        break;
      }
      case 'duplicate-key': {
        const lines = current.split('\n');
        const keyed = lines
          .map((line, i) => (/^\s*"?[A-Za-z_$][\w$]*"?\s*:/.test(line) ? i : -1))
          .filter((i) => i >= 0);
        if (keyed.length === 0) break;
        const index = keyed[m.line % keyed.length] as number;
        lines.splice(index + 1, 0, lines[index] as string);
        data = lines.join('\n');
        resolved.push(m);
        notes.push(`line ${index + 1} duplicated: ${(lines[index] as string).trim()}`);
        break;
      }
      case 'nul': {
        const at = m.at % (current.length + 1);
        data = `${current.slice(0, at)}\u0000${current.slice(at)}`;
        resolved.push(m);
        notes.push(`NUL byte inserted at offset ${at}`);
        break;
      }
      case 'truncate': {
        const at = current.length ? m.at % current.length : 0;
        data = current.slice(0, at);
        resolved.push(m);
        notes.push(`truncated to ${at} characters`);
        break;
      }
      case 'bytes':
        data = Uint8Array.from(m.bytes);
        resolved.push(m);
        notes.push(`replaced by ${m.bytes.length} random bytes`);
        break;
      case 'replace':
        data = replacement(m.content, m.size, current);
        resolved.push(m);
        notes.push(`replaced: ${m.content}${m.content.startsWith('deep') ? ` (${m.size})` : ''}`);
        break;
      default:
        break;
    }
  }
  return { data, notes, resolved };
}

/**
 * The case with every mutation's target resolved to a field path (mutations that changed nothing dropped), so
 * that dropping one mutation leaves the others hitting the same fields.
 */
export function resolveCase(fuzzCase: FuzzCase): FuzzCase {
  if (fuzzCase.command === 'catalog') return fuzzCase;
  return { ...fuzzCase, mutations: renderDocument(fuzzCase).resolved };
}

/** Turns a case into files and argv (`{dir}` in paths is the case's directory). */
export function buildCase(fuzzCase: FuzzCase): BuiltCase {
  const command = fuzzCase.command === 'plan-designs' ? 'plan' : fuzzCase.command;
  const files: { name: string; data: string | Uint8Array }[] = [];
  const notes: string[] = [];
  const argv: string[] = [command];
  if (fuzzCase.command !== 'catalog') {
    const { data, notes: done } = renderDocument(fuzzCase);
    notes.push(...done);
    const name = fuzzCase.command === 'validate' ? 'runs.json' : `spec.${fuzzCase.format}`;
    files.push({ name, data });
    const arg =
      fuzzCase.specArg === 'file'
        ? `{dir}/${name}`
        : fuzzCase.specArg === 'missing'
          ? `{dir}/missing-${name}`
          : fuzzCase.specArg === 'directory'
            ? '{dir}/adir.html'
            : undefined;
    if (fuzzCase.command === 'validate') {
      if (arg !== undefined) argv.push('--runs', arg);
    } else if (arg !== undefined) argv.push(arg);
  }
  argv.push(...fuzzCase.positional);
  let report: string | undefined;
  for (const f of fuzzCase.flags) {
    argv.push(f.name);
    if (f.value !== null) argv.push(f.value);
    if (f.name === '--report' && f.value?.startsWith('{dir}/')) report = f.value;
  }
  return { files, argv, notes, ...(report !== undefined && { report }) };
}

// ---------------------------------------------------------------------------------------------------------------
// Running a case
// ---------------------------------------------------------------------------------------------------------------

/** What the CLI did on one argv. */
export interface RawOutcome {
  readonly code: number | null;
  readonly signal: string | null;
  readonly timedOut: boolean;
  readonly ms: number;
  readonly stdout: string;
  readonly stderr: string;
  readonly outputBytes: number;
  /** An exception that escaped runCli or was left unhandled (server mode). */
  readonly escaped?: string;
  /** Resources the case left open, which would keep a real process from exiting (server mode). */
  readonly handles?: readonly string[];
}

/** What one case gave. */
export interface Outcome extends RawOutcome {
  /** The report file's text, when the case named one in `{dir}` and it was written. */
  readonly report?: string;
}

/** One broken expectation. */
export interface Failure {
  readonly kind:
    | 'timeout'
    | 'signal'
    | 'exit-code'
    | 'escaped-exception'
    | 'open-handles'
    | 'stack-trace'
    | 'internal-error'
    | 'nonfinite-output'
    | 'nonfinite-report'
    | 'output-too-large'
    | 'control-characters'
    | 'invalid-json';
  readonly detail: string;
}

/** Runs the CLI on an argv with a time budget. */
export interface CliRunner {
  run(argv: readonly string[], timeoutMs: number): Promise<RawOutcome>;
  close(): Promise<void>;
}

const CHILD_ARGS = ['--max-old-space-size=2048', '--import', 'tsx', ENTRY];
const CHILD_ENV = () => ({ ...process.env, NO_COLOR: '1', FORCE_COLOR: '0', NODE_OPTIONS: '' });

/** One fresh process per case (`node --import tsx cli-entry.ts argv...`): the real thing, and slow to start. */
export function processRunner(): CliRunner {
  return {
    run: (argv, timeoutMs) =>
      new Promise((resolve, reject) => {
        const started = performance.now();
        const child = spawn(process.execPath, [...CHILD_ARGS, ...argv], {
          cwd: REPO_ROOT,
          env: CHILD_ENV(),
          stdio: ['ignore', 'pipe', 'pipe'],
        });
        const chunks = { stdout: [] as Buffer[], stderr: [] as Buffer[] };
        let bytes = 0;
        const collect = (stream: 'stdout' | 'stderr') => (chunk: Buffer) => {
          bytes += chunk.length;
          // Keep a little past the limit (enough to show), drop the rest.
          if (bytes <= OUTPUT_LIMIT_BYTES + 65536) chunks[stream].push(chunk);
        };
        child.stdout?.on('data', collect('stdout'));
        child.stderr?.on('data', collect('stderr'));
        let timedOut = false;
        const timer = setTimeout(() => {
          timedOut = true;
          child.kill('SIGKILL');
        }, timeoutMs);
        child.on('error', (error) => {
          clearTimeout(timer);
          reject(error);
        });
        child.on('close', (code, signal) => {
          clearTimeout(timer);
          const stderr = Buffer.concat(chunks.stderr).toString('utf8');
          resolve({
            code,
            signal: timedOut ? null : signal,
            timedOut,
            ms: Math.round(performance.now() - started),
            stdout: Buffer.concat(chunks.stdout).toString('utf8'),
            stderr,
            outputBytes: bytes,
            ...(code === 99 && stderr.includes(ESCAPED_MARKER) && { escaped: stderr }),
          });
        });
      }),
    close: async () => {},
  };
}

interface ServeResponse {
  readonly id: number;
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
  readonly outputBytes: number;
  readonly ms: number;
  readonly escaped?: string;
  readonly handles?: readonly string[];
}

/**
 * A long-lived case server (`cli-entry.ts --serve`) that runs cases one after the other in-process; it is killed
 * and started afresh when a case runs past its budget or the process dies. Cases cost tens of milliseconds
 * instead of the seconds of a fresh process.
 */
export function serverRunner(): CliRunner {
  interface Pending {
    readonly id: number;
    readonly resolve: (outcome: RawOutcome) => void;
    readonly started: number;
    stderr: string;
    timer?: NodeJS.Timeout;
  }
  interface Server {
    readonly process: ChildProcess;
    readonly ready: Promise<void>;
    pending?: Pending;
  }
  let server: Server | undefined;
  let nextId = 0;
  const retire = (stale: Server) => {
    if (server === stale) server = undefined;
    stale.process.kill('SIGKILL');
  };
  const start = (): Server => {
    const spawned = spawn(process.execPath, [...CHILD_ARGS, '--serve'], {
      cwd: REPO_ROOT,
      env: CHILD_ENV(),
      stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
    });
    let markReady: () => void = () => {};
    let failReady: (error: Error) => void = () => {};
    const state: Server = {
      process: spawned,
      ready: new Promise<void>((resolve, reject) => {
        markReady = resolve;
        failReady = reject;
      }),
    };
    spawned.on('error', (error) => failReady(error));
    spawned.on('message', (message: { ready?: boolean } & Partial<ServeResponse>) => {
      if (message.ready) {
        markReady();
        return;
      }
      const pending = state.pending;
      if (!pending || message.id !== pending.id) return;
      clearTimeout(pending.timer);
      state.pending = undefined;
      const m = message as ServeResponse;
      // After an escaped exception the server ends itself: never give it another case.
      if (m.escaped !== undefined) retire(state);
      pending.resolve({
        code: m.code,
        signal: null,
        timedOut: false,
        ms: m.ms,
        stdout: m.stdout,
        stderr: pending.stderr ? `${m.stderr}${pending.stderr}` : m.stderr,
        outputBytes: m.outputBytes,
        ...(m.escaped !== undefined && { escaped: m.escaped }),
        ...(m.handles !== undefined && { handles: m.handles }),
      });
    });
    spawned.stdout?.on('data', () => {});
    spawned.stderr?.on('data', (chunk: Buffer) => {
      const pending = state.pending;
      if (pending && pending.stderr.length < OUTPUT_LIMIT_BYTES) pending.stderr += chunk.toString('utf8');
    });
    spawned.on('exit', (code, signal) => {
      if (server === state) server = undefined;
      failReady(new Error(`the case server exited (${code ?? signal}) before it was ready`));
      const pending = state.pending;
      if (!pending) return;
      clearTimeout(pending.timer);
      state.pending = undefined;
      // The process died while running the case: what a real run would have shown as its exit.
      pending.resolve({
        code,
        signal,
        timedOut: false,
        ms: Math.round(performance.now() - pending.started),
        stdout: '',
        stderr: pending.stderr,
        outputBytes: pending.stderr.length,
      });
    });
    return state;
  };
  return {
    async run(argv, timeoutMs) {
      server ??= start();
      const current = server;
      await current.ready;
      return new Promise((resolve) => {
        const pending: Pending = { id: nextId++, resolve, started: performance.now(), stderr: '' };
        current.pending = pending;
        pending.timer = setTimeout(() => {
          if (current.pending !== pending) return;
          current.pending = undefined;
          retire(current);
          resolve({
            code: null,
            signal: null,
            timedOut: true,
            ms: Math.round(performance.now() - pending.started),
            stdout: '',
            stderr: pending.stderr,
            outputBytes: 0,
          });
        }, timeoutMs);
        current.process.send({ id: pending.id, argv });
      });
    },
    async close() {
      if (server) retire(server);
    },
  };
}

const substitute = (text: string, dir: string) => text.replaceAll('{dir}', dir);

/** Runs a built case in a fresh temporary directory with `runner`, within `timeoutMs`. */
export async function runCase(
  built: BuiltCase,
  runner: CliRunner,
  timeoutMs = DEFAULT_CASE_TIMEOUT_MS,
): Promise<Outcome> {
  const dir = await mkdtemp(join(tmpdir(), 'tokenworks-fuzz-'));
  try {
    await writeFile(join(dir, 'afile.txt'), 'a regular file\n');
    await mkdir(join(dir, 'adir.html'));
    await mkdir(join(dir, 'ro'));
    await chmod(join(dir, 'ro'), 0o555);
    for (const file of built.files) await writeFile(join(dir, file.name), file.data);
    const argv = built.argv.map((arg) => substitute(arg, dir));
    const outcome = await runner.run(argv, timeoutMs);
    const unDir = (text: string) => text.replaceAll(dir, '{dir}');
    let report: string | undefined;
    if (built.report !== undefined) {
      const path = substitute(built.report, dir);
      try {
        if ((await stat(path)).isFile()) report = await readFile(path, 'utf8');
      } catch {
        // not written
      }
    }
    return {
      ...outcome,
      stdout: unDir(outcome.stdout),
      stderr: unDir(outcome.stderr),
      ...(outcome.escaped !== undefined && { escaped: unDir(outcome.escaped) }),
      ...(report !== undefined && { report }),
    };
  } finally {
    await chmod(join(dir, 'ro'), 0o755).catch(() => {});
    await rm(dir, { recursive: true, force: true }).catch(() => {});
  }
}

/** Runs `tasks` with at most `limit` at a time, in order of start; results in input order. */
export async function runPool<T, R>(
  items: readonly T[],
  limit: number,
  task: (item: T, index: number) => Promise<R>,
): Promise<R[]> {
  const results: R[] = new Array(items.length);
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const index = next++;
      results[index] = await task(items[index] as T, index);
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(limit, items.length)) }, worker));
  return results;
}

// ---------------------------------------------------------------------------------------------------------------
// Checks
// ---------------------------------------------------------------------------------------------------------------

const STACK_LINE = /^\s+at (?:.+ \()?(?:file:\/\/|node:|\/|[A-Za-z]:\\|<anonymous>|native).*\)?$/m;
const ERROR_WITH_FILE = /\b\w*Error\b.*(?:file:\/\/|node:internal|\/src\/[\w/.-]+\.[tj]s|\.[tj]s:\d+:\d+)/;
const NONFINITE = /\b(NaN|Infinity|undefined)\b/;

/**
 * Removes the places where such a word is the user's own input shown back: quoted echoes of argv or spec text,
 * "got Infinity (a number too large to represent, ...)", "got NaN" or "got Infinity" for a spec that spells
 * `.nan` or `.inf`, and the catalog's "Infinity Fabric" (AMD's scale-up link).
 */
function stripEchoes(text: string, userInput: string): string {
  const typedNaN = /\.nan\b|\bNaN\b/i.test(userInput);
  const typedInfinity = /\.inf\b|\bInfinity\b/i.test(userInput);
  // JSON.parse quotes the text around a syntax error, over several lines: words the user typed there are theirs.
  const typed = (word: string) => new RegExp(`\\b${word}\\b`).test(userInput);
  return text
    .replace(/(?:JSON syntax error|not valid JSON \()[\s\S]*?(?:is not valid JSON|$)/g, (echo) =>
      echo.replace(/\b(NaN|Infinity|undefined)\b/g, (word) => (typed(word) ? '(typed)' : word)),
    )
    .replace(/"([^"\n]*)"/g, (whole, inner: string) => (userInput.includes(inner) ? '""' : whole))
    .replace(/got -?Infinity \(a number too large to represent[^)]*\)/g, 'got (too large)')
    .replace(/got NaN\b/g, (whole) => (typedNaN ? 'got (typed)' : whole))
    .replace(/got -?Infinity\b/g, (whole) => (typedInfinity ? 'got (typed)' : whole))
    .replace(/Infinity Fabric/g, 'IF');
}

function firstMatchingLine(text: string, pattern: RegExp): string | undefined {
  return text.split('\n').find((line) => pattern.test(line));
}

/** Checks an outcome; an empty list means the case passed. */
export function checkOutcome(built: BuiltCase, outcome: Outcome): Failure[] {
  const failures: Failure[] = [];
  const both = `${outcome.stdout}\n${outcome.stderr}`;
  const firstStderr = outcome.stderr.split('\n').find((l) => l.trim() !== '') ?? '';
  if (outcome.timedOut) {
    failures.push({ kind: 'timeout', detail: `killed after ${outcome.ms} ms` });
  } else if (outcome.signal !== null) {
    failures.push({ kind: 'signal', detail: `killed by ${outcome.signal}: ${firstStderr}` });
  } else if (outcome.escaped !== undefined) {
    failures.push({ kind: 'escaped-exception', detail: firstMatchingLine(outcome.escaped, /\S/) ?? '' });
  } else if (outcome.code !== 0 && outcome.code !== 2) {
    failures.push({ kind: 'exit-code', detail: `exit ${outcome.code}: ${firstStderr}` });
  }
  if (outcome.handles !== undefined && !outcome.timedOut) {
    failures.push({ kind: 'open-handles', detail: `left open: ${outcome.handles.join(', ')}` });
  }
  const stackLine = firstMatchingLine(both, STACK_LINE) ?? firstMatchingLine(both, ERROR_WITH_FILE);
  if (stackLine !== undefined) failures.push({ kind: 'stack-trace', detail: stackLine.trim() });
  const internal = firstMatchingLine(both, /internal error/i);
  if (internal !== undefined) failures.push({ kind: 'internal-error', detail: internal.trim() });
  const userInput = [...built.argv, ...built.files.map((f) => (typeof f.data === 'string' ? f.data : ''))].join('\n');
  const nonfinite = firstMatchingLine(stripEchoes(both, userInput), NONFINITE);
  if (nonfinite !== undefined) failures.push({ kind: 'nonfinite-output', detail: nonfinite.trim() });
  if (outcome.report !== undefined) {
    const line = firstMatchingLine(outcome.report.replace(/<[^>]*>/g, ' '), NONFINITE);
    if (line !== undefined) failures.push({ kind: 'nonfinite-report', detail: line.trim().slice(0, 300) });
  }
  const control = both.split('\n').find((line) => hasControlCharacters(line.replaceAll('\u001b', '')));
  if (control !== undefined) {
    failures.push({ kind: 'control-characters', detail: visible(control.slice(0, 200)) });
  }
  if (outcome.outputBytes > OUTPUT_LIMIT_BYTES) {
    failures.push({ kind: 'output-too-large', detail: `${outcome.outputBytes} bytes of output` });
  }
  // (Output past the limit was not all kept, so it cannot be parsed: that case already failed above.)
  if (outcome.code === 0 && built.argv.includes('--json') && outcome.outputBytes <= OUTPUT_LIMIT_BYTES) {
    try {
      JSON.parse(outcome.stdout);
    } catch (error) {
      failures.push({ kind: 'invalid-json', detail: `--json stdout: ${(error as Error).message}` });
    }
  }
  return failures;
}

/**
 * A grouping key for a failure: its kind, the command and the detail with numbers, quoted values and paths
 * normalised, so that the same bug hit through different values falls into one group.
 */
export function signature(fuzzCase: FuzzCase, failure: Failure): string {
  const detail = failure.detail
    // A JSON line ("reason": "...") stands for its value; the file named first is no part of the message.
    .replace(/^\s*"[\w$]+": "(.*)",?$/, '$1')
    .replace(/\{dir\}\/\S*/g, 'PATH')
    .replace(/^(?:tokenworks: )?PATH:? /, '')
    // The same message for another field, another published run or the other sign is the same bug.
    // zod's own messages (published-run rows), whatever row and field they name.
    .replace(/^.*?Invalid input: /, 'row field: Invalid input, ')
    .replace(/[\w$.[\]-]+: (?=got |expected |must |is required|unknown field)/g, 'FIELD: ')
    .replace(/(?:row \d+|[\w.-]+):?\s+(invalid|unsupported): (?:[\w.]+: )?/g, 'ROW $1: ')
    .replace(/-Infinity/g, 'Infinity')
    .replace(/\\u00[0-9a-f]{2}/gi, '')
    .split('')
    .filter((char) => char >= ' ' && char <= '~')
    .join('')
    .replace(/"[^"]*"/g, '"…"')
    .replace(/'[^']*'/g, "'…'")
    .replace(/"…"(?:, "…")+/g, '"…"')
    .replace(/-?\d[\d,.]*(e[+-]?\d+)?/gi, 'N')
    .replace(/\s+/g, ' ')
    .slice(0, 160);
  const command = fuzzCase.command;
  if (failure.kind === 'timeout') return `timeout · ${command}`;
  return `${failure.kind} · ${command} · ${detail}`;
}

/** `text` with control characters other than tab and newline written as \u escapes, safe to print. */
function visible(text: string): string {
  let out = '';
  for (const char of text) {
    const code = char.charCodeAt(0);
    out += (code < 32 && code !== 9 && code !== 10) || code === 127 ? `\\u${code.toString(16).padStart(4, '0')}` : char;
  }
  return out;
}

/** Whether `text` holds control characters other than tab, newline and carriage return (shown as base64). */
function hasControlCharacters(text: string): boolean {
  for (let i = 0; i < text.length; i++) {
    const code = text.charCodeAt(i);
    if (code < 32 && code !== 9 && code !== 10 && code !== 13) return true;
  }
  return false;
}

/** A self-contained reproduction: the spec (text, or base64 when binary), the argv and what happened. */
export function reproduction(fuzzCase: FuzzCase, built: BuiltCase, outcome?: Outcome, failures?: Failure[]): string {
  const lines: string[] = [];
  lines.push(`command: ${fuzzCase.command}, base: ${fuzzCase.base || '-'}, format: ${fuzzCase.format}`);
  if (built.notes.length) lines.push(`mutations: ${built.notes.join('; ')}`);
  for (const file of built.files) {
    const data = file.data;
    const binary = typeof data !== 'string' || hasControlCharacters(data);
    const text = typeof data === 'string' ? data : '';
    if (binary) {
      const b64 = Buffer.from(typeof data === 'string' ? Buffer.from(data, 'utf8') : data).toString('base64');
      lines.push(
        `{dir}/${file.name} (base64, ${b64.length} chars): ${b64.length > 4000 ? `${b64.slice(0, 4000)}…` : b64}`,
      );
    } else {
      const shown = text.length > 4000 ? `${text.slice(0, 4000)}\n… (${text.length} characters in all)` : text;
      lines.push(`{dir}/${file.name}:`, ...shown.split('\n').map((l) => `  | ${l}`));
    }
  }
  lines.push(`argv: ${built.argv.map((a) => (a === '' || /[\s"'\\$]/.test(a) ? JSON.stringify(a) : a)).join(' ')}`);
  lines.push('  ({dir} holds afile.txt, the directory adir.html and the directory ro/ with mode 555)');
  if (outcome) {
    lines.push(
      `outcome: exit ${outcome.code}${outcome.signal ? `, signal ${outcome.signal}` : ''}${outcome.timedOut ? ', TIMED OUT' : ''}, ${outcome.ms} ms, ${outcome.outputBytes} bytes of output`,
    );
    const tail = (text: string) => visible(text.length > 1500 ? `…${text.slice(-1500)}` : text);
    if (outcome.stderr.trim())
      lines.push(
        'stderr:',
        ...tail(outcome.stderr.trimEnd())
          .split('\n')
          .map((l) => `  | ${l}`),
      );
    if (outcome.stdout.trim() && failures?.some((f) => f.kind === 'invalid-json')) {
      lines.push(
        'stdout:',
        ...tail(outcome.stdout.trimEnd())
          .split('\n')
          .map((l) => `  | ${l}`),
      );
    }
    const offending = outcome.stdout.split('\n').filter((line) => NONFINITE.test(line));
    if (offending.length > 0 && failures?.some((f) => f.kind === 'nonfinite-output')) {
      lines.push(
        `stdout lines with NaN, Infinity or undefined (${offending.length}):`,
        ...offending.slice(0, 8).map((l) => `  | ${visible(l.slice(0, 300))}`),
      );
    }
  }
  if (failures?.length) lines.push(`failures: ${failures.map((f) => `${f.kind}: ${f.detail}`).join(' | ')}`);
  return lines.join('\n');
}

// ---------------------------------------------------------------------------------------------------------------
// Minimizing a failing case
// ---------------------------------------------------------------------------------------------------------------

/** Flags that keep a case cheap; the minimizer leaves them in. */
const GUARD_FLAGS = new Set(['--threads', '--replicas', '--days', '--sweep']);
const SECTIONS = ['name', 'facility', 'twin', 'compare', 'constraints', 'plan', 'system'];

/**
 * Greedily shrinks a failing case while `stillFails` holds: drops mutations one at a time, then flags (except the
 * ones that keep it cheap), then whole sections of the base spec. At most `maxTries` runs.
 */
export async function minimizeCase(
  fuzzCase: FuzzCase,
  stillFails: (candidate: FuzzCase) => Promise<boolean>,
  maxTries = 16,
): Promise<FuzzCase> {
  let best = resolveCase(fuzzCase);
  let tries = 0;
  const attempt = async (candidate: FuzzCase) => {
    if (tries >= maxTries) return false;
    tries++;
    if (await stillFails(candidate)) {
      best = candidate;
      return true;
    }
    return false;
  };
  const rows = /^runs@(\d+)\+(\d+)$/.exec(best.base);
  if (best.command === 'validate' && rows && Number(rows[2]) > 1) {
    // One row at a time, the mutations of that row moved to index 0 and the other rows' dropped.
    const start = Number(rows[1]);
    const current = best;
    for (let k = 0; k < Number(rows[2]); k++) {
      const mutations = current.mutations.flatMap((m): Mutation[] => {
        if (!('path' in m) || typeof m.path[0] !== 'number') return [m];
        return m.path[0] === k ? [{ ...m, path: [0, ...m.path.slice(1)] }] : [];
      });
      if (await attempt({ ...current, base: `runs@${start + k}+1`, mutations })) break;
    }
  }
  if (best.command !== 'validate' && best.command !== 'catalog') {
    const present = baseDocument(best);
    for (const section of SECTIONS) {
      if (!isContainer(present) || !(section in present)) continue;
      // A dropped section goes first so that later mutations can still add fields to it.
      await attempt({ ...best, mutations: [{ kind: 'delete-path', path: [section] }, ...best.mutations] });
    }
  }
  for (let i = best.mutations.length - 1; i >= 0; i--) {
    await attempt({ ...best, mutations: best.mutations.filter((_, j) => j !== i) });
  }
  for (let i = best.flags.length - 1; i >= 0; i--) {
    if (GUARD_FLAGS.has(best.flags[i]?.name ?? '')) continue;
    await attempt({ ...best, flags: best.flags.filter((_, j) => j !== i) });
  }
  if (best.format === 'json' && best.command !== 'validate') await attempt({ ...best, format: 'yaml' });
  return best;
}

// ---------------------------------------------------------------------------------------------------------------
// Running many cases
// ---------------------------------------------------------------------------------------------------------------

/** One case's result. */
export interface CaseResult {
  readonly index: number;
  readonly fuzzCase: FuzzCase;
  readonly built: BuiltCase;
  readonly outcome: Outcome;
  readonly failures: readonly Failure[];
  /** It ran past its budget in a case server and ran again in a fresh process (twice the budget): how that went. */
  readonly rerun?: 'timed out again' | 'finished';
}

/** Options of {@link runFuzz}. */
export interface FuzzRunOptions {
  /** Cases at once (each in its own child process); at most 2 on a shared machine. */
  readonly concurrency?: number;
  /** The budget of one case; compare cases get {@link COMPARE_BUDGET_FACTOR} times as much. */
  readonly timeoutMs?: number;
  /** `server`: long-lived case servers (fast); `process`: a fresh process per case (the real thing). */
  readonly mode?: 'server' | 'process';
  /**
   * Run a case that timed out in a case server again in a fresh process with twice the budget (default true),
   * so that a moment of load on a shared machine is not taken for a hang: only the second run counts.
   */
  readonly confirmTimeouts?: boolean;
  readonly onResult?: (result: CaseResult) => void;
}

/** `compare` runs the twin at every size on both sides and the shared cluster: 3 to 12 s a case when idle. */
export const COMPARE_BUDGET_FACTOR = 2;

/** The time budget of `fuzzCase`. */
export const caseBudgetMs = (fuzzCase: FuzzCase, timeoutMs = DEFAULT_CASE_TIMEOUT_MS): number =>
  fuzzCase.command === 'compare' ? timeoutMs * COMPARE_BUDGET_FACTOR : timeoutMs;

/** Runs and checks `cases`; results in input order. */
export async function runFuzz(cases: readonly FuzzCase[], options: FuzzRunOptions = {}): Promise<CaseResult[]> {
  const concurrency = options.concurrency ?? 2;
  const timeoutMs = options.timeoutMs ?? DEFAULT_CASE_TIMEOUT_MS;
  const make = options.mode === 'process' ? processRunner : serverRunner;
  const confirm = (options.confirmTimeouts ?? true) && options.mode !== 'process';
  const idle = Array.from({ length: concurrency }, make);
  const all = [...idle];
  const fresh = processRunner();
  try {
    return await runPool(cases, concurrency, async (fuzzCase, index) => {
      const runner = idle.pop() ?? make();
      try {
        const built = buildCase(fuzzCase);
        const budget = caseBudgetMs(fuzzCase, timeoutMs);
        let outcome = await runCase(built, runner, budget);
        let rerun: CaseResult['rerun'];
        if (outcome.timedOut && confirm) {
          // The server was killed with the case, so this stays within `concurrency` processes.
          outcome = await runCase(built, fresh, 2 * budget);
          rerun = outcome.timedOut ? 'timed out again' : 'finished';
        }
        const result: CaseResult = {
          index,
          fuzzCase,
          built,
          outcome,
          failures: checkOutcome(built, outcome),
          ...(rerun && { rerun }),
        };
        options.onResult?.(result);
        return result;
      } finally {
        idle.push(runner);
      }
    });
  } finally {
    await Promise.all(all.map((runner) => runner.close()));
  }
}

/** Failing results grouped by the signature of their first failure, largest group first. */
export function groupFailures(results: readonly CaseResult[]): { signature: string; results: CaseResult[] }[] {
  const groups = new Map<string, CaseResult[]>();
  for (const result of results) {
    const first = result.failures[0];
    if (!first) continue;
    const key = signature(result.fuzzCase, first);
    groups.set(key, [...(groups.get(key) ?? []), result]);
  }
  return [...groups]
    .map(([key, members]) => ({ signature: key, results: members }))
    .sort((a, b) => b.results.length - a.results.length);
}

/** The smoke case: a valid example must check cleanly, or the tree does not even load and fuzzing means nothing. */
export async function smokeTest(mode: 'server' | 'process' = 'process'): Promise<CaseResult> {
  const fuzzCase: FuzzCase = {
    command: 'check',
    base: 'llama3-8b',
    format: 'yaml',
    specArg: 'file',
    mutations: [],
    positional: [],
    flags: [],
  };
  const [result] = await runFuzz([fuzzCase], { concurrency: 1, mode, timeoutMs: 60_000 });
  return result as CaseResult;
}
