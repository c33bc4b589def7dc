/**
 * The `validate` use case: predicts every row of a published-runs file and reports the error per row, by group,
 * the worst rows and the rows it cannot express. A file where no row can be predicted is an error naming why.
 * @module
 */
import type { Result } from '../spec/issues.js';
import { controlCharacterPath } from '../spec/load.js';
import { type ValidationReport, validateRuns } from '../validation/validate.js';
import { throwIfAborted, type UseCaseOptions } from './ports.js';

/** What `tokenworks validate` found. */
export type ValidateOutcome = ValidationReport;

/** Validates the model on `rows` (the parsed JSON array of a runs file). */
export async function runValidate(
  input: { readonly rows: readonly unknown[] },
  _ports: object = {},
  { signal }: UseCaseOptions = {},
): Promise<Result<ValidateOutcome>> {
  throwIfAborted(signal);
  const control = controlCharacterPath(input.rows);
  if (control !== undefined) {
    return {
      ok: false,
      issues: [{ code: 'control_character', path: control, message: 'holds a control character; write plain text' }],
    };
  }
  const report = validateRuns([...input.rows]);
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
