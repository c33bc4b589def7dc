/**
 * The long CLI fuzz run (`npm run fuzz -- --runs 1000 --seed 1`): the generators of test/support/fuzz-cases.ts
 * over many more cases than `test/fuzz.test.ts`. Prints the counts per command and per outcome (exit 0, exit 2,
 * failures by kind), then every distinct failure (grouped by kind, command and normalised message) with a case
 * that reproduces it: the spec, the argv and what happened, first as found, then minimized (mutations, flags
 * and spec sections dropped while it still fails) and checked again in a fresh process. Writes a JSON summary
 * to bench/results/fuzz.json.
 *
 * Options: --runs N (1000), --seed S (1), --jobs J (2; cases at once, each in its own child process),
 * --timeout MS (20000 per case; compare cases get twice as much), --mode server|process (server: long-lived case servers, fast; process: a fresh
 * process per case), --commands check,plan,... (all), --minimize N (runs the minimizer may spend on each failure
 * group, 16; 0: no minimizing), --minimize-seconds S (for all groups together, 900), --out FILE
 * (bench/results/fuzz.json).
 * @module
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { parseArgs } from 'node:util';
import {
  buildCase,
  type CaseResult,
  caseBudgetMs,
  checkOutcome,
  DEFAULT_COMMAND_WEIGHTS,
  FUZZ_COMMANDS,
  type FuzzCase,
  type FuzzCommand,
  groupFailures,
  minimizeCase,
  processRunner,
  reproduction,
  runCase,
  runFuzz,
  sampleCases,
  serverRunner,
  signature,
  smokeTest,
} from '../test/support/fuzz-cases.js';

const { values } = parseArgs({
  options: {
    runs: { type: 'string', default: '1000' },
    seed: { type: 'string', default: '1' },
    jobs: { type: 'string', default: '2' },
    timeout: { type: 'string', default: '20000' },
    mode: { type: 'string', default: 'server' },
    commands: { type: 'string' },
    minimize: { type: 'string', default: '16' },
    'minimize-seconds': { type: 'string', default: '900' },
    out: { type: 'string', default: join(import.meta.dirname, '..', 'bench', 'results', 'fuzz.json') },
  },
});

const integer = (name: string, text: string, min: number): number => {
  const value = Number(text);
  if (!Number.isInteger(value) || value < min) {
    process.stderr.write(`fuzz: --${name} must be an integer of at least ${min}, got "${text}"\n`);
    process.exit(2);
  }
  return value;
};
const runs = integer('runs', values.runs, 1);
const seed = integer('seed', values.seed, -(2 ** 31));
const jobs = integer('jobs', values.jobs, 1);
const timeoutMs = integer('timeout', values.timeout, 100);
const minimizeTries = integer('minimize', values.minimize, 0);
const minimizeSeconds = integer('minimize-seconds', values['minimize-seconds'], 0);
const mode = values.mode === 'process' ? 'process' : 'server';
const wanted = values.commands?.split(',').map((c) => c.trim()) ?? [...FUZZ_COMMANDS];
for (const command of wanted) {
  if (!(FUZZ_COMMANDS as readonly string[]).includes(command)) {
    process.stderr.write(`fuzz: unknown command "${command}"; valid: ${FUZZ_COMMANDS.join(', ')}\n`);
    process.exit(2);
  }
}
const weights = Object.fromEntries(
  FUZZ_COMMANDS.map((c) => [c, wanted.includes(c) ? DEFAULT_COMMAND_WEIGHTS[c] : 0]),
) as Record<FuzzCommand, number>;

const log = (text = '') => process.stdout.write(`${text}\n`);

const smoke = await smokeTest(mode);
if (smoke.failures.length > 0 || smoke.outcome.code !== 0) {
  log('fuzz: the CLI does not check examples/llama3-8b.yaml cleanly; fix that first:');
  log(reproduction(smoke.fuzzCase, smoke.built, smoke.outcome, [...smoke.failures]));
  process.exit(1);
}

const started = performance.now();
const cases = sampleCases(seed, runs, weights);
log(`fuzz: ${runs} cases, seed ${seed}, ${jobs} at a time, ${timeoutMs} ms each at most, ${mode} mode`);
let done = 0;
let failed = 0;
const results = await runFuzz(cases, {
  concurrency: jobs,
  timeoutMs,
  mode,
  onResult: (result) => {
    done++;
    if (result.failures.length > 0) failed++;
    if (done % 50 === 0 || done === runs) {
      const seconds = ((performance.now() - started) / 1000).toFixed(0);
      log(`  ${done}/${runs} cases, ${failed} failing, ${seconds} s`);
    }
  },
});
const fuzzSeconds = (performance.now() - started) / 1000;

// Counts per command and per outcome.
type Counts = {
  cases: number;
  exit0: number;
  exit2: number;
  failing: number;
  ms: number[];
  kinds: Record<string, number>;
};
const perCommand = new Map<string, Counts>();
const kinds: Record<string, number> = {};
for (const r of results) {
  const counts = perCommand.get(r.fuzzCase.command) ?? { cases: 0, exit0: 0, exit2: 0, failing: 0, ms: [], kinds: {} };
  counts.cases++;
  counts.ms.push(r.outcome.ms);
  if (r.failures.length > 0) counts.failing++;
  else if (r.outcome.code === 0) counts.exit0++;
  else counts.exit2++;
  for (const kind of new Set(r.failures.map((f) => f.kind))) {
    counts.kinds[kind] = (counts.kinds[kind] ?? 0) + 1;
    kinds[kind] = (kinds[kind] ?? 0) + 1;
  }
  perCommand.set(r.fuzzCase.command, counts);
}
const quantile = (sorted: number[], q: number) =>
  sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? 0;

log();
log('command        cases  exit 0  exit 2  failing  median ms  max ms  failures by kind');
for (const command of FUZZ_COMMANDS) {
  const c = perCommand.get(command);
  if (!c) continue;
  const sorted = [...c.ms].sort((a, b) => a - b);
  const byKind = Object.entries(c.kinds)
    .map(([k, n]) => `${k} ${n}`)
    .join(', ');
  log(
    `${command.padEnd(13)} ${String(c.cases).padStart(6)}  ${String(c.exit0).padStart(6)}  ${String(c.exit2).padStart(6)}  ${String(c.failing).padStart(7)}  ${String(quantile(sorted, 0.5)).padStart(9)}  ${String(sorted.at(-1) ?? 0).padStart(6)}  ${byKind}`,
  );
}
const totals = {
  exit0: results.filter((r) => r.failures.length === 0 && r.outcome.code === 0).length,
  exit2: results.filter((r) => r.failures.length === 0 && r.outcome.code === 2).length,
  failing: results.filter((r) => r.failures.length > 0).length,
};
log();
log(`outcomes: ${totals.exit0} exit 0, ${totals.exit2} exit 2, ${totals.failing} failing`);
log(
  `failures by kind (a case may have several): ${
    Object.entries(kinds)
      .sort((a, b) => b[1] - a[1])
      .map(([k, n]) => `${k} ${n}`)
      .join(', ') || 'none'
  }`,
);
const reruns = results.filter((r) => r.rerun !== undefined);
log(
  `timeouts in a case server rerun in a fresh process: ${reruns.length} (${reruns.filter((r) => r.rerun === 'finished').length} finished there)`,
);
log(`fuzzing took ${fuzzSeconds.toFixed(1)} s`);

// Every distinct failure, with a reproduction; the first of each group minimized and rerun in a fresh process.
const groups = groupFailures(results);
const fresh = processRunner();
const minimizer = serverRunner();
const failsAlike = async (candidate: FuzzCase, key: string): Promise<boolean> => {
  const built = buildCase(candidate);
  const outcome = await runCase(built, minimizer, caseBudgetMs(candidate, timeoutMs));
  return checkOutcome(built, outcome).some((f) => signature(candidate, f) === key);
};
const summaries = [];
const minimizeStarted = performance.now();
const asFiles = (built: ReturnType<typeof buildCase>) =>
  built.files.map((file) =>
    typeof file.data === 'string' && !file.data.includes('\u0000')
      ? { name: file.name, text: file.data.length > 20000 ? `${file.data.slice(0, 20000)}…` : file.data }
      : { name: file.name, base64: Buffer.from(file.data).toString('base64').slice(0, 20000) },
  );

/** Minimizes `result`'s case while it fails with `key`, then runs the small case in a fresh process. */
async function minimizeAndConfirm(result: CaseResult, key: string) {
  // Each try of a hang costs the whole case budget: spend fewer on those.
  const tries = result.outcome.timedOut ? Math.min(minimizeTries, 6) : minimizeTries;
  const small = await minimizeCase(result.fuzzCase, (c) => failsAlike(c, key), tries);
  const built = buildCase(small);
  const outcome = await runCase(built, fresh, caseBudgetMs(small, timeoutMs));
  const failures = checkOutcome(built, outcome);
  const reproduced = failures.some((f) => signature(small, f) === key);
  log(`--- case #${result.index} minimized, rerun in a fresh process:`);
  log(reproduction(small, built, outcome, failures));
  log(`--- reproduced in a fresh process: ${reproduced ? 'yes' : 'no'}`);
  return {
    index: result.index,
    case: small,
    argv: built.argv,
    notes: built.notes,
    files: asFiles(built),
    freshProcess: { reproduced, code: outcome.code, timedOut: outcome.timedOut, kinds: failures.map((f) => f.kind) },
  };
}

