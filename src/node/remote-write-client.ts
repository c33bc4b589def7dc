/**
 * A Prometheus remote-write 1.0 client: series as a Snappy block-compressed `WriteRequest` (the encoder of
 * src/http/remote-write.ts, one .proto descriptor for both ends) POSTed with the headers Prometheus sends
 * (operate.md §1.3: `Content-Type: application/x-protobuf`, `Content-Encoding: snappy`,
 * `X-Prometheus-Remote-Write-Version: 0.1.0`). Prometheus and VictoriaMetrics answer 204; anything else is an
 * error naming the URL, the status and the server's text. For tools and benchmarks (bench/fleet.mjs).
 * @module
 */

import { TokenworksError } from '../errors.js';
import { encodeWriteRequest, type WriteSeries } from '../http/remote-write.js';

export type { WriteSeries } from '../http/remote-write.js';

/** What one write sent. */
export interface RemoteWriteResult {
  readonly status: number;
  /** The compressed body, bytes. */
  readonly bytes: number;
  readonly samples: number;
}

/** POSTs `series` to a remote-write endpoint (such as `http://127.0.0.1:8428/api/v1/write`). */
export async function remoteWrite(
  url: string,
  series: readonly WriteSeries[],
  options: { readonly timeoutMs?: number; readonly signal?: AbortSignal } = {},
): Promise<RemoteWriteResult> {
  if (!/^https?:\/\/[^/\s]+/i.test(url)) {
    throw new TokenworksError('USAGE', `remote-write URL ${JSON.stringify(url)} is not an http(s) URL`);
  }
  const body = await encodeWriteRequest(series);
  const timeout = AbortSignal.timeout(Math.max(1, options.timeoutMs ?? 60_000));
  const signal = options.signal ? AbortSignal.any([options.signal, timeout]) : timeout;
  let response: Response;
  try {
    response = await fetch(url, {
      method: 'POST',
      headers: {
        'content-type': 'application/x-protobuf',
        'content-encoding': 'snappy',
        'x-prometheus-remote-write-version': '0.1.0',
      },
      body,
      signal,
    });
  } catch (error) {
    const cause =
      error instanceof Error ? ((error.cause as Error | undefined)?.message ?? error.message) : String(error);
    throw new TokenworksError('USAGE', `cannot reach the remote-write endpoint ${url} (${cause})`, { cause: error });
  }
  const text = await response.text();
  if (!response.ok) {
    throw new TokenworksError(
      'USAGE',
      `${url} refused a remote write of ${series.length} series: HTTP ${response.status} ${text.trim().slice(0, 300)}`,
    );
  }
  return {
    status: response.status,
    bytes: body.byteLength,
    samples: series.reduce((total, s) => total + s.samples.length, 0),
  };
}
