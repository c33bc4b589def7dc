import { describe, expect, it } from 'vitest';
import { TRACE_FIGURES } from '../catalog/trace-figures.js';
import { ReplicaStreams } from '../sim/index.js';
import { type ClusterJob, runCluster } from './cluster.js';
import { DEFAULT_COMPARE_DATA } from './default-data.js';
import { flagshipStart, TenantCluster, tenantJobs, tenantMix, tenantTable } from './tenants.js';
import type { TraceNode } from './trace.js';
import { podsFromRecords } from './trace.js';

const nodes = (count: number): TraceNode[] =>
  Array.from({ length: count }, (_, i) => ({ name: `n${i}`, gpus: 8, gpuModel: 'h100', cpuMilli: 0, memoryMiB: 0 }));
const tenant = (name: string, arrival: number, duration: number, gpus: number): ClusterJob => ({
  name,
  arrival,
  duration,
  cpuMilli: 0,
  memoryMiB: 0,
  gpus,
  gpuMilli: 1000,
  gpuModels: [],
});

describe('tenant jobs', () => {
  it('offer the target utilisation from the first second (Little: busy GPUs = λ·E[GPUs]·E[run time])', () => {
    // A mix with known moments: 1 or 3 GPUs (mean 2), 100 s or 1,900 s (mean 1,000 s, heavily length-biased).
    const mix = { gpuRequests: [1, 3], durations: [100, 1900] };
    const stream = new ReplicaStreams(3, 0).stream(0);
    const jobs = tenantJobs(mix, { clusterGpus: 8192, utilisation: 0.5, from: 0, to: 7200, stream });
    // The cluster is large enough never to queue (mean 4,096 busy GPUs of 8,192 ± about 2%).
    const run = runCluster(nodes(1024), jobs, { policy: 'fifo', until: 7200 });
    expect(run.starts.every((start, i) => start === jobs[i]?.arrival)).toBe(true);
    expect(Math.abs(run.allocation.meanGpus / 4096 - 1)).toBeLessThan(0.08);
    // Arrivals: λ = 0.5 · 8192 / (2 · 1000) = 2.048 per second; about 2,048 running at the start.
    const arriving = jobs.filter((j) => j.arrival > 0).length;
    expect(Math.abs(arriving / (2.048 * 7200) - 1)).toBeLessThan(0.05);
    // The jobs running at the start have the equilibrium residual life E[d²] / (2E[d]) =
    // ((100² + 1900²) / 2) / 2000 = 905 s (length-biased durations, a uniform share left), not E[d]/2 = 500 s.
    const initial = jobs.filter((j) => j.arrival === 0);
    expect(Math.abs(initial.length / 2048 - 1)).toBeLessThan(0.1);
    const residual = initial.reduce((sum, j) => sum + j.duration, 0) / initial.length;
    expect(Math.abs(residual / 905 - 1)).toBeLessThan(0.05);
  });
});

describe('the flagship gang in a shared cluster (the queueing effect)', () => {
  // Four 8-GPU nodes. Tenants: 8 GPUs on each node, ending at 100, 200, 300 and 400 s; one more 8-GPU tenant
  // arrives at 60 s. The flagship, a 2-node gang, arrives at 50 s and holds its nodes for 1,000 s.
  const cluster = nodes(4);
  const tenants = [
    tenant('a', 0, 100, 8),
    tenant('b', 0, 200, 8),
    tenant('c', 0, 300, 8),
    tenant('d', 0, 400, 8),
    tenant('e', 60, 50, 8),
  ];
  const flagship = { arrival: 50, gangNodes: 2, holdSeconds: 1000 };

  it('FIFO: the gang waits for two nodes to drain, and the tenant behind it waits for the gang', () => {
    const result = flagshipStart(cluster, tenants, flagship, { policy: 'fifo', horizon: 5000 });
    // Nodes free at 100 and 200: the gang starts at 200, 150 s after it arrived, on 2 nodes of one leaf.
    expect(result.waitSeconds).toBe(150);
    expect(result.placement?.leaves).toBe(1);
    // Tenant e (60 s) waits behind the gang until the next node frees, at 300 s: 240 s; without the flagship
    // it takes the node freed at 100 s: 40 s.
    expect(result.tenantWait.withFlagship).toBe(240);
    expect(result.tenantWait.withoutFlagship).toBe(40);
  });

  it('backfill: the tenant slips in ahead and, here, the gang starts no later', () => {
    const result = flagshipStart(cluster, tenants, flagship, { policy: 'backfill', horizon: 5000 });
    // e takes the node freed at 100 s (until 150); nodes are next both idle at 200 s (the 150 s one and b's).
    expect(result.waitSeconds).toBe(150);
    expect(result.tenantWait.withFlagship).toBe(40);
    expect(result.tenantWait.withoutFlagship).toBe(40);
  });
});

