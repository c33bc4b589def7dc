/**
 * The simulation kernel: event heap, clock and seeded random streams. Pure: no Node APIs, no GPUs.
 * @module
 */
export { EventHeap, type QueuedEvent } from './heap.js';
export { type RandomStream, ReplicaStreams } from './random.js';
export { EventBudgetError, type EventHandle, Simulation } from './simulation.js';
