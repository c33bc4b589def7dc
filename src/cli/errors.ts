/**
 * The single place where failures become messages and exit codes (the Hono `onError` habit): user errors print
 * one line per problem and exit 2; internal faults print a short message (the stack with --debug) and exit 1.
 * @module
 */
import { CommanderError } from '@commander-js/extra-typings';
import { EXIT_CODES, TokenworksError } from '../errors.js';
import type { Output } from '../node/output.js';
import { describe } from '../spec/issues.js';

/** Most problems printed for one error; the rest are counted ("… and N more problems"). */
export const MAX_ISSUES_SHOWN = 20;

/** Reports `error` through `output` and returns the process exit code. */
export function reportError(error: unknown, output: Output, debug: boolean): number {
  if (error instanceof CommanderError) {
    // Commander has already printed its message (usage errors) or the help/version text.
    return error.exitCode === 0 ? EXIT_CODES.ok : EXIT_CODES.userError;
  }
  if (error instanceof TokenworksError) {
    if (error.issues.length === 0) {
      output.error(`tokenworks: ${error.message}`);
    } else {
      const shown = error.issues.slice(0, MAX_ISSUES_SHOWN);
      for (const issue of shown) {
        const where = [error.file, issue.path].filter((part) => part !== undefined && part !== '').join(': ');
        const value = issue.value === undefined ? undefined : describe(issue.value);
        const echoed = value !== undefined && typeof issue.value !== 'object' && !issue.message.includes(value);
        const got = echoed ? ` (got ${value})` : '';
        output.error(`${where ? `${where}: ` : ''}${issue.message}${got}`);
      }
      const more = error.issues.length - shown.length;
      if (more > 0) output.error(`… and ${more.toLocaleString('en-US')} more problem${more === 1 ? '' : 's'}`);
    }
    if (debug && error.stack) output.error(error.stack);
    return error.exitCode;
  }
  const message = error instanceof Error ? error.message : String(error);
  output.error(`tokenworks: internal error: ${message}`);
  if (debug && error instanceof Error && error.stack) output.error(error.stack);
  else output.error('(run again with --debug for the stack trace, and report it with the spec that caused it)');
  return EXIT_CODES.internal;
}
