/**
 * Finding catalog entries by id or alias, with "did you mean" suggestions for near misses.
 * @module
 */

/** Anything the catalog can look up: an id and other accepted names. */
export interface Named {
  readonly id: string;
  readonly aliases?: readonly string[];
}

/** Result of a catalog lookup: the entry, or the closest ids to suggest. */
export type LookupResult<T> =
  | { readonly found: true; readonly entry: T }
  | { readonly found: false; readonly suggestions: string[] };

import { editDistance, suggestionLimit } from '../util/edit-distance.js';

const normalize = (name: string): string =>
  name
    .trim()
    .toLowerCase()
    .replace(/[\s_]+/g, '-');

/** Looks up `name` among `entries` by id or alias, case- and separator-insensitively. */
export function lookup<T extends Named>(entries: readonly T[], name: string): LookupResult<T> {
  const wanted = normalize(name);
  for (const entry of entries) {
    if (normalize(entry.id) === wanted || entry.aliases?.some((alias) => normalize(alias) === wanted)) {
      return { found: true, entry };
    }
  }
  return { found: false, suggestions: suggest(wanted, entries) };
}

/** Ids whose id or alias is within a small edit distance of `name`, closest first (at most three). */
export function suggest(name: string, entries: readonly Named[]): string[] {
  const wanted = normalize(name);
  const scored: { id: string; distance: number; extra: number }[] = [];
  for (const entry of entries) {
    const names = [entry.id, ...(entry.aliases ?? [])].map(normalize);
    const distance = Math.min(
      ...names.map((candidate) =>
        candidate.includes(wanted) || wanted.includes(candidate) ? 1 : editDistance(wanted, candidate),
      ),
    );
    // Among equally close entries, the one whose name adds least to what was typed ("h10": h100 before h100-nvl).
    const extra = Math.min(...names.map((candidate) => Math.abs(candidate.length - wanted.length)));
    if (distance <= suggestionLimit(wanted)) scored.push({ id: entry.id, distance, extra });
  }
  scored.sort((a, b) => a.distance - b.distance || a.extra - b.extra || a.id.localeCompare(b.id));
  return scored.slice(0, 3).map((s) => s.id);
}
