/**
 * Actuators: the port that delivers the operate side's actions and detections (src/detect/types.ts) to the tools
 * that act on them, and two adapters over Node's global `fetch`:
 * - {@link createWebhookActuator}: one JSON body per action (with its detections) POSTed to a URL, and one per
 *   detection that no action covers, for a runbook service, a chat bridge or a scheduler hook;
 * - {@link createAlertmanagerActuator}: Alertmanager's `POST /api/v2/alerts` (an array of postable alerts: `labels`
 *   with `alertname`, `severity`, `host`…, `annotations` with `summary` and `description`, `startsAt`, `endsAt`,
 *   `generatorURL`; alertmanager api/v2/openapi.yaml `postableAlert`), one alert per detection.
 *
 * Each request has a timeout and bounded retries with exponential backoff (network errors, timeouts, 408, 429 and
 * 5xx are retried; other 4xx are not: the body is wrong and would stay wrong). Failures are reported in the
 * {@link DeliveryReport}, not thrown, unless `throwOnFailure` asks for it.
 *
 * The port would sit with the others in app/ports.ts; it is here, beside its adapters, until the detect use case
 * that calls it exists.
 * @module
 */
import type { Action, Detection } from '../detect/types.js';
import { TokenworksError } from '../errors.js';
import { waitFor } from '../util/wait.js';

/** What became of one request. */
export interface DeliveryFailure {
  /** Which body: its index among the bodies this call sent. */
  readonly index: number;
  /** The action or detection kind the body carried (`alerts` for Alertmanager's one array). */
  readonly what: string;
  readonly attempts: number;
  /** The last HTTP status, when a response came. */
  readonly status?: number;
  readonly error: string;
}

/** What one {@link Actuator.deliver} call did. */
export interface DeliveryReport {
  readonly actuator: string;
  /** Bodies sent (webhook) or alerts posted (Alertmanager) and accepted. */
  readonly delivered: number;
  /** Bodies or alerts that could not be delivered. */
  readonly failed: number;
  /** HTTP requests made, retries included. */
  readonly requests: number;
  readonly failures: readonly DeliveryFailure[];
}

/** The port: delivers actions, and detections that no action covers, to where they are acted on. */
export interface Actuator {
  /** What it delivers to, for messages (e.g. `webhook http://…`). */
  readonly name: string;
  deliver(
    actions: readonly Action[],
    detections?: readonly Detection[],
    options?: { readonly signal?: AbortSignal },
  ): Promise<DeliveryReport>;
}

/** How the HTTP adapters send. */
export interface HttpActuatorOptions {
  readonly url: string;
  /** Per request, ms (default 5,000). */
  readonly timeoutMs?: number;
  /** Retries after the first attempt (default 3; at most 10). */
  readonly retries?: number;
  /** First backoff, ms, doubled at each retry (default 250; capped at 10 s). */
  readonly backoffMs?: number;
  /** Extra request headers (e.g. `authorization`). */
  readonly headers?: Readonly<Record<string, string>>;
  /** Throw a `TokenworksError` (NO_RESULT) naming the first failure when anything failed, after trying all. */
  readonly throwOnFailure?: boolean;
}

/** Most retries a caller may ask for. */
export const MAX_RETRIES = 10;
const MAX_BACKOFF_MS = 10_000;

const retryable = (status: number) => status === 408 || status === 429 || status >= 500;

interface Attempted {
  readonly ok: boolean;
  readonly attempts: number;
  readonly status?: number;
  readonly error?: string;
}

/** POSTs `body` as JSON with a timeout, retrying what may succeed later; never throws except on abort. */
async function postJson(body: unknown, options: HttpActuatorOptions, signal?: AbortSignal): Promise<Attempted> {
  const retries = Math.min(MAX_RETRIES, Math.max(0, Math.floor(options.retries ?? 3)));
  const timeoutMs = options.timeoutMs ?? 5_000;
  const text = JSON.stringify(body);
  let status: number | undefined;
  let error = '';
  for (let attempt = 1; attempt <= retries + 1; attempt++) {
    signal?.throwIfAborted();
    try {
      const timeout = AbortSignal.timeout(timeoutMs);
      const response = await fetch(options.url, {
        method: 'POST',
        headers: { 'content-type': 'application/json', ...options.headers },
        body: text,
        signal: signal ? AbortSignal.any([signal, timeout]) : timeout,
      });
      status = response.status;
      // Read the body so the connection is released; keep a little of it for the report.
      const answer = await response.text().catch(() => '');
      if (response.ok) return { ok: true, attempts: attempt, status };
      error = `HTTP ${status}${answer === '' ? '' : `: ${answer.slice(0, 200)}`}`;
      if (!retryable(status)) return { ok: false, attempts: attempt, status, error };
    } catch (caught) {
      if (signal?.aborted) throw caught;
      status = undefined;
      const e = caught as Error;
      error = e.name === 'TimeoutError' ? `no answer within ${timeoutMs} ms` : `${e.message}${causeOf(e)}`;
    }
    if (attempt <= retries) {
      await waitFor(Math.min(MAX_BACKOFF_MS, (options.backoffMs ?? 250) * 2 ** (attempt - 1)), signal);
    }
  }
  return { ok: false, attempts: retries + 1, ...(status !== undefined && { status }), error };
}

