/**
 * Turns a use case's issues into the one error class the CLI reports (exit 2, one line per issue).
 * @module
 */
import { TokenworksError } from '../errors.js';
import type { SpecIssue } from '../spec/issues.js';

/** A user error about `file` with one line per issue; `headline` is what `--debug` and callers see. */
export function specFailure(file: string, issues: readonly SpecIssue[], headline?: string): TokenworksError {
  const count = issues.length;
  const code = issues.every((issue) => issue.code === 'no_result' || issue.code === 'constraint')
    ? 'NO_RESULT'
    : 'SPEC_INVALID';
  return new TokenworksError(code, headline ?? `${file}: ${count} problem${count === 1 ? '' : 's'}`, {
    file,
    issues: [...issues],
  });
}
