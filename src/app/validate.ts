/**
 * The `validate` use case: predicts every row of a published-runs file and reports the error per row, by group,
 * the worst rows and the rows it cannot express. A file where no row can be predicted is an error naming why.
 * @module
 */
import type { Result } from '../spec/issues.js';
import { parseText } from '../spec/load.js';
import { type ValidationReport, validateRuns } from '../validation/validate.js';
import { throwIfAborted, type UseCaseOptions } from './ports.js';

/** What `tokenworks validate` found. */
export type ValidateOutcome = ValidationReport;

/** Largest runs file read, characters (the shipped set is 0.6 M; a spec may be at most 1 M). */
const MAX_RUNS_CHARS = 64e6;

/**
 * Validates the model on a runs file's text: JSON (through the spec loader's checks: binary text, control
 * characters, syntax errors on one line) holding an array of rows in the calibration format.
 */
export async function runValidate(
  input: { readonly text: string },
  _ports: object = {},
  { signal }: UseCaseOptions = {},
): Promise<Result<ValidateOutcome>> {
  throwIfAborted(signal);
  const parsed = parseText(input.text, 'json', MAX_RUNS_CHARS);
  if (!parsed.ok) return parsed;
  if (!Array.isArray(parsed.value)) {
    const got = parsed.value === null ? 'null' : typeof parsed.value;
    return {
      ok: false,
      issues: [{ code: 'invalid_type', path: '', message: `expected a JSON array of runs, got ${got}` }],
    };
  }
  const report = validateRuns(parsed.value);
  if (report.rows.length > 0) return { ok: true, value: report };
  const reasons = report.skipped.map((row) => ({
    code: 'no_result',
    path: row.id,
    message: `${row.kind}: ${row.reason}`,
  }));
  return {
    ok: false,
    issues: reasons.length > 0 ? reasons : [{ code: 'no_result', path: '', message: 'the array holds no runs' }],
  };
}