/** fetch's `TypeError: fetch failed` keeps the reason (ECONNREFUSED…) in its cause. */
const causeOf = (e: Error) => {
  const cause = (e as { cause?: { code?: string; message?: string } }).cause;
  return cause ? ` (${cause.code ?? cause.message ?? String(cause)})` : '';
};

/** A stable identity of a detection, to tell which ones actions already carry. */
const identity = (d: Detection) =>
  JSON.stringify([d.kind, d.time, d.step, d.host, d.rank, d.gpu, d.score, d.threshold, d.evidence]);

/** The detections no action carries, in their order, each once. */
function uncovered(actions: readonly Action[], detections: readonly Detection[] = []): Detection[] {
  const seen = new Set(actions.flatMap((a) => a.detections.map(identity)));
  return detections.filter((d) => {
    const id = identity(d);
    if (seen.has(id)) return false;
    seen.add(id);
    return true;
  });
}

function finish(name: string, options: HttpActuatorOptions, report: Omit<DeliveryReport, 'actuator'>) {
  const out: DeliveryReport = { actuator: name, ...report };
  if (options.throwOnFailure && out.failed > 0) {
    const first = out.failures[0];
    throw new TokenworksError(
      'NO_RESULT',
      `${name}: ${out.failed} of ${out.delivered + out.failed} not delivered (first: ${first?.what}: ${first?.error})`,
    );
  }
  return out;
}

/** The body the webhook receives for one action. */
export interface WebhookActionBody {
  readonly type: 'action';
  readonly action: Omit<Action, 'detections'>;
  readonly detections: readonly Detection[];
}

/** The body the webhook receives for a detection that no action covers. */
export interface WebhookDetectionBody {
  readonly type: 'detection';
  readonly detection: Detection;
}

/**
 * A JSON webhook: each action is POSTed as one {@link WebhookActionBody}, in order, then each detection that no
 * action carries as one {@link WebhookDetectionBody}.
 */
export function createWebhookActuator(options: HttpActuatorOptions): Actuator {
  const name = `webhook ${options.url}`;
  return {
    name,
    async deliver(actions, detections, { signal } = {}) {
      const bodies: (WebhookActionBody | WebhookDetectionBody)[] = [
        ...actions.map(({ detections: carried, ...action }) => ({
          type: 'action' as const,
          action,
          detections: carried,
        })),
        ...uncovered(actions, detections).map((detection) => ({ type: 'detection' as const, detection })),
      ];
      let delivered = 0;
      let requests = 0;
      const failures: DeliveryFailure[] = [];
      for (const [index, body] of bodies.entries()) {
        const result = await postJson(body, options, signal);
        requests += result.attempts;
        if (result.ok) delivered++;
        else {
          const what = body.type === 'action' ? body.action.kind : body.detection.kind;
          failures.push({
            index,
            what,
            attempts: result.attempts,
            ...(result.status !== undefined && { status: result.status }),
            error: result.error ?? '',
          });
        }
      }
      return finish(name, options, { delivered, failed: failures.length, requests, failures });
    },
  };
}

/** One alert of Alertmanager's `POST /api/v2/alerts` (openapi.yaml `postableAlert`). */
export interface PostableAlert {
  readonly labels: Readonly<Record<string, string>>;
  readonly annotations?: Readonly<Record<string, string>>;
  /** RFC 3339. */
  readonly startsAt?: string;
  readonly endsAt?: string;
  readonly generatorURL?: string;
}

