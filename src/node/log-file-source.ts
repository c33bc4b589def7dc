/**
 * A {@link TelemetrySource} over a training log file: read once, or followed as it grows (`tail -f` by polling),
 * parsed line by line with the pure step-log parser. Only complete lines are parsed, so a line half-written when
 * the file is read is taken whole on the next read; every batch says where a reopened source resumes (the byte
 * offset after its last complete line, and the next line number), so a restart reads nothing twice.
 * @module
 */
import { stat } from 'node:fs/promises';
import type { StepBatch, TelemetrySource } from '../app/ports.js';
import { TokenworksError } from '../errors.js';
import { createStepLogParser, type StepSample, segmentSamples } from '../telemetry/step-log.js';
import { waitFor } from '../util/wait.js';
import { openForReading } from './files.js';

/** Options of {@link createLogFileSource}. */
export interface LogFileSourceOptions {
  /** Keep reading as the file grows, until the `steps` signal aborts (default: read to the end once). */
  readonly follow?: boolean;
  /** How often a followed file is checked for growth, milliseconds (default 250). */
  readonly pollMs?: number;
  /** Resume after this many bytes (a batch's `offset`). */
  readonly fromOffset?: number;
  /** The line number at `fromOffset` (a batch's `nextLine`). */
  readonly fromLine?: number;
  /** Bytes read at a time (default 1 MiB). */
  readonly chunkBytes?: number;
  /**
   * One read buffer and one set of row columns for every batch, refilled by the next read: for a reader done with a
   * batch when it asks for the next (the store's ingest). Default false: each batch keeps its own.
   */
  readonly reuseBuffers?: boolean;
}

const NEWLINE = 0x0a;

/** Creates a source reading the step lines of the log at `path`. */
export function createLogFileSource(path: string, options: LogFileSourceOptions = {}): TelemetrySource {
  const pollMs = Math.max(10, options.pollMs ?? 250);
  const chunkBytes = Math.max(4096, options.chunkBytes ?? 2 ** 20);
  return {
    async *steps({ signal } = {}) {
      const handle = await openForReading(path);
      try {
        let offset = Math.max(0, options.fromOffset ?? 0);
        let nextLine = Math.max(1, options.fromLine ?? 1);
        const reuse = options.reuseBuffers === true;
        const parser = createStepLogParser({ firstLine: nextLine, reuseRows: reuse });
        let pending: Buffer = Buffer.alloc(0);
        let malformedSeen = parser.malformed.length;
        let ignoredSeen = parser.ignored;
        /** A buffer a read found nothing for (a followed file at its end): the next read takes it again. */
        let spare: Buffer | undefined;
        for (;;) {
          if (signal?.aborted) return;
          // The bytes held back go first, and the read lands after them: no second copy of the chunk. Not zeroed:
          // the read writes every byte that is used. A fresh buffer each time, as batches keep views of theirs.
          const room = pending.length + chunkBytes;
          const buffer =
            spare !== undefined && spare.length >= room ? spare : Buffer.allocUnsafe(reuse ? room + (room >> 4) : room);
          spare = reuse ? buffer : undefined;
          pending.copy(buffer, 0);
          const { bytesRead } = await handle.read(buffer, pending.length, chunkBytes, offset + pending.length);
          if (bytesRead === 0) {
            spare = buffer;
            if (!options.follow) {
              // A last line without a newline is whole once the file is read to its end.
              if (pending.length > 0) {
                const samples = [...parser.pushBytes(pending), ...parser.end()];
                offset += pending.length;
                nextLine += 1;
                yield {
                  samples,
                  malformed: parser.malformed.slice(malformedSeen),
                  ignored: parser.ignored - ignoredSeen,
                  offset,
                  nextLine,
                };
              }
              return;
            }
            const size = (await stat(path)).size;
            if (size < offset) {
              throw new TokenworksError(
                'FILE_UNREADABLE',
                `${path} shrank while it was followed (rotated or truncated?)`,
                {
                  file: path,
                },
              );
            }
            await waitFor(pollMs, signal);
            continue;
          }
          const data = buffer.subarray(0, pending.length + bytesRead);
          const end = data.lastIndexOf(NEWLINE);
          if (end < 0) {
            pending = data;
            continue;
          }
          // Only complete lines are parsed: the rest waits for its newline.
          const complete = data.subarray(0, end + 1);
          pending = data.subarray(end + 1);
          const segments = parser.pushSegments(complete);
          offset += complete.length;
          nextLine += countNewlines(complete);
          const malformed = parser.malformed.slice(malformedSeen);
          malformedSeen = parser.malformed.length;
          const ignored = parser.ignored - ignoredSeen;
          ignoredSeen = parser.ignored;
          let samples: StepSample[] | undefined;
          const batch: StepBatch = {
            // Made objects only when read: the store takes the segments' columns as they are.
            get samples() {
              samples ??= segmentSamples(segments);
              return samples;
            },
            segments,
            malformed,
            ignored,
            offset,
            nextLine,
          };
          yield batch;
        }
      } finally {
        await handle.close();
      }
    },
  };
}

function countNewlines(bytes: Buffer): number {
  let count = 0;
  // indexOf is a native memchr: a byte-by-byte iterator took longer than parsing the lines (bench/observe.mjs).
  for (let at = bytes.indexOf(NEWLINE); at >= 0; at = bytes.indexOf(NEWLINE, at + 1)) count++;
  return count;
}
