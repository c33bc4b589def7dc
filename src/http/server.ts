/**
 * The API on a socket (`@hono/node-server`): loopback by default; any other address needs a token. Starting
 * creates the server's runner (worker threads, or the calling thread for one); closing refuses new work,
 * cancels the running jobs (their event streams end), closes the connections and the runner. With `demo`, it also
 * runs the demo factory (node/demo.ts) that `/v1/live` follows; the web console is served from `dist/web`.
 * @module
 */
import { stat } from 'node:fs/promises';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createAdaptorServer } from '@hono/node-server';
import type { DemoOptions } from '../app/demo.js';
import type { TaskRunner } from '../app/ports.js';
import { TokenworksError } from '../errors.js';
import { type Api, type ApiOptions, createApi } from './app.js';
import { DEFAULT_CONSOLE_ROOT } from './static.js';

/** How `tokenworks serve` starts the API. */
export interface ServeOptions extends Omit<ApiOptions, 'runner' | 'loopbackHostsOnly' | 'live'> {
  /** The address to bind (default 127.0.0.1). */
  readonly host?: string;
  /** The port (default 8080; 0 picks a free one). */
  readonly port?: number;
  /** Worker threads of the runner; 1 runs the tasks on the server's thread. */
  readonly threads: number;
  /** Run the demo factory (`serve --demo`): its emulated runs are the live run `/v1/live` follows. */
  readonly demo?: Omit<DemoOptions, 'prepare'>;
}

/** A running server. */
export interface RunningServer {
  /** `http://host:port/`, with the port it got. */
  readonly url: string;
  readonly api: Api;
  /** Stops: no new work, running jobs cancelled, connections closed, the runner closed. */
  close(): Promise<void>;
}

/** Whether `host` is a loopback address: only those may be bound without a token. */
export function isLoopbackAddress(host: string): boolean {
  return host === 'localhost' || host === '::1' || /^127(\.\d{1,3}){3}$/.test(host);
}

/** How long closing waits for open requests before it cuts their connections, milliseconds. */
const CLOSE_GRACE_MS = 2000;

/** Starts the API on `host:port`; a non-loopback host without a token, or a port in use, is a usage error. */
export async function startServer(options: ServeOptions): Promise<RunningServer> {
  const host = options.host ?? '127.0.0.1';
  const port = options.port ?? 8080;
  const loopback = isLoopbackAddress(host);
  if (!loopback && !options.token) {
    throw new TokenworksError(
      'USAGE',
      `binding ${host} exposes the API beyond this machine: give a token (--token or TOKENWORKS_TOKEN), or bind 127.0.0.1`,
    );
  }
  if (options.token !== undefined && options.token.length < 16) {
    throw new TokenworksError('USAGE', 'the token must be at least 16 characters long (e.g. `openssl rand -hex 32`)');
  }
  if (options.dataDir !== undefined) {
    const info = await stat(options.dataDir).catch(() => undefined);
    if (!info?.isDirectory()) {
      throw new TokenworksError('USAGE', `--data-dir ${options.dataDir} is not a folder: give one that exists`);
    }
  }
  const runner = await createRunner(options.threads);
  const live =
    options.demo === undefined ? undefined : (await import('../node/demo.js')).startNodeDemo(options.demo, { runner });
  const api = createApi({
    ...options,
    runner,
    loopbackHostsOnly: loopback && options.token === undefined,
    consoleRoot: options.consoleRoot ?? DEFAULT_CONSOLE_ROOT,
    ...(live && { live }),
  });
  if (typeof options.store === 'string') {
    // A store file that cannot be opened (held by another process, not a DuckDB file) stops the start, not a request.
    try {
      await api.observed.store();
    } catch (error) {
      live?.close();
      await runner.close();
      throw error;
    }
  }
  const server = createAdaptorServer({ fetch: api.app.fetch }) as Server;
  try {
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, host, () => {
        server.off('error', reject);
        resolve();
      });
    });
  } catch (error) {
    live?.close();
    await runner.close();
    await api.observed.close();
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'EADDRINUSE')
      throw new TokenworksError('USAGE', `port ${port} on ${host} is in use: pick another with --port`);
    if (code === 'EADDRNOTAVAIL' || code === 'ENOTFOUND') {
      throw new TokenworksError('USAGE', `cannot bind ${host}: no such address on this machine`);
    }
    if (code === 'EACCES') throw new TokenworksError('USAGE', `port ${port} needs privileges: pick one above 1023`);
    throw error;
  }
  const address = server.address() as AddressInfo;
  const shown = address.family === 'IPv6' ? `[${address.address}]` : address.address;
  let closing: Promise<void> | undefined;
  return {
    url: `http://${shown}:${address.port}/`,
    api,
    close() {
      closing ??= (async () => {
        api.jobs.close();
        live?.close();
        const closed = new Promise<void>((resolve) => server.close(() => resolve()));
        server.closeIdleConnections();
        const cut = setTimeout(() => server.closeAllConnections(), CLOSE_GRACE_MS);
        await closed;
        clearTimeout(cut);
        await runner.close();
        await api.observed.close();
      })();
      return closing;
    },
  };
}

/** The runner of `threads` threads: piscina above one, the calling thread otherwise. */
async function createRunner(threads: number): Promise<TaskRunner> {
  if (threads > 1) return (await import('../node/piscina-runner.js')).createPiscinaRunner(threads);
  const [{ createInlineRunner }, { createNodeDataSource }] = await Promise.all([
    import('../app/inline-runner.js'),
    import('../node/data-source.js'),
  ]);
  return createInlineRunner(createNodeDataSource());
}
