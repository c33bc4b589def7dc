/**
 * The trace data the comparison draws from (data/traces/): tenant GPU requests (Alibaba openb pods), tenant run
 * times (Microsoft Philly) and the per-step spread of worker times in a shared cluster (Alibaba PAI).
 * @module
 */
import { parse } from 'csv-parse/sync';
import type { CompareData } from '../breakpoint/compare.js';
import { traceCovValues } from '../breakpoint/effects.js';
import { tenantMix } from '../breakpoint/tenants.js';
import { readTextFile } from './files.js';
import { readTracePods } from './traces.js';

const DATA = new URL('../../data/traces/', import.meta.url);

/** Reads the default trace data shipped in data/traces/. */
export async function loadCompareData(): Promise<CompareData> {
  const pods = await readTracePods(new URL('alibaba-openb-v2023/openb_pod_list_default.csv', DATA).pathname);
  const philly = parse(await readTextFile(new URL('philly-runtime.csv', DATA).pathname), { columns: true }) as {
    runtime: string;
  }[];
  const cov = parse(await readTextFile(new URL('alibaba-pai-v2020-minibatch-cov.csv', DATA).pathname)) as string[][];
  const values = traceCovValues(cov);
  return {
    tenants: tenantMix(
      pods,
      philly.map((row) => Number(row.runtime)),
    ),
    interferenceCov: values[values.length >> 1] ?? 0,
  };
}
