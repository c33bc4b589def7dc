/**
 * `tokenworks serve`: the HTTP API (docs/api.md) on 127.0.0.1:8080 by default. Any other address needs a token
 * (`--token` or `TOKENWORKS_TOKEN`), checked on every route but `/healthz`; CORS is off unless `--cors ORIGIN`.
 * Prints the URL on stdout; SIGINT or SIGTERM stops it cleanly (running jobs cancelled, connections closed).
 * The web console is at `/`; `--demo [spec]` replays emulated runs of the spec (default examples/llama3-8b.yaml)
 * in accelerated real time as the live run its Operate page follows (docs/console.md).
 * @module
 */
import { join } from 'node:path';
import type { Command } from '@commander-js/extra-typings';
import { TokenworksError } from '../../errors.js';
import { loadSpecFile } from '../../node/files.js';
import { createOutput, type OutputStreams } from '../../node/output.js';
import { integerOption, threadsOption } from '../options.js';

/** The spec `serve --demo` emulates when given none. */
export const DEMO_SPEC = join(import.meta.dirname, '..', '..', '..', 'examples', 'llama3-8b.yaml');

/** Adds the `serve` command to `program`. */
export function registerServe(program: Command, streams: OutputStreams): void {
  program
    .command('serve')
    .description('serve the use cases as an HTTP API (OpenAPI at /openapi.json; see docs/api.md)')
    .option('--host <address>', 'address to bind; anything but loopback needs a token', '127.0.0.1')
    .option('--port <n>', 'port to listen on (0: any free port)', '8080')
    .option('--token <token>', 'bearer token required on every route but /healthz (default: $TOKENWORKS_TOKEN)')
    .option('--cors <origin>', 'allow cross-origin requests from this one origin, e.g. http://localhost:5173')
    .option('--threads <n>', 'worker threads for plan, simulate and compare (default: the cores available)')
    .option('--max-jobs <n>', 'most plan, simulate, compare and observe runs at once (more get 429)', '4')
    .option('--store <file>', 'keep observed runs (observe, remote write) in this DuckDB file (default: in memory)')
    .option('--data-dir <dir>', 'the one folder whose files observe requests may name (default: no files)')
    .option('--demo [spec]', 'replay emulated runs of this spec as a live factory (default examples/llama3-8b.yaml)')
    .option('--demo-speed <x>', 'run seconds the demo replays per real second', '120')
    .action(async (options, command) => {
      const globals = command.optsWithGlobals() as { quiet?: boolean };
      const output = createOutput(streams, { json: false, quiet: globals.quiet ?? false });
      const port = integerOption('--port', options.port, 0, 65535);
      const threads = threadsOption(options.threads, output);
      const maxActive = integerOption('--max-jobs', options.maxJobs, 1, 1024);
      const envToken = process.env.TOKENWORKS_TOKEN;
      const token = options.token ?? (envToken === undefined || envToken === '' ? undefined : envToken);
      const speed = Number(options.demoSpeed);
      if (!(Number.isFinite(speed) && speed > 0 && speed <= 100_000)) {
        throw new TokenworksError(
          'USAGE',
          `--demo-speed must be a number above 0 and at most 100000, got ${options.demoSpeed}`,
        );
      }
      const demoFile = options.demo === undefined ? undefined : options.demo === true ? DEMO_SPEC : options.demo;
      const demoSpec = demoFile === undefined ? undefined : await loadSpecFile(demoFile);
      const { startServer } = await import('../../http/server.js');
      const server = await startServer({
        host: options.host,
        port,
        threads,
        ...(token !== undefined && { token }),
        ...(options.cors !== undefined && { cors: options.cors }),
        ...(options.store !== undefined && { store: options.store }),
        ...(options.dataDir !== undefined && { dataDir: options.dataDir }),
        jobs: { maxActive },
        ...(demoSpec && {
          demo: {
            spec: demoSpec,
            speed,
            onError: (error: unknown) => output.warn(`demo: ${error instanceof Error ? error.message : String(error)}`),
          },
        }),
        onInternalError: (error) =>
          output.warn(`internal error: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`),
      });
      output.result(server.url, { url: server.url });
      output.info(
        `serving the API on ${server.url} (${token !== undefined ? 'bearer token required' : 'loopback only, no token'}); OpenAPI at ${server.url}openapi.json; Ctrl-C stops`,
      );
      output.info(`the web console: ${server.url}${token !== undefined ? '?token=<token>' : ''}`);
      if (demoFile !== undefined) {
        output.info(
          `demo: emulated runs of ${demoFile} at ${speed}× real time; the console's Operate page follows them`,
        );
      }
      await new Promise<void>((resolve) => {
        const stop = (signal: NodeJS.Signals) => {
          process.off('SIGINT', stop);
          process.off('SIGTERM', stop);
          output.info(`${signal}: stopping (running jobs are cancelled)`);
          server.close().then(resolve, resolve);
        };
        process.on('SIGINT', stop);
        process.on('SIGTERM', stop);
      });
    });
}
