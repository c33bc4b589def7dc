/**
 * The actuators against real HTTP servers on 127.0.0.1: a Node receiver that records every request gets one JSON
 * body per action (one action per detection here), with the right fields, content type and order; retries,
 * timeouts and refusals are reported, not thrown; and Debian's real Alertmanager (`prometheus-alertmanager`,
 * installed with apt-get when missing and root, as test/support/prometheus.ts does for Prometheus) accepts the
 * `POST /api/v2/alerts` body and lists the alerts with their labels and annotations.
 */
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Action, Detection } from '../src/detect/types.js';
import { TokenworksError } from '../src/errors.js';
import { alertsOf, createAlertmanagerActuator, createWebhookActuator } from '../src/node/actuators.js';
import { freePort } from './support/prometheus.js';

interface Received {
  readonly method: string;
  readonly path: string;
  readonly contentType: string;
  readonly body: string;
}

/** A receiver: answers each request with `answer(n)` (n from 0), or holds it when that is 'hang'. */
async function startReceiver(answer: (n: number) => number | 'hang' = () => 200) {
  const received: Received[] = [];
  let n = 0;
  const server: Server = createServer((request: IncomingMessage, response: ServerResponse) => {
    let body = '';
    request.on('data', (chunk) => {
      body += String(chunk);
    });
    request.on('end', () => {
      received.push({
        method: request.method ?? '',
        path: request.url ?? '',
        contentType: request.headers['content-type'] ?? '',
        body,
      });
      const status = answer(n++);
      if (status !== 'hang') response.writeHead(status, { 'content-type': 'text/plain' }).end(`status ${status}`);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/hook`,
    received,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

const detection = (i: number): Detection => ({
  kind: i % 2 === 0 ? 'straggler' : 'failure-risk',
  time: 1_767_225_600 + 60 * i,
  host: `node-${i}`,
  ...(i % 2 === 0 ? { gpu: `node-${i}/3`, step: 1000 + i } : {}),
  score: i % 2 === 0 ? 0.6 : 3,
  threshold: i % 2 === 0 ? 0.75 : 2,
  severity: i % 2 === 0 ? 'warning' : 'critical',
  evidence: `detection ${i}: seen on node-${i}`,
  signals: { referenceMHz: 1980, observedMHz: 1188 },
});

const actionFor = (d: Detection): Action => ({
  kind: d.kind === 'straggler' ? 'drain-host' : 'checkpoint-now',
  ...(d.host !== undefined && { host: d.host }),
  reason: `because ${d.evidence}`,
  detections: [d],
  expectedGain: { ettrWithout: 0.91, ettrWith: 0.93, basis: 'twin, 20 replicas' },
  time: d.time + 1,
});

const FAST = { timeoutMs: 2_000, retries: 2, backoffMs: 10 };

describe('webhook actuator', () => {
  it('posts exactly one JSON body per action, in order, with the action and its detection', async () => {
    const receiver = await startReceiver();
    try {
      const detections = Array.from({ length: 7 }, (_, i) => detection(i));
      const actions = detections.map(actionFor);
      const report = await createWebhookActuator({ url: receiver.url, ...FAST }).deliver(actions, detections);
      expect(report).toEqual({
        actuator: `webhook ${receiver.url}`,
        delivered: 7,
        failed: 0,
        requests: 7,
        failures: [],
      });
      expect(receiver.received).toHaveLength(7);
      receiver.received.forEach((request, i) => {
        expect(request.method).toBe('POST');
        expect(request.path).toBe('/hook');
        expect(request.contentType).toBe('application/json');
        const body = JSON.parse(request.body);
        expect(body.type).toBe('action');
        expect(body.action).toEqual({
          kind: i % 2 === 0 ? 'drain-host' : 'checkpoint-now',
          host: `node-${i}`,
          reason: `because detection ${i}: seen on node-${i}`,
          expectedGain: { ettrWithout: 0.91, ettrWith: 0.93, basis: 'twin, 20 replicas' },
          time: 1_767_225_600 + 60 * i + 1,
        });
        expect(body.detections).toEqual([detection(i)]);
      });
    } finally {
      await receiver.close();
    }
  });

  it('posts a detection that no action carries once, and no covered one twice', async () => {
    const receiver = await startReceiver();
    try {
      const covered = detection(0);
      const extra = detection(1);
      const report = await createWebhookActuator({ url: receiver.url, ...FAST }).deliver(
        [actionFor(covered)],
        [covered, extra, extra],
      );
      expect(report.delivered).toBe(2);
      expect(receiver.received.map((r) => JSON.parse(r.body).type)).toEqual(['action', 'detection']);
      expect(JSON.parse(receiver.received[1]?.body ?? '{}').detection).toEqual(extra);
    } finally {
      await receiver.close();
    }
  });

  it('retries 503s with backoff until one succeeds, and reports what the retries could not save', async () => {
    const receiver = await startReceiver((n) => (n < 2 ? 503 : 200));
    try {
      const saved = await createWebhookActuator({ url: receiver.url, ...FAST }).deliver([actionFor(detection(0))]);
      expect(saved).toMatchObject({ delivered: 1, failed: 0, requests: 3 });
      expect(receiver.received).toHaveLength(3);
    } finally {
      await receiver.close();
    }
    const down = await startReceiver(() => 503);
    try {
      const report = await createWebhookActuator({ url: down.url, ...FAST, retries: 1 }).deliver([
        actionFor(detection(0)),
        actionFor(detection(1)),
      ]);
      expect(report).toMatchObject({ delivered: 0, failed: 2, requests: 4 });
      expect(report.failures[1]).toEqual({
        index: 1,
        what: 'checkpoint-now',
        attempts: 2,
        status: 503,
        error: 'HTTP 503: status 503',
      });
    } finally {
      await down.close();
    }
  });

  it('does not retry a 400 (the body would stay wrong)', async () => {
    const receiver = await startReceiver(() => 400);
    try {
      const report = await createWebhookActuator({ url: receiver.url, ...FAST }).deliver([actionFor(detection(0))]);
      expect(report).toMatchObject({ delivered: 0, failed: 1, requests: 1 });
      expect(report.failures[0]?.status).toBe(400);
    } finally {
      await receiver.close();
    }
  });

  it('gives up on a receiver that never answers after the timeout, and on a refused connection', async () => {
    const receiver = await startReceiver(() => 'hang');
    try {
      const started = Date.now();
      const report = await createWebhookActuator({
        url: receiver.url,
        timeoutMs: 200,
        retries: 1,
        backoffMs: 10,
      }).deliver([actionFor(detection(0))]);
      const elapsed = Date.now() - started;
      expect(report.failures[0]).toMatchObject({ attempts: 2, error: 'no answer within 200 ms' });
      expect(elapsed).toBeGreaterThanOrEqual(400);
      expect(elapsed).toBeLessThan(5_000);
    } finally {
      await receiver.close();
    }
    const port = await freePort();
    const refused = await createWebhookActuator({ url: `http://127.0.0.1:${port}/`, ...FAST, retries: 0 }).deliver([
      actionFor(detection(0)),
    ]);
    expect(refused.failures[0]?.error).toContain('ECONNREFUSED');
  });

  it('throws a TokenworksError naming the failure only when asked', async () => {
    const port = await freePort();
    const actuator = createWebhookActuator({ url: `http://127.0.0.1:${port}/`, retries: 0, throwOnFailure: true });
    const error = await actuator.deliver([actionFor(detection(0))]).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(TokenworksError);
    expect((error as Error).message).toMatch(/1 of 1 not delivered \(first: drain-host: .*ECONNREFUSED/);
  });
});

