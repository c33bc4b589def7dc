/**
 * Flag parsers every command shares, each with its bound: a bad value is a usage error (exit 2) that names the
 * flag, the value and what would be valid, before any work starts.
 * @module
 */
import { availableParallelism } from 'node:os';
import { extname } from 'node:path';
import { TokenworksError } from '../errors.js';
import type { Output } from '../node/output.js';

/** Most replicas of one study: 100,000 (about six minutes for the Llama 3 405B case on two cores). */
export const MAX_REPLICAS = 100_000;

/** Most worker threads one command may ask for; above the cores available the count is cut to them. */
export const MAX_THREADS = 1024;

/** Most rows `--top` lists. */
export const MAX_TOP = 1000;

/** Parses an integer option in [min, max] or fails with a usage error naming it. */
export function integerOption(name: string, text: string, min: number, max: number): number {
  const value = Number(text);
  if (text.trim() === '' || !Number.isInteger(value) || value < min || value > max) {
    throw new TokenworksError(
      'USAGE',
      `${name} must be an integer from ${min.toLocaleString('en-US')} to ${max.toLocaleString('en-US')}, got "${text}"`,
    );
  }
  return value;
}

/** Parses `--replicas` (or `--simulate N`): 1 to {@link MAX_REPLICAS}. */
export function replicasOption(name: string, text: string): number {
  return integerOption(name, text, 1, MAX_REPLICAS);
}

/** Parses a seed: an integer in [−2^31, 2^31 − 1], the range the random streams take without aliasing. */
export function seedOption(text: string): number {
  return integerOption('--seed', text, -(2 ** 31), 2 ** 31 - 1);
}

/**
 * Parses `--threads` (default: the cores available). More threads than cores only cost memory on CPU-bound
 * work, so a larger count is cut to the cores with a warning.
 */
export function threadsOption(text: string | undefined, output: Output): number {
  const cores = availableParallelism();
  if (text === undefined) return cores;
  const threads = integerOption('--threads', text, 1, MAX_THREADS);
  if (threads > cores) {
    output.warn(`--threads ${threads} is more than the ${cores} cores available; using ${cores}`);
    return cores;
  }
  return threads;
}

/** Parses `--days`: a positive number of days, at most ten years. */
export function daysOption(text: string): number {
  const days = Number(text);
  if (text.trim() === '' || !(days > 0) || days > 3650) {
    throw new TokenworksError('USAGE', `--days must be a number of days above 0 and at most 3650, got "${text}"`);
  }
  return days;
}

/** Report formats by file extension. */
export type ReportFormat = 'html' | 'markdown';

/** Checks a `--report` path's extension and returns its format. */
export function reportFormat(report: string): ReportFormat {
  const extension = extname(report).toLowerCase();
  if (extension === '.md') return 'markdown';
  if (extension === '.html' || extension === '.htm') return 'html';
  throw new TokenworksError('USAGE', `--report must end in .html or .md, got "${report}"`);
}
