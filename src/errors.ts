/**
 * The one error class that crosses the CLI (and later HTTP) boundary. Each has a stable code and maps to an exit
 * code in one place (`cli/main.ts`): problems with the user's input exit 2, internal faults exit 1.
 * @module
 */
import type { SpecIssue } from './spec/issues.js';

/** Stable error codes. */
export type ErrorCode =
  | 'FILE_NOT_FOUND'
  | 'FILE_UNREADABLE'
  | 'FILE_UNWRITABLE'
  | 'SPEC_INVALID'
  | 'NO_RESULT'
  | 'USAGE'
  | 'INTERNAL';

/** Exit codes of the CLI. */
export const EXIT_CODES = { ok: 0, internal: 1, userError: 2 } as const;

/** An error with a stable code, the file it concerns and, for invalid specs, one issue per problem. */
export class TokenworksError extends Error {
  readonly code: ErrorCode;
  readonly file: string | undefined;
  readonly issues: readonly SpecIssue[];

  constructor(
    code: ErrorCode,
    message: string,
    options: { file?: string; issues?: readonly SpecIssue[]; cause?: unknown } = {},
  ) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'TokenworksError';
    this.code = code;
    this.file = options.file;
    this.issues = options.issues ?? [];
  }

  /** Exit code for this error: 1 for internal faults, 2 for anything the user can fix. */
  get exitCode(): number {
    return this.code === 'INTERNAL' ? EXIT_CODES.internal : EXIT_CODES.userError;
  }
}
