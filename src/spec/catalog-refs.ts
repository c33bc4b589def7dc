/**
 * Checks that catalog ids in a spec exist, inside schema validation, so that an unknown id is reported in the
 * same pass as every other problem, with the closest ids as suggestions.
 * @module
 */
import type { z } from 'zod';
import type { LookupResult } from '../catalog/lookup.js';
import { describe } from './issues.js';

/** Adds an `unknown_id` issue at `path` when `value` is a string the catalog does not know. */
export function checkCatalogId(
  ctx: z.RefinementCtx,
  path: PropertyKey[],
  value: unknown,
  kind: string,
  find: (name: string) => LookupResult<unknown>,
  listCommand: string,
): void {
  if (typeof value !== 'string' || value.trim() === '') return;
  const found = find(value);
  if (found.found) return;
  const hint =
    found.suggestions.length > 0 ? `; did you mean ${found.suggestions.map((s) => `"${s}"`).join(' or ')}?` : '';
  ctx.addIssue({
    code: 'custom',
    path,
    input: value,
    params: { unknownId: true },
    message: `unknown ${kind} ${describe(value)}${hint} (list: ${listCommand})`,
  });
}

/** Returns the entry of a lookup that validation has already checked. */
export function mustFind<T>(result: LookupResult<T>, what: string): T {
  if (!result.found) throw new Error(`internal: ${what} passed validation but is not in the catalog`);
  return result.entry;
}
