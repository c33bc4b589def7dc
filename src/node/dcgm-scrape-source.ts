/**
 * dcgm-exporter telemetry from Node: an endpoint's `/metrics` scraped at an interval (as Prometheus would), or a
 * saved scrape file read once, each scrape parsed and normalised by the pure `telemetry/` modules. Scrape
 * failures are reported with the scrape, never thrown mid-run: an exporter that restarts must not end a follow.
 * @module
 */
import { type DcgmScrape, normaliseDcgm } from '../telemetry/dcgm.js';
import { parsePrometheusText } from '../telemetry/prometheus-text.js';
import { waitFor } from '../util/wait.js';
import { readTextFile } from './files.js';

/** One scrape: when it was taken, what it held, and its malformed lines; or why it failed. */
export type ScrapeResult =
  | {
      readonly ok: true;
      readonly source: string;
      readonly at: number;
      readonly scrape: DcgmScrape;
      readonly malformed: number;
    }
  | { readonly ok: false; readonly source: string; readonly at: number; readonly error: string };

/** Options of {@link scrapeDcgm}. */
export interface ScrapeOptions {
  /** Milliseconds between scrapes of an endpoint (default 15,000, Prometheus's usual interval). */
  readonly intervalMs?: number;
  /** Stop after this many scrapes (default: until the signal aborts). */
  readonly scrapes?: number;
  /** A scrape that takes longer fails (default 10,000 ms). */
  readonly timeoutMs?: number;
  readonly signal?: AbortSignal;
}

/** Scrapes `source` (an http(s) URL, or a file of one scrape): an endpoint repeatedly, a file once. */
export async function* scrapeDcgm(source: string, options: ScrapeOptions = {}): AsyncGenerator<ScrapeResult> {
  const parse = (text: string, at: number): ScrapeResult => {
    const exposition = parsePrometheusText(text);
    return { ok: true, source, at, scrape: normaliseDcgm(exposition), malformed: exposition.malformed.length };
  };
  if (!/^https?:\/\//i.test(source)) {
    yield parse(await readTextFile(source), Date.now());
    return;
  }
  const intervalMs = Math.max(10, options.intervalMs ?? 15_000);
  const timeoutMs = Math.max(10, options.timeoutMs ?? 10_000);
  const limit = options.scrapes ?? Number.POSITIVE_INFINITY;
  for (let count = 0; count < limit && !options.signal?.aborted; count++) {
    if (count > 0) await waitFor(intervalMs, options.signal);
    if (options.signal?.aborted) return;
    const at = Date.now();
    try {
      const signal = options.signal
        ? AbortSignal.any([options.signal, AbortSignal.timeout(timeoutMs)])
        : AbortSignal.timeout(timeoutMs);
      const response = await fetch(source, { signal, headers: { accept: 'text/plain;version=0.0.4' } });
      if (!response.ok) {
        yield { ok: false, source, at, error: `HTTP ${response.status} ${response.statusText}` };
        continue;
      }
      yield parse(await response.text(), at);
    } catch (error) {
      if (options.signal?.aborted) return;
      yield { ok: false, source, at, error: error instanceof Error ? error.message : String(error) };
    }
  }
}
