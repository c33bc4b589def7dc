/**
 * The figures derived from public cluster traces (src/catalog/trace-figures.ts) against the raw traces in the
 * team's copy (../shared/data/traces/, not part of Tokenworks): the generated module must be what
 * scripts/derive-trace-figures.ts derives, so it cannot drift from its script. And `compare --trace-pods` /
 * `--trace-runtimes`, which replace the default figures with a user's own traces.
 */
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { beforeAll, describe, expect, it } from 'vitest';
import { DEFAULT_COMPARE_DATA } from '../src/breakpoint/default-data.js';
import { traceCovValues } from '../src/breakpoint/effects.js';
import { deriveTraceFigures, type RawTraces, runtimeBins } from '../src/breakpoint/figures.js';
import { TRACE_FIGURES } from '../src/catalog/trace-figures.js';
import { loadCompareData } from '../src/node/compare-data.js';
import { readCsvRecords, readCsvRows, readTraceNodes, readTracePods, readTraceRuntimes } from '../src/node/traces.js';
import { run } from './run-cli.js';

const TRACES = fileURLToPath(new URL('../../shared/data/traces/', import.meta.url));
const PODS = join(TRACES, 'alibaba-openb-v2023/openb_pod_list_default.csv');
const RUNTIMES = join(TRACES, 'philly/philly_runtime.csv');

let raw: RawTraces;
beforeAll(async () => {
  raw = {
    pods: await readTracePods(PODS),
    nodes: await readTraceNodes(join(TRACES, 'alibaba-openb-v2023/openb_node_list_all_node.csv')),
    runtimes: await readTraceRuntimes(RUNTIMES),
    covRows: await readCsvRows(join(TRACES, 'alibaba-pai-v2020/minibatch_time_coefficient_variation.csv')),
    acmeRecords: await readCsvRecords(join(TRACES, 'acme/cluster_summary.csv')),
  };
});

describe('src/catalog/trace-figures.ts', () => {
  it('is what scripts/derive-trace-figures.ts derives from the shared traces', () => {
    expect(TRACE_FIGURES).toEqual(deriveTraceFigures(raw));
  });

  it('has the GPU-request histogram of the GPU pods the tenant mix used to draw from', () => {
    const requests = raw.pods.filter((p) => p.gpus >= 1).map((p) => p.gpus);
    const counts = new Map<number, number>();
    for (const g of requests) counts.set(g, (counts.get(g) ?? 0) + 1);
    expect(Object.fromEntries(TRACE_FIGURES.openbPods.gpuRequests.map((h) => [h.gpus, h.pods]))).toEqual(
      Object.fromEntries(counts),
    );
    expect(TRACE_FIGURES.openbPods.gpuPods).toBe(7064);
    expect(DEFAULT_COMPARE_DATA.tenants.gpuRequests).toEqual([...requests].sort((a, b) => a - b));
    // Shares of one GPU (counted as one GPU above) and GPU-model constraints (none in this list), as documented.
    expect(TRACE_FIGURES.openbPods.sharedRequests).toBe(
      raw.pods.filter((p) => p.gpus === 1 && p.gpuMilli < 1000).length,
    );
    expect(TRACE_FIGURES.openbPods.gpuModelConstraints).toEqual({ any: 7064 });
  });

  it("keeps Philly's mean run time in 1,000 equal-probability bins (Little's law sets the arrival rate from it)", () => {
    const kept = raw.runtimes.filter((r) => r > 0);
    const philly = kept.reduce((a, b) => a + b, 0) / kept.length;
    const bins = TRACE_FIGURES.phillyRuntimes.bins;
    expect(bins.length).toBe(1000);
    expect(kept.length).toBe(83152);
    const binned = bins.reduce((a, b) => a + b, 0) / bins.length;
    expect(Math.abs(binned / philly - 1)).toBeLessThan(1e-9);
    expect([...bins].sort((a, b) => a - b)).toEqual(bins);
    expect(DEFAULT_COMPARE_DATA.tenants.durations).toEqual(bins);
    // The documented shape: median 1,186 s, mean 14,614 s, P99 3.3 days.
    expect(TRACE_FIGURES.phillyRuntimes.medianSeconds).toBe(1186);
    expect(Math.round(TRACE_FIGURES.phillyRuntimes.meanSeconds)).toBe(14614);
    expect(TRACE_FIGURES.phillyRuntimes.p99Seconds / 86400).toBeCloseTo(3.3, 1);
  });

  it('has the median CoV the comparison used from the raw PAI trace, and its percentiles', () => {
    const values = traceCovValues(raw.covRows);
    expect(TRACE_FIGURES.paiCov.median).toBe(values[values.length >> 1]);
    expect(DEFAULT_COMPARE_DATA.interferenceCov).toBe(values[values.length >> 1]);
    expect(TRACE_FIGURES.paiCov.median).toBeCloseTo(0.0935, 3);
    const percentiles = TRACE_FIGURES.paiCov.percentiles;
    expect(percentiles.length).toBe(101);
    expect(percentiles[0]).toBe(values[0]);
    expect(percentiles[100]).toBeCloseTo(values[values.length - 1] as number, 6);
    expect(Math.abs((percentiles[50] as number) - TRACE_FIGURES.paiCov.median)).toBeLessThan(1e-5);
  });

  it('has the AcmeTrace queueing figures the tenant check uses', () => {
    const byName = Object.fromEntries(TRACE_FIGURES.acme.clusters.map((c) => [c.name, c]));
    expect(Object.keys(byName)).toEqual(['Seren', 'Kalos', 'Philly', 'Helios', 'PAI']);
    expect(TRACE_FIGURES.acme.clusters.map((c) => c.medianQueueSeconds)).toEqual([1, 17, 189, 0, 9]);
    expect(byName.Kalos?.meanQueueSeconds).toBe(214.179);
  });

  it('cites a trace, and the licence where it has one, in every block', () => {
    for (const block of Object.values(TRACE_FIGURES)) expect(block.source).toMatch(/et al\., USENIX/);
    for (const block of [TRACE_FIGURES.openbPods, TRACE_FIGURES.phillyRuntimes, TRACE_FIGURES.paiCov]) {
      expect(block.source).toContain('CC BY 4.0');
    }
  });
});

