/**
 * Scraping dcgm-exporter: a local HTTP server on 127.0.0.1 serves DataDog's recorded exporter body (the fixture
 * its docker test server returns); three scrapes each see the two T4 hosts; an endpoint that fails is reported
 * per scrape; a saved scrape file is read once. The server is stopped by the test.
 */
import { readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type ScrapeResult, scrapeDcgm } from './dcgm-scrape-source.js';

const FIXTURE = new URL('../../../shared/data/telemetry/dcgm/datadog/serve-metrics', import.meta.url);
const body = readFileSync(FIXTURE, 'utf8');

let server: Server;
let base: string;
let requests = 0;
beforeAll(async () => {
  server = createServer((request, response) => {
    requests++;
    if (request.url === '/metrics') {
      response.writeHead(200, { 'content-type': 'text/plain; version=0.0.4' });
      response.end(body);
    } else {
      response.writeHead(503);
      response.end();
    }
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(async () => {
  await new Promise((resolve) => server.close(resolve));
});

async function collect(results: AsyncIterable<ScrapeResult>): Promise<ScrapeResult[]> {
  const out: ScrapeResult[] = [];
  for await (const result of results) out.push(result);
  return out;
}

describe('dcgm-exporter scrape source', () => {
  it('scrapes an endpoint at an interval: each scrape sees the two T4 GPUs, nothing malformed', async () => {
    const before = requests;
    const results = await collect(scrapeDcgm(`${base}/metrics`, { intervalMs: 20, scrapes: 3 }));
    expect(requests - before).toBe(3);
    expect(results).toHaveLength(3);
    for (const result of results) {
      expect(result.ok).toBe(true);
      if (result.ok) {
        expect(result.malformed).toBe(0);
        expect(result.scrape.gpus.size).toBe(2);
      }
    }
  });

  it('reports a failing endpoint per scrape and stops on abort', async () => {
    const controller = new AbortController();
    const results: ScrapeResult[] = [];
    for await (const result of scrapeDcgm(`${base}/down`, { intervalMs: 20, signal: controller.signal })) {
      results.push(result);
      if (results.length === 2) controller.abort();
    }
    expect(results).toHaveLength(2);
    expect(results.every((r) => !r.ok && r.error === 'HTTP 503 Service Unavailable')).toBe(true);
  });

  it('reads a saved scrape file once', async () => {
    const results = await collect(scrapeDcgm(FIXTURE.pathname));
    expect(results).toHaveLength(1);
    expect(results[0]?.ok && results[0].scrape.gpus.size).toBe(2);
  });
});
