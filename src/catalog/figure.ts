/**
 * A catalog figure: a number with its unit and the place it was published.
 *
 * Every number in the catalog is a {@link Figure}, so a user can always ask where a figure comes from and the
 * CLI can print it (`tokenworks catalog accelerators --json`).
 * @module
 */

/** A value with its unit, its source and, where the sources disagree or the figure is derived, a note. */
export interface Figure {
  readonly value: number;
  readonly unit: string;
  readonly source: string;
  readonly note?: string;
}

/** Builds a frozen {@link Figure}. */
export function fig(value: number, unit: string, source: string, note?: string): Figure {
  return Object.freeze(note === undefined ? { value, unit, source } : { value, unit, source, note });
}
