/**
 * Waiting that an abort cuts short, for sources that poll (a followed log, a scraped endpoint). Pure: timers only.
 * @module
 */

/** Resolves after `ms` milliseconds, or at once when `signal` aborts (never rejects). */
export function waitFor(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal?.aborted) return resolve();
    const timer = setTimeout(done, ms);
    function done() {
      clearTimeout(timer);
      signal?.removeEventListener('abort', done);
      resolve();
    }
    signal?.addEventListener('abort', done, { once: true });
  });
}
