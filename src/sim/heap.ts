/**
 * The event queue of the simulation kernel: a binary min-heap keyed by (time, priority, sequence). Equal times
 * are broken by priority (lower first), then by insertion order, so a run never depends on heap internals.
 * @module
 */

/** One scheduled event. `cancelled` events stay in the heap and are skipped when they reach the top. */
export interface QueuedEvent {
  readonly time: number;
  readonly priority: number;
  readonly sequence: number;
  readonly fire: () => void;
  cancelled: boolean;
}

function before(a: QueuedEvent, b: QueuedEvent): boolean {
  if (a.time !== b.time) return a.time < b.time;
  if (a.priority !== b.priority) return a.priority < b.priority;
  return a.sequence < b.sequence;
}

/** A binary min-heap of events. */
export class EventHeap {
  private readonly items: QueuedEvent[] = [];

  get size(): number {
    return this.items.length;
  }

  /** The earliest event, without removing it. */
  peek(): QueuedEvent | undefined {
    return this.items[0];
  }

  push(event: QueuedEvent): void {
    const items = this.items;
    let index = items.length;
    items.push(event);
    while (index > 0) {
      const parent = (index - 1) >> 1;
      const above = items[parent] as QueuedEvent;
      if (!before(event, above)) break;
      items[index] = above;
      index = parent;
    }
    items[index] = event;
  }

  /** Removes and returns the earliest event. */
  pop(): QueuedEvent | undefined {
    const items = this.items;
    const top = items[0];
    const last = items.pop();
    if (top === undefined || last === undefined || items.length === 0) return top;
    const length = items.length;
    let index = 0;
    for (;;) {
      const left = 2 * index + 1;
      if (left >= length) break;
      const right = left + 1;
      let child = left;
      if (right < length && before(items[right] as QueuedEvent, items[left] as QueuedEvent)) child = right;
      const below = items[child] as QueuedEvent;
      if (!before(below, last)) break;
      items[index] = below;
      index = child;
    }
    items[index] = last;
    return top;
  }
}