describe('tenant queueing against published shared clusters (AcmeTrace cluster summary)', () => {
  it('puts the median wait inside the published medians; the means are not reproduced (see docs)', () => {
    // The published figures, as derived from AcmeTrace's cluster_summary.csv (test/trace-figures.test.ts checks them).
    const clusters = TRACE_FIGURES.acme.clusters;
    const medians = clusters.map((c) => c.medianQueueSeconds);
    const means = clusters.map((c) => c.meanQueueSeconds);
    // Seren 1 s, Kalos 17, Philly 189, Helios 0, PAI 9; means 214 to 3,761 s.
    expect(Math.min(...medians)).toBe(0);
    expect(Math.max(...medians)).toBe(189);
    // The comparison's own tenant mix: the openb GPU-request histogram and the Philly run-time bins.
    const mix = DEFAULT_COMPARE_DATA.tenants;
    const stream = new ReplicaStreams(5, 0).stream(0);
    const jobs = tenantJobs(mix, { clusterGpus: 4096, utilisation: 0.8, from: 0, to: 6 * 3600, stream });
    const run = runCluster(nodes(512), jobs, { policy: 'fifo', until: 6 * 3600 });
    const waits = jobs
      .map((j, i) => (run.starts[i] ?? 6 * 3600) - j.arrival)
      .filter((_, i) => (jobs[i]?.arrival ?? 0) > 0)
      .sort((a, b) => a - b);
    const medianWait = waits[waits.length >> 1] as number;
    expect(medianWait).toBeGreaterThanOrEqual(Math.min(...medians));
    expect(medianWait).toBeLessThanOrEqual(Math.max(...medians));
    // Poisson arrivals without quotas or bursts queue far less than real clusters on average.
    const meanWait = waits.reduce((a, b) => a + b, 0) / waits.length;
    expect(meanWait).toBeLessThan(Math.min(...means));
  });

  it('builds the same mix from the raw traces (../shared/data/traces/) as from the derived figures', async () => {
    const { readFileSync } = await import('node:fs');
    const { parse } = await import('csv-parse/sync');
    const read = (file: string) =>
      parse(readFileSync(new URL(`../../../shared/data/traces/${file}`, import.meta.url), 'utf8'), {
        columns: true,
      }) as Record<string, string>[];
    const pods = podsFromRecords(read('alibaba-openb-v2023/openb_pod_list_default.csv'));
    if (!pods.ok) throw new Error('pods');
    const mix = tenantMix(
      pods.value,
      read('philly/philly_runtime.csv').map((r) => Number(r.runtime)),
    );
    expect(mix).toEqual(DEFAULT_COMPARE_DATA.tenants);
  });
});

describe('the tenant load as columns', () => {
  it('draws the jobs of tenantJobs, and a cluster of it answers as one of the job objects', () => {
    const mix = { gpuRequests: [1, 1, 2, 4, 8], durations: [60, 600, 3000, 20000] };
    const load = (seed: number) => ({
      clusterGpus: 512,
      utilisation: 0.9,
      from: 0,
      to: 4 * 3600,
      stream: new ReplicaStreams(seed, 0).stream(0),
    });
    const table = tenantTable(mix, load(11));
    const jobs = tenantJobs(mix, load(11));
    expect(jobs.map((j) => [j.arrival, j.duration, j.gpus])).toEqual(
      Array.from({ length: table.count }, (_, i) => [table.arrival[i], table.duration[i], table.gpus[i]]),
    );
    const flagship = { arrival: 3600, gangNodes: 20, holdSeconds: 86400 };
    const options = { policy: 'fifo' as const, horizon: 10 * 86400, nodesPerLeaf: 8 };
    const cluster = new TenantCluster(nodes(64), table, 3600, options);
    expect(cluster.flagship(flagship)).toEqual(flagshipStart(nodes(64), jobs, flagship, options));
    expect(cluster.waitSeconds({ ...flagship, gangNodes: 1 })).toBe(
      flagshipStart(nodes(64), jobs, { ...flagship, gangNodes: 1 }, options).waitSeconds,
    );
  });
});
