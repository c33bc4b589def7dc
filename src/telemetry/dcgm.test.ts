/**
 * dcgm-exporter normalisation on hand-written samples and on the team's copies of DataDog's dcgm fixtures and
 * NVIDIA/dcgm-exporter's metric lists (../shared/data/telemetry/dcgm/, BSD-3-Clause and Apache-2.0; not part of
 * Tokenworks). Figures read by hand from metrics.txt are named with their line.
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { DCGM_1X_NAMES, dcgmFieldName, normaliseDcgm } from './dcgm.js';

const DCGM = fileURLToPath(new URL('../../../shared/data/telemetry/dcgm/', import.meta.url));
const readShared = (path: string) => readFileSync(`${DCGM}${path}`, 'utf8');

/** The field names of a dcgm-exporter CSV, enabled and commented-out lines alike (`# name, type, help`). */
const csvFields = (text: string) =>
  text
    .split('\n')
    .map((line) =>
      line
        .replace(/^#\s*/, '')
        .split(',')
        .map((field) => field.trim()),
    )
    .filter((fields) => fields.length >= 3 && /^(dcgm|DCGM)_\w+$/.test(fields[0] ?? ''))
    .map((fields) => fields[0] as string);

describe('dcgmFieldName and the 1.x table', () => {
  it('covers every name of 1.x-compatibility-metrics.csv, each mapped to a field of default-counters.csv', () => {
    const old = csvFields(readShared('dcgm-exporter/1.x-compatibility-metrics.csv'));
    // 22 enabled lines and 19 commented-out ones; the two PCIe names appear twice.
    expect(old).toHaveLength(41);
    const current = new Set(csvFields(readShared('dcgm-exporter/default-counters.csv')));
    for (const name of old) {
      expect(DCGM_1X_NAMES[name], name).toBeDefined();
      expect(current.has(DCGM_1X_NAMES[name] as string), `${name} -> ${DCGM_1X_NAMES[name]}`).toBe(true);
    }
    // No entry of the table that the CSV does not list.
    expect(Object.keys(DCGM_1X_NAMES).sort()).toEqual([...new Set(old)].sort());
  });

  it('keeps current names, maps old ones, refuses others', () => {
    expect(dcgmFieldName('DCGM_FI_DEV_SM_CLOCK')).toBe('DCGM_FI_DEV_SM_CLOCK');
    expect(dcgmFieldName('DCGM_EXP_XID_ERRORS_COUNT')).toBe('DCGM_EXP_XID_ERRORS_COUNT');
    expect(dcgmFieldName('dcgm_gpu_utilization')).toBe('DCGM_FI_DEV_GPU_UTIL');
    expect(dcgmFieldName('dcgm_fi_prof_nvlink_tx_bytes')).toBe('DCGM_FI_PROF_NVLINK_TX_BYTES');
    expect(dcgmFieldName('nvidia_smi_power_draw_watts')).toBeUndefined();
    expect(dcgmFieldName('up')).toBeUndefined();
  });
});

describe('normaliseDcgm on hand-written samples', () => {
  it('treats label spellings as one, prefers exported_* and keeps the rest as attributes', () => {
    const scrape = normaliseDcgm(
      [
        'DCGM_FI_DEV_GPU_UTIL{gpu="1",UUID="GPU-a",Hostname="n1",modelName="NVIDIA H100",pod="dcgm-exporter-x",exported_pod="train-0",exported_namespace="ml",DCGM_FI_DRIVER_VERSION="550"} 97',
        'dcgm_gpu_utilization{gpu="1",uuid="GPU-a",hostname="n1"} 95',
        'DCGM_FI_DEV_NVLINK_BANDWIDTH_TOTAL{gpu="1",gpu_uuid="GPU-a",model_name="NVIDIA H100",hostname="n1",nvlink="3"} 5',
        'DCGM_FI_DEV_FAN_SPEED 0',
        'nvidia_smi_power_draw_watts{uuid="x"} 100',
      ].join('\n'),
    );
    expect(scrape.malformed).toEqual([]);
    expect(scrape.samples.map((sample) => [sample.field, sample.gpuKey, sample.value])).toEqual([
      ['DCGM_FI_DEV_GPU_UTIL', 'n1/GPU-a', 97],
      ['DCGM_FI_DEV_GPU_UTIL', 'n1/GPU-a', 95],
      ['DCGM_FI_DEV_NVLINK_BANDWIDTH_TOTAL', 'n1/GPU-a', 5],
    ]);
    const first = scrape.samples[0];
    expect(first?.workload).toEqual({ pod: 'train-0', namespace: 'ml' });
    expect(first?.attributes).toEqual({ DCGM_FI_DRIVER_VERSION: '550' });
    expect(scrape.samples[1]?.sourceName).toBe('dcgm_gpu_utilization');
    expect(scrape.samples[2]?.attributes).toEqual({ nvlink: '3' });
    expect([...scrape.gpus.entries()]).toEqual([
      ['n1/GPU-a', { gpu: '1', uuid: 'GPU-a', hostname: 'n1', modelName: 'NVIDIA H100' }],
    ]);
    expect(scrape.unattributed.map((sample) => sample.field)).toEqual(['DCGM_FI_DEV_FAN_SPEED']);
    expect(scrape.foreign.map((sample) => sample.name)).toEqual(['nvidia_smi_power_draw_watts']);
  });

  it('keys MIG instances apart and falls back to the index without a UUID', () => {
    const scrape = normaliseDcgm(
      'x_DCGM_FI_DEV_FB_USED 1\nDCGM_FI_DEV_FB_USED{gpu="0",UUID="GPU-b",GPU_I_PROFILE="1g.10gb",GPU_I_ID="7",Hostname="h"} 3\nDCGM_FI_DEV_FB_USED{gpu="2",hostname="h"} 4',
    );
    expect(scrape.samples.map((sample) => sample.gpuKey)).toEqual(['h/GPU-b/mig7', 'h/gpu2']);
    expect(scrape.samples[0]?.gpu).toMatchObject({ migProfile: '1g.10gb', migInstance: '7' });
    expect(scrape.foreign).toHaveLength(1);
  });
});

describe('normaliseDcgm on the DataDog fixtures', () => {
  const scrape = normaliseDcgm(readShared('datadog/metrics.txt'));

  it('parses clean; 14 dummy series reported, not attributed; 24 attributed to three GPUs', () => {
    expect(scrape.malformed).toEqual([]);
    expect(scrape.foreign).toEqual([]);
    expect(scrape.unattributed).toHaveLength(14);
    expect(scrape.unattributed.every((sample) => sample.value === 0)).toBe(true);
    // 16 series of the first T4, 7 of the second, 1 of the A10G: 24 + 14 = 38 samples.
    expect(scrape.samples).toHaveLength(24);
    expect([...scrape.gpus.keys()]).toEqual([
      '424773df46e0/GPU-20c56d28-0da5-6d26-a36a-e7af1ce2586e',
      '551bdf382151/GPU-9ef1b6d0-3643-5dd7-b823-c0ec20dcf2d5',
      'ip-11111/GPU-abc',
    ]);
    const t4 = [...scrape.gpus.values()].filter((gpu) => gpu.modelName === 'Tesla T4');
    expect(t4).toHaveLength(2);
    expect(new Set(t4.map((gpu) => gpu.hostname)).size).toBe(2);
  });

  it('values read by hand from the file', () => {
    const value = (field: string, host: string) =>
      scrape.samples.find((sample) => sample.field === field && sample.gpu.hostname === host)?.value;
    expect(value('DCGM_FI_DEV_SM_CLOCK', '424773df46e0')).toBe(300); // line 3
    expect(value('DCGM_FI_DEV_POWER_USAGE', '424773df46e0')).toBe(8.969); // line 12
    expect(value('DCGM_FI_DEV_TOTAL_ENERGY_CONSUMPTION', '424773df46e0')).toBe(128996013); // line 15
    expect(value('DCGM_FI_DEV_FB_FREE', '424773df46e0')).toBe(15109);
    expect(value('DCGM_FI_DEV_FB_RESERVED', '551bdf382151')).toBe(15109); // a copy of FB_TOTAL (# NOTE)
    expect(value('DCGM_FI_DEV_CLOCK_THROTTLE_REASONS', '551bdf382151')).toBe(1); // bit 0x1: GPU idle
    expect(value('DCGM_FI_PROF_DRAM_ACTIVE', 'ip-11111')).toBe(0.000003);
    const a10g = scrape.samples.find((sample) => sample.gpu.hostname === 'ip-11111');
    expect(a10g?.workload).toEqual({ container: 'ray-worker', namespace: 'ray-llm', pod: 'ray-1111111' });
    expect(a10g?.gpu.modelName).toBe('NVIDIA A10G');
    const driver = scrape.samples[0]?.attributes;
    expect(driver).toEqual({ DCGM_FI_DRIVER_VERSION: '460.106.00', DCGM_FI_PROCESS_NAME: '/usr/bin/dcgm-exporter' });
  });

  it('label_remap.txt: the hand-added Kubernetes labels become the workload', () => {
    const remap = normaliseDcgm(readShared('datadog/label_remap.txt'));
    expect(remap.malformed).toEqual([]);
    expect(remap.samples).toHaveLength(1);
    expect(remap.samples[0]?.workload).toEqual({ namespace: 'foo', pod: 'bar', container: 'baz' });
  });

  it('serve-metrics: the two T4 hosts only, no dummy block', () => {
    const served = normaliseDcgm(readShared('datadog/serve-metrics'));
    expect(served.malformed).toEqual([]);
    expect(served.unattributed).toEqual([]);
    expect(served.samples).toHaveLength(23);
    expect(served.gpus.size).toBe(2);
  });
});
