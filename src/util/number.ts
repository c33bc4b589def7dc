/**
 * Number helpers every room may use (the engines for messages, the reports for tables): significant digits and
 * SI-suffixed counts. Pure.
 * @module
 */

const SI = [
  { exponent: 15, suffix: 'P' },
  { exponent: 12, suffix: 'T' },
  { exponent: 9, suffix: 'B' },
  { exponent: 6, suffix: 'M' },
  { exponent: 3, suffix: 'K' },
] as const;

/** Three significant digits, without exponent for ordinary magnitudes: 70.6, 1.08, 0.0412. */
export function significant(value: number, digits = 3): string {
  if (value === 0 || !Number.isFinite(value)) return String(value);
  const magnitude = Math.floor(Math.log10(Math.abs(value)));
  const decimals = Math.max(0, digits - 1 - magnitude);
  return value.toFixed(Math.min(decimals, 6));
}

/** A count with an SI suffix: 70.6 B, 16.8 M, 15.6 T (B = 10^9, as model sizes are quoted). */
export function formatCount(value: number): string {
  for (const { exponent, suffix } of SI) {
    if (Math.abs(value) >= 10 ** exponent) return `${significant(value / 10 ** exponent)} ${suffix}`;
  }
  return significant(value);
}
