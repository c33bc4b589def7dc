/**
 * A child-process entry for the CLI fuzzer, run on the TypeScript sources (`node --import tsx
 * test/support/cli-entry.ts ...`), so that a case that hangs can be killed from outside.
 *
 * - `cli-entry.ts <argv...>`: like `bin/tokenworks.js`: `runCli` on the arguments with the real streams, and the
 *   exit code it returns. An exception that escapes `runCli` is printed after {@link ESCAPED_MARKER} and the
 *   process exits 99.
 * - `cli-entry.ts --serve`: a case server for the fuzzer (started with an IPC channel). Each message
 *   `{ id, argv }` runs `runCli` in this process with capturing streams and answers `{ id, code, stdout, stderr,
 *   outputBytes, ms, escaped?, handles? }`; `handles` lists the resources a case left open that would keep a real
 *   process from exiting. Paying the start-up (module loading) once makes a case 10 to 50 times cheaper; the
 *   parent kills and restarts the server when a case runs past its budget. An uncaught exception or unhandled
 *   rejection while a case runs is answered as `escaped` and ends the server (a real process would have died).
 * @module
 */
import { runCli } from '../../src/cli/main.js';

/** Printed on stderr when `runCli` itself throws (it must not: it maps every failure to an exit code). */
export const ESCAPED_MARKER = '[cli-entry] runCli threw:';

/** Captured output per stream is cut here (the total is still counted). */
const CAPTURE_LIMIT = 1_100_000;

/** A request to the case server. */
export interface ServeRequest {
  readonly id: number;
  readonly argv: readonly string[];
}

/** The case server's answer. */
export interface ServeResponse {
  readonly id: number;
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
  readonly outputBytes: number;
  readonly ms: number;
  /** An exception that escaped runCli, or was thrown or rejected unhandled while the case ran. */
  readonly escaped?: string;
  /** Resources still open 2 s after the case (a real process would not exit, or not yet). */
  readonly handles?: readonly string[];
}

const describeError = (error: unknown) =>
  error instanceof Error ? (error.stack ?? `${error.name}: ${error.message}`) : String(error);

function resourceCounts(): Map<string, number> {
  const counts = new Map<string, number>();
  for (const name of process.getActiveResourcesInfo()) counts.set(name, (counts.get(name) ?? 0) + 1);
  return counts;
}

function leftOpen(before: Map<string, number>): string[] {
  const handles: string[] = [];
  for (const [name, count] of resourceCounts()) {
    const extra = count - (before.get(name) ?? 0);
    if (extra > 0 && name !== 'TTYWrap') handles.push(`${extra} × ${name}`);
  }
  return handles;
}

async function serve(): Promise<void> {
  const send = (message: ServeResponse) => process.send?.(message);
  let current: { id: number; escaped?: string } | undefined;
  const fatal = (kind: string) => (error: unknown) => {
    const text = `${kind}: ${describeError(error)}`;
    if (current) current.escaped ??= text;
    else process.stderr.write(`[cli-entry] ${text}\n`);
  };
  process.on('uncaughtException', fatal('uncaught exception'));
  process.on('unhandledRejection', fatal('unhandled rejection'));
  let queue = Promise.resolve();
  process.on('message', (request: ServeRequest) => {
    queue = queue.then(() => runOne(request));
  });
  process.on('disconnect', () => process.exit(0));
  process.send?.({ ready: true });

  async function runOne(request: ServeRequest): Promise<void> {
    current = { id: request.id };
    let stdout = '';
    let stderr = '';
    let outputBytes = 0;
    const capture = (stream: 'stdout' | 'stderr') => (text: string | Uint8Array) => {
      const chunk = typeof text === 'string' ? text : Buffer.from(text).toString('utf8');
      outputBytes += Buffer.byteLength(chunk);
      if (stream === 'stdout' && stdout.length < CAPTURE_LIMIT) stdout += chunk;
      if (stream === 'stderr' && stderr.length < CAPTURE_LIMIT) stderr += chunk;
      return true;
    };
    // Stray writes to the process streams (console.log and the like) count as the case's output too.
    const realOut = process.stdout.write;
    const realErr = process.stderr.write;
    process.stdout.write = capture('stdout') as typeof process.stdout.write;
    process.stderr.write = capture('stderr') as typeof process.stderr.write;
    const before = resourceCounts();
    const started = performance.now();
    let code: number;
    try {
      code = await runCli(request.argv, {
        stdout: { write: capture('stdout') },
        stderr: { write: capture('stderr'), isTTY: false },
      });
    } catch (error) {
      current.escaped ??= `runCli threw: ${describeError(error)}`;
      code = 99;
    }
    const ms = Math.round(performance.now() - started);
    // Closing workers and sockets may take a moment (more on a loaded machine): recount for up to 2 s before
    // calling anything left open.
    let handles = leftOpen(before);
    for (let wait = 0; wait < 20 && handles.length > 0; wait++) {
      await new Promise((resolve) => setTimeout(resolve, 100));
      handles = leftOpen(before);
    }
    process.stdout.write = realOut;
    process.stderr.write = realErr;
    const { escaped } = current;
    current = undefined;
    send({
      id: request.id,
      code,
      stdout,
      stderr,
      outputBytes,
      ms,
      ...(escaped !== undefined && { escaped }),
      ...(handles.length > 0 && { handles }),
    });
    // After an escaped exception this process is not to be trusted: start afresh.
    if (escaped !== undefined) setTimeout(() => process.exit(0), 50);
  }
}

if (process.argv[2] === '--serve' && process.send) {
  await serve();
} else {
  try {
    process.exitCode = await runCli(process.argv.slice(2), { stdout: process.stdout, stderr: process.stderr });
  } catch (error) {
    process.stderr.write(`${ESCAPED_MARKER} ${describeError(error)}\n`);
    process.exitCode = 99;
  }
}