describe('Alertmanager alerts', () => {
  it('are one postable alert per detection, in the api/v2 shape', () => {
    const detections = [detection(0), detection(1)];
    const alerts = alertsOf([actionFor(detections[0] as Detection)], detections, {
      labels: { cluster: 'a' },
      activeSeconds: 600,
      generatorURL: 'http://tokenworks/report.html',
    });
    expect(alerts).toHaveLength(2);
    expect(alerts[0]).toEqual({
      labels: {
        cluster: 'a',
        alertname: 'TokenworksStraggler',
        severity: 'warning',
        kind: 'straggler',
        host: 'node-0',
        gpu: 'node-0/3',
        action: 'drain-host',
      },
      annotations: {
        summary: 'detection 0: seen on node-0',
        description:
          'straggler score 0.6 against a threshold of 0.75 at step 1000. Proposed: drain-host node-0: because detection 0: seen on node-0 (ETTR 0.910 → 0.930, twin, 20 replicas)',
        score: '0.6',
        threshold: '0.75',
      },
      startsAt: '2026-01-01T00:00:00.000Z',
      endsAt: '2026-01-01T00:10:00.000Z',
      generatorURL: 'http://tokenworks/report.html',
    });
    expect(alerts[1]?.labels).toMatchObject({
      alertname: 'TokenworksFailureRisk',
      severity: 'critical',
      host: 'node-1',
    });
    expect(alerts[1]?.labels).not.toHaveProperty('action');
    for (const alert of alerts) {
      for (const [key, value] of Object.entries(alert.labels)) {
        expect(key).toMatch(/^[a-zA-Z_][a-zA-Z0-9_]*$/);
        expect(typeof value).toBe('string');
      }
    }
  });

  it('run seconds get no startsAt unless an origin is given', () => {
    const d = { ...detection(0), time: 3600 };
    expect(alertsOf([], [d])[0]).not.toHaveProperty('startsAt');
    expect(alertsOf([], [d], { timeOrigin: 1_767_225_600 })[0]?.startsAt).toBe('2026-01-01T01:00:00.000Z');
  });
});

