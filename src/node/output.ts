/**
 * The output layer every command shares: results go to stdout (text for people, one JSON document with
 * `--json`), messages and progress go to stderr, and progress bars are drawn only on a terminal so that piped
 * output stays clean. Long-running commands (plan search, Monte Carlo) report through {@link Output.progress}.
 * @module
 */
import { createRequire } from 'node:module';
import type { SingleBar as SingleBarType } from 'cli-progress';
import type { Progress as AppProgress } from '../app/ports.js';

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
  /**
   * Starts a progress report over `total` units on stderr: a bar on a terminal, a few lines otherwise, nothing
   * with `--quiet`.
   */
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
      if (quiet) return SILENT_PROGRESS;
      if (!streams.stderr.isTTY) return lineProgress(streams.stderr, label, total);
      // cli-progress is loaded only when a bar is drawn (a terminal and long work), not at every start-up.
      const { SingleBar } = createRequire(import.meta.url)('cli-progress') as { SingleBar: typeof SingleBarType };
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

/** Seconds between two progress lines when stderr is not a terminal. */
const LINE_PROGRESS_SECONDS = 10;

/**
 * Progress for a log or a pipe: no bar, one line when the stage starts, one at most every
 * {@link LINE_PROGRESS_SECONDS} while it runs, and one when it ends, so a minute-long command never looks hung.
 */
function lineProgress(stderr: OutputStreams['stderr'], label: string, total: number): Progress {
  const started = Date.now();
  let done = 0;
  let lastLine = started;
  stderr.write(`${label}: 0 of ${total.toLocaleString('en-US')}\n`);
  return {
    tick(amount = 1) {
      done += amount;
      const now = Date.now();
      if (now - lastLine >= LINE_PROGRESS_SECONDS * 1000 && done < total) {
        lastLine = now;
        stderr.write(
          `${label}: ${done.toLocaleString('en-US')} of ${total.toLocaleString('en-US')}, ${((now - started) / 1000).toFixed(0)} s\n`,
        );
      }
    },
    done() {
      stderr.write(`${label}: done in ${((Date.now() - started) / 1000).toFixed(1)} s\n`);
    },
  };
}

/** The use cases' {@link AppProgress} port over an {@link Output}: one progress report per stage. */
export function progressPort(output: Output): AppProgress {
  let current: Progress | undefined;
  return {
    start(stage, total) {
      current?.done();
      current = output.progress(stage, total);
    },
    tick(amount = 1) {
      current?.tick(amount);
    },
    done() {
      current?.done();
      current = undefined;
    },
  };
}