/** Options of the Alertmanager adapter. */
export interface AlertmanagerOptions extends HttpActuatorOptions {
  /** Labels every alert carries (e.g. `{ cluster: "a", job: "llama" }`); the detection's own win. */
  readonly labels?: Readonly<Record<string, string>>;
  /**
   * Unix seconds added to detection times that are run seconds (emulated runs); without it, a time below 10^9 (before
   * 2001) is taken for run seconds and the alert gets no `startsAt` (Alertmanager then uses the time it arrives).
   */
  readonly timeOrigin?: number;
  /** How long an alert stays active without being posted again, s; default Alertmanager's `resolve_timeout`. */
  readonly activeSeconds?: number;
  /** A link back to where the detection can be seen (a report, a dashboard). */
  readonly generatorURL?: string;
}

/** `straggler` → `TokenworksStraggler`, `failure-risk` → `TokenworksFailureRisk`. */
const alertName = (kind: string) =>
  `Tokenworks${kind
    .split('-')
    .map((w) => w.charAt(0).toUpperCase() + w.slice(1))
    .join('')}`;

/** Unix seconds below this are run seconds (before 2001-09-09), not wall-clock times. */
const UNIX_FLOOR = 1e9;

/** The postable alerts of the actions and the uncovered detections: one per detection. */
export function alertsOf(
  actions: readonly Action[],
  detections: readonly Detection[] = [],
  options: Omit<AlertmanagerOptions, keyof HttpActuatorOptions> = {},
): PostableAlert[] {
  const at = (seconds: number) => {
    const unix = options.timeOrigin !== undefined ? options.timeOrigin + seconds : seconds;
    return options.timeOrigin === undefined && unix < UNIX_FLOOR ? undefined : unix;
  };
  const one = (d: Detection, action?: Action): PostableAlert => {
    const start = at(d.time);
    const proposed = action
      ? ` Proposed: ${action.kind}${action.host ? ` ${action.host}` : ''}: ${action.reason}${
          action.expectedGain
            ? ` (ETTR ${action.expectedGain.ettrWithout.toFixed(3)} → ${action.expectedGain.ettrWith.toFixed(3)}, ${action.expectedGain.basis})`
            : ''
        }`
      : '';
    return {
      labels: {
        ...options.labels,
        alertname: alertName(d.kind),
        severity: d.severity,
        kind: d.kind,
        ...(d.host !== undefined && { host: d.host }),
        ...(d.gpu !== undefined && { gpu: d.gpu }),
        ...(d.rank !== undefined && { rank: String(d.rank) }),
        ...(action && { action: action.kind }),
      },
      annotations: {
        summary: d.evidence,
        description: `${d.kind} score ${d.score} against a threshold of ${d.threshold}${d.step === undefined ? '' : ` at step ${d.step}`}.${proposed}`,
        score: String(d.score),
        threshold: String(d.threshold),
      },
      ...(start !== undefined && { startsAt: new Date(start * 1000).toISOString() }),
      ...(start !== undefined &&
        options.activeSeconds !== undefined && {
          endsAt: new Date((start + options.activeSeconds) * 1000).toISOString(),
        }),
      ...(options.generatorURL !== undefined && { generatorURL: options.generatorURL }),
    };
  };
  return [
    ...actions.flatMap((action) => action.detections.map((d) => one(d, action))),
    ...uncovered(actions, detections).map((d) => one(d)),
  ];
}

/**
 * An Alertmanager client: the alerts of the actions and detections (one per detection, {@link alertsOf}) in one
 * `POST <url>/api/v2/alerts`. `url` is Alertmanager's base URL (`http://alertmanager:9093`).
 */
export function createAlertmanagerActuator(options: AlertmanagerOptions): Actuator {
  const endpoint = `${options.url.replace(/\/+$/, '')}/api/v2/alerts`;
  const name = `alertmanager ${options.url}`;
  return {
    name,
    async deliver(actions, detections, { signal } = {}) {
      const alerts = alertsOf(actions, detections, options);
      if (alerts.length === 0) return finish(name, options, { delivered: 0, failed: 0, requests: 0, failures: [] });
      const result = await postJson(alerts, { ...options, url: endpoint }, signal);
      return finish(
        name,
        options,
        result.ok
          ? { delivered: alerts.length, failed: 0, requests: result.attempts, failures: [] }
          : {
              delivered: 0,
              failed: alerts.length,
              requests: result.attempts,
              failures: [
                {
                  index: 0,
                  what: 'alerts',
                  attempts: result.attempts,
                  ...(result.status !== undefined && { status: result.status }),
                  error: result.error ?? '',
                },
              ],
            },
      );
    },
  };
}