const ALERTMANAGER_PATH = '/usr/bin/prometheus-alertmanager';

/** Why the real Alertmanager cannot run here, or undefined. */
function alertmanagerUnavailable(): string | undefined {
  if (existsSync(ALERTMANAGER_PATH)) return undefined;
  if (process.getuid?.() === 0) return undefined;
  return `${ALERTMANAGER_PATH} is missing and this is not root: install it with "sudo apt-get install -y prometheus-alertmanager"`;
}

const unavailable = alertmanagerUnavailable();
if (unavailable !== undefined) console.warn(`skipping the Alertmanager test: ${unavailable}`);

describe.skipIf(unavailable !== undefined)('a real Alertmanager', () => {
  let child: ChildProcess | undefined;
  let root = '';
  let url = '';

  beforeAll(async () => {
    if (!existsSync(ALERTMANAGER_PATH)) {
      const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
      execFileSync('apt-get', ['update'], { stdio: 'inherit', env });
      execFileSync('apt-get', ['install', '-y', '--no-install-recommends', 'prometheus-alertmanager'], {
        stdio: 'inherit',
        env,
      });
    }
    root = await mkdtemp(join(tmpdir(), 'tokenworks-alertmanager-'));
    const config = join(root, 'alertmanager.yml');
    await writeFile(config, "route:\n  receiver: 'null'\nreceivers:\n  - name: 'null'\n");
    const port = await freePort();
    url = `http://127.0.0.1:${port}`;
    child = spawn(
      ALERTMANAGER_PATH,
      [
        `--config.file=${config}`,
        `--storage.path=${join(root, 'data')}`,
        `--web.listen-address=127.0.0.1:${port}`,
        // No gossip cluster: one instance, nothing listening beyond the loopback port.
        '--cluster.listen-address=',
        '--log.level=warn',
      ],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    let log = '';
    child.stderr?.on('data', (chunk) => {
      log += String(chunk);
    });
    const deadline = Date.now() + 20_000;
    for (;;) {
      if (child.exitCode !== null) throw new Error(`alertmanager exited:\n${log}`);
      const ready = await fetch(`${url}/-/ready`, { signal: AbortSignal.timeout(1_000) }).catch(() => undefined);
      if (ready?.ok) break;
      if (Date.now() > deadline) throw new Error(`alertmanager not ready within 20 s:\n${log}`);
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  }, 300_000);

  afterAll(async () => {
    const pid = child?.pid;
    if (child && pid !== undefined && child.exitCode === null) {
      const exited = new Promise((resolve) => child?.once('exit', resolve));
      process.kill(pid, 'SIGTERM');
      await exited;
    }
    if (root !== '') await rm(root, { recursive: true, force: true });
  });

  it('accepts the alerts and lists them with their labels and annotations', async () => {
    const now = Math.floor(Date.now() / 1000);
    const detections = [0, 1, 2].map((i) => ({ ...detection(i), time: now - 60 + i }));
    const report = await createAlertmanagerActuator({ url: `${url}/`, ...FAST, labels: { cluster: 'test' } }).deliver(
      detections.map(actionFor),
    );
    expect(report).toEqual({ actuator: `alertmanager ${url}/`, delivered: 3, failed: 0, requests: 1, failures: [] });
    const listed = (await (await fetch(`${url}/api/v2/alerts?filter=cluster%3D%22test%22`)).json()) as {
      labels: Record<string, string>;
      annotations: Record<string, string>;
      status: { state: string };
      startsAt: string;
    }[];
    const byHost = new Map(listed.map((a) => [a.labels.host, a]));
    expect([...byHost.keys()].sort()).toEqual(['node-0', 'node-1', 'node-2']);
    expect(byHost.get('node-1')?.labels).toMatchObject({
      alertname: 'TokenworksFailureRisk',
      severity: 'critical',
      action: 'checkpoint-now',
    });
    expect(byHost.get('node-0')?.annotations.summary).toBe('detection 0: seen on node-0');
    expect(byHost.get('node-2')?.status.state).toBe('active');
    expect(Date.parse(byHost.get('node-0')?.startsAt ?? '')).toBe((now - 60) * 1000);
  });

  it('rejects an invalid label name with a 400 that is not retried', async () => {
    const report = await createAlertmanagerActuator({ url, ...FAST, labels: { 'not-a-label': 'x' } }).deliver(
      [],
      [detection(0)],
    );
    expect(report).toMatchObject({ delivered: 0, failed: 1, requests: 1 });
    expect(report.failures[0]?.status).toBe(400);
  });
});
