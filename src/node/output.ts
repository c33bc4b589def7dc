/**
 * The output layer every command shares: results go to stdout (text for people, one JSON document with
 * `--json`), messages and progress go to stderr, and progress bars are drawn only on a terminal so that piped
 * output stays clean. Long-running commands (plan search, Monte Carlo) report through {@link Output.progress}.
 * @module
 */
import { SingleBar } from 'cli-progress';

/** Where a command's output goes; tests pass string sinks. */
export interface OutputStreams {
  readonly stdout: { write(text: string): unknown };
  readonly stderr: { write(text: string): unknown; isTTY?: boolean };
}

/** A running progress report. */
export interface Progress {
  /** Advances by `amount` units of work (default 1). */
  tick(amount?: number): void;
  /** Ends the report and clears the bar. */
  done(): void;
}

/** The output of one command run. */
export interface Output {
  /** True when the user asked for machine-readable output. */
  readonly json: boolean;
  /** Prints the command's result: text as given, or JSON when {@link json} is set. */
  result(text: string, data: unknown): void;
  /** A message for people, on stderr (suppressed by `--quiet`). */
  info(message: string): void;
  /** A warning, on stderr, always shown. */
  warn(message: string): void;
  /** An error line, on stderr. */
  error(message: string): void;
  /** Starts a progress report over `total` units; a no-op unless stderr is a terminal and output is not JSON. */
  progress(label: string, total: number): Progress;
}

/** Options of {@link createOutput}. */
export interface OutputOptions {
  readonly json?: boolean;
  readonly quiet?: boolean;
}

const SILENT_PROGRESS: Progress = { tick() {}, done() {} };

/** Creates the output layer over the given streams. */
export function createOutput(streams: OutputStreams, options: OutputOptions = {}): Output {
  const json = options.json ?? false;
  const quiet = options.quiet ?? false;
  return {
    json,
    result(text, data) {
      streams.stdout.write(json ? `${JSON.stringify(data, null, 2)}\n` : text.endsWith('\n') ? text : `${text}\n`);
    },
    info(message) {
      if (!quiet) streams.stderr.write(`${message}\n`);
    },
    warn(message) {
      streams.stderr.write(`warning: ${message}\n`);
    },
    error(message) {
      streams.stderr.write(`${message}\n`);
    },
    progress(label, total) {
      if (json || quiet || !streams.stderr.isTTY) return SILENT_PROGRESS;
      const bar = new SingleBar({
        format: `${label} [{bar}] {percentage}% | {value}/{total} | ETA {eta_formatted}`,
        stream: streams.stderr as NodeJS.WritableStream,
        clearOnComplete: true,
        hideCursor: true,
      });
      bar.start(total, 0);
      return {
        tick: (amount = 1) => bar.increment(amount),
        done: () => bar.stop(),
      };
    },
  };
}
