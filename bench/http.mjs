/**
 * Load check of the HTTP API (not a test): `tokenworks serve` in its own process on 127.0.0.1, driven from this
 * one by Node's own http client (a keep-alive pool of `--connections` sockets; autocannon is not among the
 * researched dependencies) with `POST /v1/estimate` of examples/llama3-70b.yaml. Two phases:
 *   1. rate: requests due at a fixed rate (default 500/s) for `--seconds` (default 30); latency is counted from
 *      when each request was due, so a stalled server is not hidden by the client waiting for it;
 *   2. peak: `--connections` (default 16) requests kept in flight for 10 s, the most the server answers.
 * Reports requests/s, latency percentiles and errors; writes bench/results/http-<date>.json. Run with
 * `npm run bench:http` (builds dist/ first); flags: --rate N --seconds S --connections C --peak-seconds S
 * --threads N (the server's), --body json (the spec sent as JSON; written to http-<date>-json.json),
 * --vary (every request's spec differs by its name, so that no request finds its spec already loaded),
 * --baseline DIR (another built Tokenworks tree, e.g. `git archive` of an older commit: measured first, in the same
 * run, as `before`; the results then hold `before` and `after`). The load average is noted at the start and the end
 * of each measurement: the machine may be shared.
 * @module
 */
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { Agent, request as httpRequest } from 'node:http';
import { availableParallelism, cpus, loadavg } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { parseArgs } from 'node:util';
import { writeFileAtomic } from '../dist/node/files.js';

const { values } = parseArgs({
  options: {
    rate: { type: 'string', default: '500' },
    seconds: { type: 'string', default: '30' },
    connections: { type: 'string', default: '16' },
    'peak-seconds': { type: 'string', default: '10' },
    threads: { type: 'string', default: '1' },
    body: { type: 'string', default: 'yaml' },
    vary: { type: 'boolean', default: false },
    baseline: { type: 'string' },
  },
});
const rate = Number(values.rate);
const seconds = Number(values.seconds);
const connections = Number(values.connections);
const peakSeconds = Number(values['peak-seconds']);
const root = join(import.meta.dirname, '..');
const specFile = 'examples/llama3-70b.yaml';
const yamlText = readFileSync(join(root, specFile), 'utf8');
// JSON: the same spec as the JSON document the YAML parses to (YAML parsing is most of a request's cost).
const json = values.body === 'json';
const document = (await import('../dist/spec/load.js')).parseText(yamlText, 'yaml').value;
const body = json ? JSON.stringify(document) : yamlText;
const headers = { 'content-type': json ? 'application/json' : 'application/yaml' };
const payload = Buffer.from(body);
let requestsMade = 0;
/** The body of the next request: the same bytes, or with `--vary` the spec renamed `<name> #<n>`. */
function nextPayload() {
  if (!values.vary) return payload;
  requestsMade += 1;
  const name = `${document.name} #${requestsMade}`;
  return Buffer.from(json ? JSON.stringify({ ...document, name }) : yamlText.replace(/^name: .*$/m, `name: ${name}`));
}

/** Starts `tokenworks serve` of the tree at `tree` and answers its estimate URL and process. */
async function startServe(tree) {
  const server = spawn(
    process.execPath,
    [join(tree, 'bin', 'tokenworks.js'), 'serve', '--port', '0', '--threads', values.threads],
    { stdio: ['ignore', 'pipe', 'inherit'] },
  );
  const url = await new Promise((resolve, reject) => {
    createInterface({ input: server.stdout }).once('line', resolve);
    server.once('exit', (code) => reject(new Error(`serve exited with ${code}`)));
  });
  return { server, target: new URL('/v1/estimate', url) };
}

// node:http with a keep-alive pool of `connections` sockets: cheaper per request than fetch, which matters when
// the load generator shares the two cores with the server.
let agent = new Agent({ keepAlive: true, maxSockets: connections });
let target;

/** One request: its latency in ms from `due`, and whether it answered 200 with a feasible estimate. */
function request(due) {
  const bytes = nextPayload();
  const requestHeaders = { ...headers, 'content-length': String(bytes.length) };
  return new Promise((resolve) => {
    const fail = (error) => resolve({ ms: performance.now() - due, ok: false, status: String(error?.code ?? error) });
    const sent = httpRequest(target, { method: 'POST', agent, headers: requestHeaders }, (response) => {
      const chunks = [];
      response.on('data', (chunk) => chunks.push(chunk));
      response.on('error', fail);
      response.on('end', () => {
        let ok = response.statusCode === 200;
        try {
          ok &&= JSON.parse(Buffer.concat(chunks).toString('utf8')).ok === true;
        } catch {
          ok = false;
        }
        resolve({ ms: performance.now() - due, ok, status: response.statusCode });
      });
    });
    sent.on('error', fail);
    sent.end(bytes);
  });
}

