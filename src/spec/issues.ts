/**
 * Problems found in a spec, as data (the Zod issues model): each names the field path, the offending value and
 * what would be valid. Formatting them for a terminal is the CLI's job.
 * @module
 */
import type { z } from 'zod';
import { closest } from '../util/edit-distance.js';
import { shorten } from '../util/text.js';

/** One problem in a spec. */
export interface SpecIssue {
  /** Stable machine code: `invalid_type`, `too_small`, `unknown_key`, `unknown_id`, `yaml_syntax`, ... */
  readonly code: string;
  /** Dotted field path from the document root (`workload.model.kvHeads`); empty for the whole document. */
  readonly path: string;
  /** What is wrong and what would be valid. */
  readonly message: string;
  /** The value found, when there is one. */
  readonly value?: unknown;
}

/** A value or the issues that prevent it. */
export type Result<T> = { readonly ok: true; readonly value: T } | { readonly ok: false; readonly issues: SpecIssue[] };

export { escapeControls, shorten } from '../util/text.js';

/** Joins a path of keys and indices as `a.b[0].c`. */
export function formatPath(path: readonly PropertyKey[]): string {
  let out = '';
  for (const key of path) {
    if (typeof key === 'number') out += `[${key}]`;
    else out += out === '' ? shorten(String(key)) : `.${shorten(String(key))}`;
  }
  return out;
}

/** Prefixes every issue's path with `prefix`. */
export function underPath(prefix: string, issues: readonly SpecIssue[]): SpecIssue[] {
  return issues.map((issue) => ({ ...issue, path: issue.path === '' ? prefix : `${prefix}.${issue.path}` }));
}

/** Converts Zod issues (parsed with `reportInput: true`) into spec issues with actionable messages. */
export function fromZodIssues(
  issues: readonly z.core.$ZodIssue[],
  knownKeys?: (path: PropertyKey[]) => string[],
): SpecIssue[] {
  const out: SpecIssue[] = [];
  for (const issue of issues) {
    const path = formatPath(issue.path);
    const input = (issue as { input?: unknown }).input;
    switch (issue.code) {
      case 'invalid_type': {
        const expected = issue.expected === 'int' ? 'an integer' : articled(issue.expected);
        const message =
          input === undefined
            ? `is required (${expected})`
            : typeof input === 'number' && !Number.isFinite(input)
              ? `expected a finite number, got ${describe(input)}`
              : `expected ${expected}, got ${describe(input)}`;
        out.push({ code: 'invalid_type', path, message, value: input });
        break;
      }
      case 'too_small': {
        const bound = issue.inclusive ? 'at least' : 'greater than';
        const what =
          issue.origin === 'string' ? `length ${bound} ${issue.minimum}` : `${bound} ${readableBound(issue.minimum)}`;
        out.push({ code: 'too_small', path, message: `must be ${what}, got ${describe(input)}`, value: input });
        break;
      }
      case 'too_big': {
        const bound = issue.inclusive ? 'at most' : 'less than';
        out.push({
          code: 'too_big',
          path,
          message: `must be ${bound} ${readableBound(issue.maximum)}, got ${describe(input)}`,
          value: input,
        });
        break;
      }
      case 'invalid_value': {
        const options = issue.values.map((v) => JSON.stringify(v)).join(', ');
        out.push({
          code: 'invalid_value',
          path,
          message: `got ${describe(input)}; valid values: ${options}`,
          value: input,
        });
        break;
      }
      case 'unrecognized_keys': {
        for (const key of issue.keys) {
          const known = knownKeys?.(issue.path) ?? [];
          const close = closest(key, known);
          const hint = close ? `; did you mean "${close}"?` : known.length ? `; valid keys: ${known.join(', ')}` : '';
          out.push({
            code: 'unknown_key',
            path: formatPath([...issue.path, key]),
            message: `unknown field${hint}`,
          });
        }
        break;
      }
      case 'invalid_union': {
        // Report the branch that got furthest: the one whose issues are deepest, else the first.
        const branches = issue.errors.filter((branch) => branch.length > 0);
        const missingOnly =
          branches.length > 1 &&
          typeof input === 'object' &&
          input !== null &&
          branches.every((branch) =>
            branch.every(
              (sub) =>
                (sub.code === 'invalid_type' || sub.code === 'invalid_union') &&
                sub.path.length === 1 &&
                (sub as { input?: unknown }).input === undefined,
            ),
          );
        if (missingOnly) {
          // A mapping that has none of the fields any form needs: name them all, not the last branch tried.
          const fields = [...new Set(branches.map((branch) => branch.map((sub) => String(sub.path[0])).join(' and ')))];
          out.push({ code: 'invalid_type', path, message: `needs ${fields.map((f) => `\`${f}\``).join(' or ')}` });
          break;
        }
        const best = branches.sort((a, b) => depth(b) - depth(a))[0];
        if (best && depth(best) > 0) {
          out.push(
            ...fromZodIssues(
              best.map((sub) => ({ ...sub, path: [...issue.path, ...sub.path] })),
              knownKeys,
            ),
          );
        } else {
          const expected = branches
            .map((branch) => (branch[0] as { expected?: string } | undefined)?.expected)
            .filter(Boolean);
          const list = expected.length
            ? `expected ${[...new Set(expected)].map((e) => articled(String(e))).join(' or ')}`
            : 'invalid value';
          out.push({ code: 'invalid_type', path, message: `${list}, got ${describe(input)}`, value: input });
        }
        break;
      }
      default: {
        const unknownId = issue.code === 'custom' && (issue.params as { unknownId?: boolean } | undefined)?.unknownId;
        const code = unknownId ? 'unknown_id' : issue.code === 'custom' ? 'invalid_value' : issue.code;
        out.push({ code, path, message: issue.message, value: input });
      }
    }
  }
  return out;
}

/** A schema bound as people read it: 16,777,216 rather than 16777216. */
function readableBound(value: number | bigint): string {
  return typeof value === 'number' && Number.isInteger(value) && Math.abs(value) >= 10_000
    ? value.toLocaleString('en-US')
    : String(value);
}

function depth(branch: readonly z.core.$ZodIssue[]): number {
  return Math.max(0, ...branch.map((issue) => issue.path.length + (issue.code === 'invalid_type' ? 0 : 0.5)));
}

function articled(word: string): string {
  return /^[aeiou]/.test(word) ? `an ${word}` : `a ${word}`;
}

/** Short description of a value for messages: `-3`, `"h100x"`, `an object`, `nothing`. */
export function describe(value: unknown): string {
  if (value === undefined) return 'nothing';
  if (value === null) return 'null';
  if (typeof value === 'string') return JSON.stringify(shorten(value));
  if (typeof value === 'number') {
    if (Number.isNaN(value)) return '.nan (not a number)';
    if (!Number.isFinite(value)) return `${value} (a number too large to represent, such as 1e400)`;
    return String(value);
  }
  if (typeof value === 'boolean') return String(value);
  if (Array.isArray(value)) return 'a list';
  return 'an object';
}
