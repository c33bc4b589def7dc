/**
 * 50 server-sent-event clients on one job (issue 15's acceptance), on a real socket: plain `fetch` streaming
 * readers, as an EventSource would read. A job whose progress the test drives (a stage of 500 ticks, emitted only
 * once every client has its first event, so that all follow it live) reaches every client whole and in order: each
 * client's events equal the sequence the job's work emitted. Then a real simulate job with 50 clients subscribed
 * as it starts: each client gets the job's whole log, which ends with its final status and its last progress
 * equal to what `GET /v1/jobs/{id}` says.
 */
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type RunningServer, startServer } from '../src/http/server.js';

const CLIENTS = 50;
const TICKS = 500;

let server: RunningServer;

beforeAll(async () => {
  server = await startServer({ port: 0, threads: 1 });
});
afterAll(async () => {
  await server?.close();
});

/** One event as a client parsed it. */
interface Received {
  readonly id: number;
  readonly event: string;
  readonly data: Record<string, unknown>;
}

/**
 * Follows a job's event stream to its end: every event parsed from the text/event-stream (comments skipped);
 * `onFirst` is called once the first event has arrived.
 */
async function follow(id: string, onFirst: () => void): Promise<Received[]> {
  const response = await fetch(new URL(`/v1/jobs/${id}/events`, server.url), {
    headers: { accept: 'text/event-stream' },
  });
  expect(response.status).toBe(200);
  expect(response.headers.get('content-type')).toMatch(/^text\/event-stream/);
  const reader = (response.body as ReadableStream<Uint8Array>).pipeThrough(new TextDecoderStream()).getReader();
  const events: Received[] = [];
  let buffer = '';
  for (;;) {
    const { value, done } = await reader.read();
    if (done) break;
    buffer += value;
    let end = buffer.indexOf('\n\n');
    while (end >= 0) {
      const block = buffer.slice(0, end);
      buffer = buffer.slice(end + 2);
      end = buffer.indexOf('\n\n');
      const fields = new Map<string, string>();
      for (const line of block.split('\n')) {
        if (line.startsWith(':')) continue;
        const colon = line.indexOf(':');
        fields.set(line.slice(0, colon), line.slice(colon + 1).replace(/^ /, ''));
      }
      if (!fields.has('data')) continue;
      events.push({
        id: Number(fields.get('id')),
        event: fields.get('event') ?? 'message',
        data: JSON.parse(fields.get('data') as string),
      });
      if (events.length === 1) onFirst();
    }
  }
  return events;
}

describe('50 SSE clients on one job', () => {
  it('each receives every event of a job it follows live, in order', async () => {
    let connected = 0;
    let allConnected: () => void = () => undefined;
    const ready = new Promise<void>((resolve) => {
      allConnected = resolve;
    });
    const first = () => {
      connected += 1;
      if (connected === CLIENTS) allConnected();
    };
    // The sequence the work emits, built beside it: the independent expectation.
    const expected: Omit<Received, 'id'>[] = [{ event: 'status', data: { status: 'running' } }];
    const job = server.api.jobs.start('simulate', async (_signal, progress) => {
      await ready;
      progress.start('replicas', TICKS);
      expected.push({ event: 'stage', data: { stage: 'replicas', total: TICKS } });
      for (let done = 1; done <= TICKS; done++) {
        progress.tick();
        expected.push({ event: 'progress', data: { stage: 'replicas', total: TICKS, done } });
        // Let the streams write between ticks now and then, as a real job's tasks do.
        if (done % 10 === 0) await new Promise((resolve) => setImmediate(resolve));
      }
      return { ok: true };
    });
    const clients = Array.from({ length: CLIENTS }, () => follow(job.id, first));
    const received = await Promise.all(clients);
    expected.push({ event: 'status', data: { status: 'succeeded' } });
    expect(expected).toHaveLength(TICKS + 3);
    const numbered = expected.map((e, i) => ({ id: i + 1, ...e }));
    for (const [client, events] of received.entries()) expect(events, `client ${client}`).toEqual(numbered);
  }, 60_000);

  it('each receives the whole log of a simulate job subscribed as it starts, ending as the job says', async () => {
    const started = await fetch(new URL('/v1/jobs/simulate?replicas=64&seed=3', server.url), {
      method: 'POST',
      headers: { 'content-type': 'application/yaml' },
      body: readFileSync('examples/llama3-8b.yaml', 'utf8'),
    });
    expect(started.status).toBe(202);
    const { id } = (await started.json()) as { id: string };
    const received = await Promise.all(Array.from({ length: CLIENTS }, () => follow(id, () => undefined)));
    const job = (await (await fetch(new URL(`/v1/jobs/${id}`, server.url))).json()) as {
      status: string;
      progress: { stage: string; total: number; done: number };
    };
    expect(job.status).toBe('succeeded');
    const [reference] = received as [Received[]];
    expect(reference.map((e) => e.id)).toEqual(reference.map((_, i) => i + 1));
    expect(reference.at(-1)).toMatchObject({ event: 'status', data: { status: 'succeeded' } });
    const lastProgress = reference.filter((e) => e.event === 'progress').at(-1);
    expect(lastProgress?.data).toEqual(job.progress);
    for (const [client, events] of received.entries()) expect(events, `client ${client}`).toEqual(reference);
  }, 120_000);
});
