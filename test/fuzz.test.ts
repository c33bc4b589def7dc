/**
 * Property-based fuzzing of the CLI (fast-check, fixed seed): real example specs and published-run rows mutated
 * (numbers set to 0, negative, huge, overflowing, tiny or fractional, wrong types, keys deleted, misspelt or
 * duplicated, sections removed, alias bombs, NUL and random bytes, empty files, thousands of keys) and random
 * flag values, for check, estimate, plan (with and without a system), simulate, compare, validate and catalog.
 * Every case runs in a child process (a case server, test/support/cli-entry.ts --serve, killed and restarted when
 * a case runs past its budget) and must exit 0 or 2, leave nothing open that would keep the process alive, print
 * no stack trace, no "internal error" and no NaN, Infinity or undefined as a value, stay under 1 MB of output,
 * give JSON with --json, and finish in time. `npm run fuzz` (scripts/fuzz.ts) runs the long version.
 * @module
 */
import { describe, expect, it } from 'vitest';
import { type CaseResult, groupFailures, reproduction, runFuzz, sampleCases, smokeTest } from './support/fuzz-cases.js';

const SEED = 20_261_201;
const CASES = 200;
const CASE_TIMEOUT_MS = 20_000;

function describeFailures(results: readonly CaseResult[]): string {
  const groups = groupFailures(results);
  const failing = results.filter((r) => r.failures.length > 0).length;
  const parts = [`${failing} of ${results.length} cases failed (seed ${SEED}), ${groups.length} kinds of failure:`];
  for (const group of groups) {
    const first = group.results[0] as CaseResult;
    parts.push(
      '',
      `== ${group.signature}  (${group.results.length} case${group.results.length === 1 ? '' : 's'}: #${group.results.map((r) => r.index).join(', #')})`,
      reproduction(first.fuzzCase, first.built, first.outcome, [...first.failures]).slice(0, 6000),
    );
  }
  return parts.join('\n');
}

describe('CLI fuzz', () => {
  it(`survives ${CASES} generated specs and flags (seed ${SEED})`, { timeout: 900_000 }, async () => {
    const smoke = await smokeTest('server');
    expect(smoke.failures, `the CLI does not run a valid example:\n${smoke.outcome.stderr}`).toEqual([]);
    expect(smoke.outcome.code).toBe(0);

    const cases = sampleCases(SEED, CASES);
    const results = await runFuzz(cases, { concurrency: 2, timeoutMs: CASE_TIMEOUT_MS, mode: 'server' });
    // The generator must reach the engines, not only the validation: some cases succeed, some are rejected.
    expect(results.filter((r) => r.outcome.code === 0).length).toBeGreaterThan(CASES / 10);
    expect(results.filter((r) => r.outcome.code === 2).length).toBeGreaterThan(CASES / 10);
    const failing = results.filter((r) => r.failures.length > 0);
    expect(failing.length, describeFailures(results)).toBe(0);
  });
});