for (const [n, group] of groups.entries()) {
  const first = group.results[0] as CaseResult;
  log();
  log(`=== failure ${n + 1} of ${groups.length}: ${group.signature}`);
  log(`    ${group.results.length} case(s): #${group.results.map((r) => r.index).join(', #')}`);
  log(reproduction(first.fuzzCase, first.built, first.outcome, [...first.failures]));
  // Hangs of one command may have different causes: minimize up to three of them.
  const members = first.outcome.timedOut ? group.results.slice(0, 3) : [first];
  const minimized = [];
  for (const member of members) {
    if (minimizeTries === 0 || (performance.now() - minimizeStarted) / 1000 > minimizeSeconds) break;
    minimized.push(await minimizeAndConfirm(member, group.signature));
  }
  summaries.push({
    signature: group.signature,
    kinds: [...new Set(group.results.flatMap((r) => r.failures.map((f) => f.kind)))],
    count: group.results.length,
    commands: [...new Set(group.results.map((r) => r.fuzzCase.command))],
    cases: group.results.map((r) => r.index),
    example: {
      index: first.index,
      case: first.fuzzCase,
      argv: first.built.argv,
      notes: first.built.notes,
      files: asFiles(first.built),
      outcome: {
        code: first.outcome.code,
        signal: first.outcome.signal,
        timedOut: first.outcome.timedOut,
        ms: first.outcome.ms,
        stderr: first.outcome.stderr.slice(0, 3000),
      },
      failures: first.failures,
    },
    minimized,
  });
}
await minimizer.close();
await fresh.close();

