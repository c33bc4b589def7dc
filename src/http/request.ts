/**
 * What every use-case route hands its use case (src/http/use-cases.ts, src/http/observe.ts): the request's body and
 * query, and the runner, progress and signal of the run. Types only, in a module of their own so neither route
 * module imports the other.
 * @module
 */
import type { Progress, TaskRunner } from '../app/ports.js';
import type { SpecFormat } from '../spec/load.js';

/** How a use case runs: the runner, its progress and the request's signal. */
export interface RunContext {
  readonly runner: TaskRunner;
  readonly progress?: Progress;
  readonly signal: AbortSignal;
}

/** A request to one use case: the body's text and format, and the query as the URL gave it. */
export interface UseCaseRequest {
  readonly body: string;
  readonly format: SpecFormat;
  readonly query: Record<string, string>;
}
