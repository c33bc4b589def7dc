/**
 * The `validate` use case: predicts every row of a published-runs file and reports the error per row, by group,
 * the worst rows and the rows it cannot express. A file where no row can be predicted is an error naming why.
 * @module
 */
import type { Result } from '../spec/issues.js';
import { parseText } from '../spec/load.js';
import { type RunSet, type ValidationReport, validateSets } from '../validation/validate.js';
import { throwIfAborted, type UseCaseOptions } from './ports.js';

/** What `tokenworks validate` found. */
export type ValidateOutcome = ValidationReport;

/** Largest runs file read, characters (the shipped set is 0.6 M; a spec may be at most 1 M). */
const MAX_RUNS_CHARS = 64e6;

/** One runs file's text and the name its rows are reported under. */
export interface RunsText {
  readonly name: string;
  readonly text: string;
}

/**
 * Validates the model on runs files' text: JSON (through the spec loader's checks: binary text, control
 * characters, syntax errors on one line) holding an array of rows in the calibration format. `{ text }` is one
 * set named "runs"; `{ sets }` several, each reported under its name (and all together).
 */
export async function runValidate(
  input: { readonly text: string } | { readonly sets: readonly RunsText[] },
  _ports: object = {},
  { signal }: UseCaseOptions = {},
): Promise<Result<ValidateOutcome>> {
  throwIfAborted(signal);
  const texts = 'sets' in input ? input.sets : [{ name: 'runs', text: input.text }];
  const sets: RunSet[] = [];
  for (const { name, text } of texts) {
    const parsed = parseText(text, 'json', MAX_RUNS_CHARS);
    if (!parsed.ok)
      return texts.length > 1
        ? { ok: false, issues: parsed.issues.map((i) => ({ ...i, path: `${name}${i.path ? `: ${i.path}` : ''}` })) }
        : parsed;
    if (!Array.isArray(parsed.value)) {
      const got = parsed.value === null ? 'null' : typeof parsed.value;
      return {
        ok: false,
        issues: [
          {
            code: 'invalid_type',
            path: texts.length > 1 ? name : '',
            message: `expected a JSON array of runs, got ${got}`,
          },
        ],
      };
    }
    sets.push({ name, data: parsed.value });
  }
  const report = validateSets(sets);
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
