/**
 * Data by reference: what a task names instead of carrying (the comparison's tenant traces), and the
 * {@link DataSource} port that resolves a reference where the task runs. Pure.
 * @module
 */
import type { CompareData } from '../breakpoint/compare.js';

/**
 * Where the comparison's tenant traces come from: the figures shipped with Tokenworks, or the user's own trace
 * files in the openb pod-list and Philly run-time formats (by path: the data source reads them).
 */
export interface CompareDataRef {
  /** An openb pod list (CSV) replacing the shipped GPU-request histogram. */
  readonly pods?: string;
  /** A Philly run-time CSV replacing the shipped run-time table. */
  readonly runtimes?: string;
}

/** Resolves data by reference (a trace id or file); adapters cache what they read. */
export interface DataSource {
  compareData(ref: CompareDataRef): Promise<CompareData>;
}
