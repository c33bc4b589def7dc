import { significant } from '../util/number.js';

export { formatCount, significant } from '../util/number.js';

/** Bytes in decimal units (GB = 10^9 B, as HBM capacities are quoted). */
export function formatBytes(bytes: number): string {
  const units = ['B', 'KB', 'MB', 'GB', 'TB', 'PB'];
  let value = bytes;
  let unit = 0;
  while (Math.abs(value) >= 1000 && unit < units.length - 1) {
    value /= 1000;
    unit++;
  }
  return `${significant(value)} ${units[unit]}`;
}

/** FLOP counts and rates with SI prefixes: 481 GFLOP, 1.01 EFLOP/s. */
export function formatFlops(value: number, perSecond = false): string {
  const prefixes = ['', 'K', 'M', 'G', 'T', 'P', 'E', 'Z', 'Y'];
  let scaled = value;
  let prefix = 0;
  while (Math.abs(scaled) >= 1000 && prefix < prefixes.length - 1) {
    scaled /= 1000;
    prefix++;
  }
  return `${significant(scaled)} ${prefixes[prefix]}FLOP${perSecond ? '/s' : ''}`;
}

/** A duration in the largest sensible unit: 41.2 days, 3.5 h, 12 s. */
export function formatDuration(seconds: number): string {
  if (seconds >= 2 * 86400) return `${significant(seconds / 86400)} days`;
  if (seconds >= 2 * 3600) return `${significant(seconds / 3600)} h`;
  if (seconds >= 120) return `${significant(seconds / 60)} min`;
  return `${significant(seconds)} s`;
}

/** An integer with thousands separators: 16,384. */
export function formatInteger(value: number): string {
  return Math.round(value).toLocaleString('en-US');
}

export { planLayout } from '../plan/layout.js';