function summary(samples, elapsed) {
  const latencies = Float64Array.from(samples.map((s) => s.ms)).sort();
  const at = (q) => latencies[Math.min(latencies.length - 1, Math.floor(q * latencies.length))] ?? 0;
  const errors = samples.filter((s) => !s.ok);
  const round = (x) => Number(x.toFixed(2));
  return {
    requests: samples.length,
    seconds: round(elapsed),
    requestsPerSecond: round(samples.length / elapsed),
    latencyMs: { p50: round(at(0.5)), p90: round(at(0.9)), p99: round(at(0.99)), max: round(at(1)) },
    errors: errors.length,
    errorStatuses: [...new Set(errors.map((e) => e.status))].slice(0, 5),
  };
}

/** Open loop: a request due every 1/rate s, latency from when it was due. */
async function atRate(perSecond, duration) {
  const samples = [];
  const pending = new Set();
  const start = performance.now();
  const total = Math.round(perSecond * duration);
  for (let i = 0; i < total; i++) {
    const due = start + (i * 1000) / perSecond;
    const wait = due - performance.now();
    if (wait > 1) await new Promise((resolve) => setTimeout(resolve, wait));
    // The agent queues a request when its `connections` sockets are busy: its latency still counts from when it
    // was due.
    const sent = request(due).then((sample) => {
      samples.push(sample);
      pending.delete(sent);
    });
    pending.add(sent);
  }
  await Promise.all(pending);
  return summary(samples, (performance.now() - start) / 1000);
}

/** Closed loop: `count` requests always in flight for `duration` s. */
async function peak(count, duration) {
  const samples = [];
  const start = performance.now();
  const end = start + duration * 1000;
  await Promise.all(
    Array.from({ length: count }, async () => {
      while (performance.now() < end) {
        const sample = await request(performance.now());
        samples.push(sample);
      }
    }),
  );
  return summary(samples, (performance.now() - start) / 1000);
}

const load = () => loadavg().map((x) => Number(x.toFixed(2)));

/** The rate and peak phases against a server of the tree at `tree`, with the load average around them. */
async function measure(tree) {
  const started = await startServe(tree);
  target = started.target;
  agent = new Agent({ keepAlive: true, maxSockets: connections });
  try {
    const loadAtStart = load();
    await peak(4, 3); // warm up: the JIT, the catalog, the connections
    const steady = await atRate(rate, seconds);
    const most = await peak(connections, peakSeconds);
    return {
      tree,
      loadAverage: { start: loadAtStart, end: load() },
      rate: {
        target: rate,
        ...steady,
        met: steady.requestsPerSecond >= rate * 0.98 && steady.latencyMs.p99 < 50 && steady.errors === 0,
      },
      peak: { connections, ...most },
    };
  } finally {
    agent.destroy();
    started.server.kill('SIGTERM');
    await new Promise((resolve) => started.server.once('exit', resolve));
  }
}

const before = values.baseline === undefined ? undefined : await measure(values.baseline);
const after = await measure(root);
const result = {
  benchmark: `HTTP API: POST /v1/estimate of ${specFile} (${json ? 'as JSON' : 'YAML'}${values.vary ? ', each request renamed' : ''}) on loopback, server with --threads ${values.threads}`,
  date: new Date().toISOString(),
  node: process.version,
  machine: { cores: availableParallelism(), cpu: cpus()[0]?.model ?? 'unknown', loadAverageAtEnd: load() },
  aim: '500 requests/s for 30 s with p99 under 50 ms and no error, on two cores',
  ...(before ? { before, after } : { rate: after.rate, peak: after.peak, loadAverage: after.loadAverage }),
};
const directory = join(import.meta.dirname, 'results');
await mkdir(directory, { recursive: true });
const file = join(
  directory,
  `http-${result.date.slice(0, 10)}${json ? '-json' : ''}${values.vary ? '-vary' : ''}${before ? '-before-after' : ''}.json`,
);
await writeFileAtomic(file, `${JSON.stringify(result, null, 2)}\n`);
console.log(JSON.stringify(result, null, 2));
console.log(`wrote ${file}`);
