/**
 * The simulation kernel: event heap, clock and seeded random streams. Pure: no Node APIs, no GPUs. Shared by
 * the digital twin (src/twin/) and the shared-cluster scheduler (src/breakpoint/).
 * @module
 */
export { EventHeap, type QueuedEvent } from './heap.js';
export { type RandomStream, ReplicaStreams } from './random.js';
export { EventBudgetError, type EventHandle, isEventBudgetError, Simulation } from './simulation.js';
