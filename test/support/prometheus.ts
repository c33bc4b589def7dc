/**
 * A real Prometheus for the tests: Debian's `prometheus` package (with `promtool`), installed with apt-get when it
 * is missing and the process runs as root (CI on a fresh machine), started on 127.0.0.1 at a free port with a temp
 * data dir and a config the test writes, and stopped by its PID (never by name). Beside it, a Node http fixture
 * server on 127.0.0.1 that serves exporter text per path and records every body it served, in order.
 * Recipes: docs/research operate.md §3.3 (scrape; promtool backfill with 10-year retention).
 * @module
 */
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { cp, mkdir, mkdtemp, writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import { type AddressInfo, createServer as createNetServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { answers, startService } from './service.js';

/** Where Debian's prometheus package puts its binaries. */
export const PROMETHEUS_PATH = '/usr/bin/prometheus';
export const PROMTOOL_PATH = '/usr/bin/promtool';

/** Why the Prometheus tests cannot run here, or undefined when Prometheus is installed or installable (root). */
export function prometheusUnavailable(): string | undefined {
  if (existsSync(PROMETHEUS_PATH) && existsSync(PROMTOOL_PATH)) return undefined;
  if (process.getuid?.() === 0) return undefined;
  return `${PROMETHEUS_PATH} is missing and this is not root: install it with "sudo apt-get install -y prometheus"`;
}

/** Installs Debian's prometheus with apt-get when it is missing and we are root; throws with the fix otherwise. */
export function ensurePrometheus(): void {
  if (existsSync(PROMETHEUS_PATH) && existsSync(PROMTOOL_PATH)) return;
  const reason = prometheusUnavailable();
  if (reason !== undefined) throw new Error(reason);
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  execFileSync('apt-get', ['update'], { stdio: 'inherit', env });
  execFileSync('apt-get', ['install', '-y', '--no-install-recommends', 'prometheus'], { stdio: 'inherit', env });
  if (!existsSync(PROMETHEUS_PATH)) throw new Error(`apt-get installed prometheus, but ${PROMETHEUS_PATH} is missing`);
}

/** A free TCP port on 127.0.0.1 (listen on 0, read the port, close). */
export async function freePort(): Promise<number> {
  const server = createNetServer();
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

/** A running Prometheus. */
export interface RunningPrometheus {
  readonly url: string;
  readonly pid: number;
  readonly dataDir: string;
  /** What it printed so far (for failure messages). */
  log(): string;
  /** Stops it by PID and removes its data dir. */
  stop(): Promise<void>;
}

/** Options of {@link startPrometheus}. */
export interface PrometheusOptions {
  /** prometheus.yml text. */
  readonly config: string;
  /** TSDB block directories (from `promtool tsdb create-blocks-from`) copied into the data dir first. */
  readonly blocks?: readonly string[];
}

/** Starts Prometheus on 127.0.0.1 at a free port and waits for `/-/ready`. */
export async function startPrometheus(options: PrometheusOptions): Promise<RunningPrometheus> {
  const root = await mkdtemp(join(tmpdir(), 'tokenworks-prometheus-'));
  const dataDir = join(root, 'data');
  await mkdir(dataDir);
  for (const block of options.blocks ?? [])
    await cp(block, join(dataDir, block.split('/').pop() as string), { recursive: true });
  const configFile = join(root, 'prometheus.yml');
  await writeFile(configFile, options.config);
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  const service = await startService({
    name: 'prometheus',
    binary: PROMETHEUS_PATH,
    args: [
      `--config.file=${configFile}`,
      `--storage.tsdb.path=${dataDir}`,
      `--web.listen-address=127.0.0.1:${port}`,
      // Backfilled blocks carry old time stamps: the default 15 d retention would drop them (operate.md §3.3).
      '--storage.tsdb.retention.time=10y',
      '--log.level=warn',
    ],
    folder: root,
    ready: () => answers(`${url}/-/ready`),
  });
  return { url, dataDir, ...service };
}

/** One body the fixture server served. */
export interface Served {
  readonly body: string;
  /** Unix seconds when it was sent. */
  readonly at: number;
}

/** A fixture server: bodies per path; each path's n-th request (0-based) gets `route(n)`, or 503 when undefined. */
export interface FixtureServer {
  readonly url: string;
  /** What a path served, in order. */
  served(path: string): readonly Served[];
  /** How many requests a path had, 503s included. */
  requests(path: string): number;
  close(): Promise<void>;
}

/** Starts the fixture server on 127.0.0.1 at a free port. */
export async function startFixtureServer(
  routes: Readonly<Record<string, (scrape: number) => string | undefined>>,
): Promise<FixtureServer> {
  const served = new Map<string, Served[]>();
  const requests = new Map<string, number>();
  const server: Server = createServer((request, response) => {
    const path = (request.url ?? '/').split('?')[0] as string;
    const route = routes[path];
    if (route === undefined) {
      response.writeHead(404).end('no such fixture\n');
      return;
    }
    const n = requests.get(path) ?? 0;
    requests.set(path, n + 1);
    const body = route(n);
    if (body === undefined) {
      response.writeHead(503, { 'content-type': 'text/plain' }).end('fixture exhausted\n');
      return;
    }
    const list = served.get(path) ?? [];
    list.push({ body, at: Date.now() / 1000 });
    served.set(path, list);
    response.writeHead(200, { 'content-type': 'text/plain; version=0.0.4; charset=utf-8' }).end(body);
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    served: (path) => served.get(path) ?? [],
    requests: (path) => requests.get(path) ?? 0,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