describe('equal-probability run-time bins', () => {
  it('split a value between two bins where the count is not a multiple of the bins', () => {
    // 3 values in 2 bins: bin 0 holds 1 and half of 2, bin 1 the other half of 2 and 3.
    expect(runtimeBins([3, 1, 2], 2)).toEqual(
      [(1 + 0.5 * 2) / 1.5, (0.5 * 2 + 3) / 1.5].map((v) => Math.round(v * 1e6) / 1e6),
    );
    // No more values than bins: the values themselves, sorted, without the zeros.
    expect(runtimeBins([5, 0, 2], 4)).toEqual([2, 5]);
  });
});

describe('compare --trace-pods / --trace-runtimes', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'tokenworks-traces-'));
  });

  it('reproduce the default data when pointed at the shared traces it was derived from', async () => {
    expect(await loadCompareData({ tracePods: PODS, traceRuntimes: RUNTIMES })).toEqual(DEFAULT_COMPARE_DATA);
    expect(await loadCompareData()).toBe(DEFAULT_COMPARE_DATA);
  });

  it("replace the default requests and run times with a user's own", async () => {
    const pods = join(dir, 'pods.csv');
    await writeFile(
      pods,
      'name,cpu_milli,memory_mib,num_gpu,gpu_milli,gpu_spec,qos,pod_phase,creation_time,deletion_time,scheduled_time\n' +
        'a,1000,1024,8,1000,,LS,Running,0,10,0\nb,1000,1024,0,0,,LS,Running,0,10,0\nc,1000,1024,4,1000,,LS,Running,0,10,0\n',
    );
    // Long, large jobs keep the shared cluster's tenant count (and the run) small.
    const runtimes = join(dir, 'runtimes.csv');
    await writeFile(runtimes, 'runtime\n200000\n0\n100000\n');
    const data = await loadCompareData({ tracePods: pods, traceRuntimes: runtimes });
    expect(data.tenants).toEqual({ gpuRequests: [4, 8], durations: [100000, 200000] });
    expect(data.interferenceCov).toBe(DEFAULT_COMPARE_DATA.interferenceCov);
    const only = await loadCompareData({ traceRuntimes: runtimes });
    expect(only.tenants.gpuRequests).toBe(DEFAULT_COMPARE_DATA.tenants.gpuRequests);
    const result = await run(
      'compare',
      'examples/breakpoint.yaml',
      '--sweep',
      '64',
      '--threads',
      '1',
      '--replicas',
      '1',
      '--trace-pods',
      pods,
      '--trace-runtimes',
      runtimes,
      '--json',
    );
    expect(result.code, result.stderr).toBe(0);
    const out = JSON.parse(result.stdout);
    expect(out.settings.join('\n')).toContain(`${pods} requests, ${runtimes} run times`);
  }, 120_000);

  it('are user errors (exit 2) that name the file', async () => {
    const missing = join(dir, 'missing.csv');
    const absent = await run('compare', 'examples/breakpoint.yaml', '--trace-pods', missing);
    expect(absent.code).toBe(2);
    expect(absent.stderr).toContain(missing);
    const bad = join(dir, 'bad-runtimes.csv');
    await writeFile(bad, 'runtime\n600\nlong\n');
    const malformed = await run('compare', 'examples/breakpoint.yaml', '--trace-runtimes', bad);
    expect(malformed.code).toBe(2);
    expect(malformed.stderr).toContain(bad);
    expect(malformed.stderr).toContain('bad-runtimes.csv:3.runtime');
    const noColumn = join(dir, 'no-column.csv');
    await writeFile(noColumn, 'seconds\n600\n');
    const wrong = await run('compare', 'examples/breakpoint.yaml', '--trace-runtimes', noColumn);
    expect(wrong.code).toBe(2);
    expect(wrong.stderr).toContain(noColumn);
    const cpuOnly = join(dir, 'cpu-pods.csv');
    await writeFile(
      cpuOnly,
      'name,cpu_milli,memory_mib,num_gpu,gpu_milli,creation_time,deletion_time\nb,1000,1024,0,0,0,10\n',
    );
    const none = await run('compare', 'examples/breakpoint.yaml', '--trace-pods', cpuOnly);
    expect(none.code).toBe(2);
    expect(none.stderr).toContain(`${cpuOnly}: no pod asks for a GPU`);
  });
});