const summary = {
  generatedAt: new Date().toISOString(),
  node: process.version,
  seed,
  runs,
  mode,
  jobs,
  timeoutMs,
  fuzzSeconds: Number(fuzzSeconds.toFixed(1)),
  totalSeconds: Number(((performance.now() - started) / 1000).toFixed(1)),
  outcomes: totals,
  failuresByKind: kinds,
  timeoutReruns: reruns.map((r) => ({ index: r.index, command: r.fuzzCase.command, rerun: r.rerun })),
  perCommand: Object.fromEntries(
    [...perCommand].map(([command, c]) => {
      const sorted = [...c.ms].sort((a, b) => a - b);
      return [
        command,
        {
          cases: c.cases,
          exit0: c.exit0,
          exit2: c.exit2,
          failing: c.failing,
          failuresByKind: c.kinds,
          medianMs: quantile(sorted, 0.5),
          p90Ms: quantile(sorted, 0.9),
          maxMs: sorted.at(-1) ?? 0,
        },
      ];
    }),
  ),
  slowest: [...results]
    .sort((a, b) => b.outcome.ms - a.outcome.ms)
    .slice(0, 10)
    .map((r) => ({
      index: r.index,
      command: r.fuzzCase.command,
      ms: r.outcome.ms,
      argv: r.built.argv,
      notes: r.built.notes,
    })),
  failures: summaries,
};
await mkdir(dirname(values.out), { recursive: true });
await writeFile(values.out, `${JSON.stringify(summary, null, 2)}\n`);
log();
log(`${groups.length} distinct failure(s); summary written to ${values.out}`);
process.exitCode = totals.failing > 0 ? 1 : 0;
