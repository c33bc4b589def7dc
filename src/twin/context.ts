/**
 * What every part of one replica shares: the clock, the settings and the end of the window, and the order of
 * events that fall at the same time. The job (job.ts), the recorders (timeline.ts, power.ts) and the processes
 * (processes/*.ts) are each given a {@link RunContext}; run.ts builds it and composes them.
 * @module
 */
import type { Simulation } from '../sim/index.js';
import type { TwinConfig } from './setup.js';

/** Priorities at equal times: failures first, then the job's own timers, then sampling processes. */
export const PRIORITY = { failure: 0, job: 1, sampler: 2 } as const;

/** The shared state of one replica's run. */
export interface RunContext {
  /** The event kernel of this replica. */
  readonly sim: Simulation;
  readonly config: TwinConfig;
  /** Seconds at which the run stops if the job has not finished: the window, or the safety limit. */
  readonly end: number;
}
