/**
 * The console's client of the Tokenworks API (docs/api.md): fetch with the server's token when it has one, the
 * problem details of a failed request, and jobs (`POST /v1/jobs/<kind>`, progress over server-sent events, the
 * result once it has succeeded). The token is given once as `?token=` in the console's URL; it is kept in
 * sessionStorage (this tab only) and taken out of the address bar. EventSource cannot send a header, so the event
 * streams get it as `?token=` (the server accepts it there and on the console's files only).
 * @module
 */
import type { z } from 'zod';
import type {
  CheckOutputSchema,
  CompareOutputSchema,
  IssueOutput,
  PlanOutputSchema,
  SimulateOutputSchema,
} from '../../src/app/outputs.js';

/** `POST /v1/check`'s answer. */
export type CheckOutput = z.infer<typeof CheckOutputSchema>;
/** `POST /v1/plan`'s answer. */
export type PlanOutput = z.infer<typeof PlanOutputSchema>;
/** `POST /v1/simulate`'s answer. */
export type SimulateOutput = z.infer<typeof SimulateOutputSchema>;
/** `POST /v1/compare`'s answer. */
export type CompareOutput = z.infer<typeof CompareOutputSchema>;
/** One issue of a spec, with its field path. */
export type Issue = z.infer<typeof IssueOutput>;

/** An RFC 9457 problem as the API answers it. */
export interface Problem {
  readonly type: string;
  readonly title: string;
  readonly status: number;
  readonly detail?: string;
  readonly code?: string;
  readonly issues?: readonly Issue[];
}

const TOKEN_KEY = 'tokenworks.token';

/** Takes `?token=` out of the address bar into sessionStorage (call once, before any request). */
export function initToken(): void {
  const url = new URL(window.location.href);
  const given = url.searchParams.get('token');
  if (given === null) return;
  sessionStorage.setItem(TOKEN_KEY, given);
  url.searchParams.delete('token');
  window.history.replaceState(null, '', url.pathname + url.search + url.hash);
}

/** The server's token, if the console was given one. */
export function token(): string | undefined {
  return sessionStorage.getItem(TOKEN_KEY) ?? undefined;
}

/** What a request answered: its body, or the problem. */
export type Answer<T> =
  | { readonly ok: true; readonly status: number; readonly body: T }
  | { readonly ok: false; readonly status: number; readonly problem: Problem };

/** A request to the API with the token; a network failure is a problem with status 0. */
export async function request<T>(path: string, init: RequestInit = {}): Promise<Answer<T>> {
  const headers = new Headers(init.headers);
  const bearer = token();
  if (bearer !== undefined) headers.set('Authorization', `Bearer ${bearer}`);
  let response: Response;
  try {
    response = await fetch(path, { ...init, headers });
  } catch (error) {
    if (error instanceof DOMException && error.name === 'AbortError') throw error;
    return { ok: false, status: 0, problem: { type: 'about:blank', title: 'The server is unreachable', status: 0 } };
  }
  const text = await response.text();
  let body: unknown;
  try {
    body = text === '' ? undefined : JSON.parse(text);
  } catch {
    body = undefined;
  }
  if (response.ok) return { ok: true, status: response.status, body: body as T };
  const problem = (body as Problem | undefined) ?? {
    type: 'about:blank',
    title: response.statusText || 'HTTP error',
    status: response.status,
  };
  return { ok: false, status: response.status, problem };
}

/** A spec posted as YAML to a use case's route. */
export function postSpec<T>(path: string, spec: string, signal?: AbortSignal): Promise<Answer<T>> {
  return request<T>(path, {
    method: 'POST',
    headers: { 'Content-Type': 'application/yaml' },
    body: spec,
    ...(signal && { signal }),
  });
}

/** An event stream of the API (with the token as `?token=`). */
export function eventSource(path: string): EventSource {
  const bearer = token();
  const url =
    bearer === undefined ? path : `${path}${path.includes('?') ? '&' : '?'}token=${encodeURIComponent(bearer)}`;
  return new EventSource(url);
}

/** A job's progress: its stage and how far it is. */
export interface JobProgress {
  readonly stage: string;
  readonly total: number;
  readonly done: number;
}

/** A job as `GET /v1/jobs/{id}` answers it. */
interface Job {
  readonly id: string;
  readonly status: 'running' | 'succeeded' | 'failed' | 'cancelled';
  readonly result?: unknown;
  readonly problem?: Problem;
}

/** What a job ended with. */
export type JobEnd<T> =
  | { readonly ok: true; readonly result: T }
  | { readonly ok: false; readonly problem: Problem; readonly cancelled?: boolean };

/**
 * Runs `kind` as a job on `spec`: posts it, follows its events (calling `onProgress`), and answers its result.
 * Aborting `signal` cancels the job (`DELETE /v1/jobs/{id}`).
 */
export async function runJob<T>(
  kind: 'plan' | 'simulate' | 'compare',
  spec: string,
  query: Record<string, string>,
  onProgress: (progress: JobProgress) => void,
  signal: AbortSignal,
): Promise<JobEnd<T>> {
  const search = new URLSearchParams(query).toString();
  const started = await postSpec<Job>(`/v1/jobs/${kind}${search ? `?${search}` : ''}`, spec);
  if (!started.ok) return { ok: false, problem: started.problem };
  const id = started.body.id;
  await new Promise<void>((resolve) => {
    const source = eventSource(`/v1/jobs/${encodeURIComponent(id)}/events`);
    const stop = () => {
      source.close();
      resolve();
    };
    signal.addEventListener('abort', () => {
      void request(`/v1/jobs/${encodeURIComponent(id)}`, { method: 'DELETE' });
      stop();
    });
    const onStage = (event: MessageEvent<string>) => {
      const data = JSON.parse(event.data) as { stage: string; total: number; done?: number };
      onProgress({ stage: data.stage, total: data.total, done: data.done ?? 0 });
    };
    source.addEventListener('stage', onStage);
    source.addEventListener('progress', onStage);
    source.addEventListener('status', (event: MessageEvent<string>) => {
      const data = JSON.parse(event.data) as { status: Job['status'] };
      if (data.status !== 'running') stop();
    });
    // The stream ends after the last status; one closed for good is read from the job itself (a dropped one
    // reconnects by itself, replaying after the last event it had).
    source.onerror = () => {
      if (source.readyState === EventSource.CLOSED) stop();
    };
  });
  if (signal.aborted) {
    return { ok: false, cancelled: true, problem: { type: 'about:blank', title: 'Cancelled', status: 0 } };
  }
  const ended = await request<Job>(`/v1/jobs/${encodeURIComponent(id)}`);
  if (!ended.ok) return { ok: false, problem: ended.problem };
  if (ended.body.status === 'succeeded') return { ok: true, result: ended.body.result as T };
  return {
    ok: false,
    cancelled: ended.body.status === 'cancelled',
    problem: ended.body.problem ?? { type: 'about:blank', title: `The job ${ended.body.status}`, status: 0 },
  };
}
