/**
 * The discrete-event kernel: a clock, an event heap keyed by (time, priority, sequence) and run-until. It knows
 * nothing of GPUs; processes schedule callbacks. The same schedule always runs in the same order, so a model
 * fed by seeded streams ({@link ReplicaStreams}) gives byte-identical results.
 * @module
 */
import { EventHeap, type QueuedEvent } from './heap.js';

/** A handle to a scheduled event, for cancelling it. */
export interface EventHandle {
  readonly time: number;
  cancelled: boolean;
}

/** How an {@link EventBudgetError}'s message begins. */
const BUDGET_MESSAGE = 'event budget exceeded';

/**
 * Thrown when a run fires more events than its budget: the one bound on the work of every process together, so
 * no setting (a straggler rate of 10^4 per host-year, a checkpoint every microsecond) can make a run unbounded.
 */
export class EventBudgetError extends Error {
  constructor(readonly budget: number) {
    super(`${BUDGET_MESSAGE}: the run fired more than ${budget.toExponential(0)} events`);
    this.name = 'EventBudgetError';
  }
}

/**
 * Whether `error` is an {@link EventBudgetError}, also after a worker thread handed it back (structured clone keeps
 * the message, not the class).
 */
export function isEventBudgetError(error: unknown): error is Error {
  return error instanceof EventBudgetError || (error instanceof Error && error.message.startsWith(BUDGET_MESSAGE));
}

/** A discrete-event simulation clock and queue. Times are seconds from the start. */
export class Simulation {
  private readonly heap = new EventHeap();
  private sequence = 0;
  private stopped = false;
  private processed = 0;
  /** The current time. */
  now = 0;

  /** @param maxEvents the most events {@link run} fires before it throws an {@link EventBudgetError}. */
  constructor(private readonly maxEvents = Number.POSITIVE_INFINITY) {}

  /** Events fired so far. */
  get eventsProcessed(): number {
    return this.processed;
  }

  /** Events waiting (cancelled ones included until they surface). */
  get pending(): number {
    return this.heap.size;
  }

  /** Runs `fire` at `time` (not before now). Lower `priority` runs first among events at the same time. */
  at(time: number, fire: () => void, priority = 0): EventHandle {
    if (!(time >= this.now)) {
      throw new RangeError(`cannot schedule at ${time}: the clock is at ${this.now}`);
    }
    const event: QueuedEvent = { time, priority, sequence: this.sequence++, fire, cancelled: false };
    this.heap.push(event);
    return event;
  }

  /** Runs `fire` after `delay` seconds. */
  after(delay: number, fire: () => void, priority = 0): EventHandle {
    return this.at(this.now + delay, fire, priority);
  }

  /** Cancels a scheduled event; cancelling twice or after it fired does nothing. */
  cancel(handle: EventHandle | undefined): void {
    if (handle) handle.cancelled = true;
  }

  /** Stops {@link run} after the event being fired. */
  stop(): void {
    this.stopped = true;
  }

  /**
   * Fires events in order until the next one is later than `until` (the clock then reads `until`), the queue
   * empties, or a handler calls {@link stop} (the clock stays at that event). Returns true when stopped.
   */
  run(until: number): boolean {
    this.stopped = false;
    const heap = this.heap;
    for (;;) {
      const next = heap.peek();
      if (next === undefined || next.time > until) break;
      heap.pop();
      if (next.cancelled) continue;
      this.now = next.time;
      next.cancelled = true;
      if (++this.processed > this.maxEvents) throw new EventBudgetError(this.maxEvents);
      next.fire();
      if (this.stopped) return true;
    }
    if (until > this.now && Number.isFinite(until)) this.now = until;
    return false;
  }
}
