/**
 * The live observed run the server follows, for the console's Operate page: `GET /v1/live` answers its snapshot now
 * (src/app/demo.ts `LiveSnapshot`: KPIs against the plan's band, GPU figures, the step-time series, the per-host
 * heatmap, detections and actions, the forecast fan), and `GET /v1/live/events` streams a `snapshot` server-sent
 * event with each new one (about once a second; a slow client gets the latest, never a backlog). A server with no
 * live run (started without `--demo`) answers `status: none` with the reason, and its stream ends after that one
 * event, as a stream does once the run is gone. Not in the OpenAPI document (like `/metrics`): docs/api.md.
 * @module
 */
import type { OpenAPIHono } from '@hono/zod-openapi';
import { streamSSE } from 'hono/streaming';
import type { LiveFeed, LiveSnapshot } from '../app/demo.js';
import { HttpProblem } from './problem.js';

/** Milliseconds between keep-alive comments on an idle stream. */
const KEEP_ALIVE_MS = 15_000;

/** The snapshot of a server with no live run. */
export const NO_LIVE_RUN: LiveSnapshot = {
  status: 'none',
  reason: 'this server follows no live run: start it with `tokenworks serve --demo` to watch an emulated factory',
  sequence: 0,
};

/** Query parameters the live routes take: only the console's `token` (app.ts checks it). */
const KNOWN = ['token'];

/** A 400 problem for each query parameter the live routes do not take. */
function checkQuery(query: Record<string, string>): void {
  const unknown = Object.keys(query).filter((key) => !KNOWN.includes(key));
  if (unknown.length === 0) return;
  const issues = unknown.map((key) => ({
    code: 'unrecognized_keys',
    path: `query.${key}`,
    message: 'this route takes no parameters',
  }));
  throw new HttpProblem('QUERY_INVALID', issues.map((i) => `${i.path}: ${i.message}`).join('; '), { issues });
}

/** The JSON of each snapshot, made once however many clients follow. */
const serialised = new WeakMap<LiveSnapshot, string>();
const json = (snapshot: LiveSnapshot): string => {
  let text = serialised.get(snapshot);
  if (text === undefined) {
    text = JSON.stringify(snapshot);
    serialised.set(snapshot, text);
  }
  return text;
};

/** Adds `GET /v1/live` and `GET /v1/live/events` to `app`, answering from `feed` (none: `status: none`). */
export function registerLive(app: OpenAPIHono, feed: LiveFeed | undefined): void {
  app.get('/v1/live', (c) => {
    checkQuery(c.req.query());
    return c.body(json(feed?.snapshot() ?? NO_LIVE_RUN), 200, { 'Content-Type': 'application/json' });
  });
  app.get('/v1/live/events', (c) => {
    checkQuery(c.req.query());
    return streamSSE(c, async (stream) => {
      let pending: LiveSnapshot | undefined = feed?.snapshot() ?? NO_LIVE_RUN;
      let wake: (() => void) | undefined;
      let open = true;
      const unsubscribe =
        feed?.subscribe((snapshot) => {
          pending = snapshot;
          wake?.();
        }) ?? (() => undefined);
      stream.onAbort(() => {
        open = false;
        wake?.();
      });
      const keepAlive = setInterval(() => void stream.write(': keep-alive\n\n'), KEEP_ALIVE_MS);
      keepAlive.unref();
      try {
        while (open) {
          const next: LiveSnapshot | undefined = pending;
          if (next === undefined) {
            await new Promise<void>((resolve) => {
              wake = resolve;
            });
            wake = undefined;
            continue;
          }
          pending = undefined;
          await stream.writeSSE({ id: String(next.sequence), event: 'snapshot', data: json(next) });
          // No live run any more (or none at all): the stream has said so and ends.
          if (next.status === 'none') break;
        }
      } finally {
        unsubscribe();
        clearInterval(keepAlive);
      }
    });
  });
}
