/**
 * Both GPU exporter dialects on every fixture the team keeps: DataDog's dcgm-exporter captures
 * (../shared/data/telemetry/dcgm/datadog/, BSD-3-Clause) and nvidia_gpu_exporter's golden outputs
 * (../shared/data/telemetry/nvidia-smi/testdata/*.metrics, MIT). None is part of Tokenworks; the figures below were
 * read by hand from the files (`grep nvidia_smi_power_draw_watts …`).
 */
import { readdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { gpuPointsOf } from './dcgm.js';
import { aggregateGpuPoints, gpuKpis } from './gpu-kpis.js';
import { gpuFieldOf, NVIDIA_SMI_FIELDS, normaliseGpuScrape, nvidiaSmiNamesOf } from './nvidia-smi.js';

const TELEMETRY = fileURLToPath(new URL('../../../shared/data/telemetry/', import.meta.url));
const read = (path: string) => readFileSync(`${TELEMETRY}${path}`, 'utf8');
const MASKED = '/00000000-0000-0000-0000-000000000000';

describe('the nvidia_smi_* mapping', () => {
  it('converts units to dcgm-exporter’s: ratio → %, Hz → MHz, bytes → MiB', () => {
    const scrape = normaliseGpuScrape(
      [
        'nvidia_smi_utilization_gpu_ratio{uuid="u1"} 0.97',
        'nvidia_smi_clocks_current_sm_clock_hz{uuid="u1"} 1.98e+09',
        'nvidia_smi_memory_used_bytes{uuid="u1"} 2.097152e+07',
        'nvidia_smi_power_draw_watts{uuid="u1"} 631.95',
        'nvidia_smi_clocks_event_reasons_active{uuid="u1"} 4',
        'nvidia_smi_pcie_link_gen_current{uuid="u1"} 5',
        'nvidia_smi_command_exit_code 0',
        'node_load1 0.5',
      ].join('\n'),
    );
    expect(scrape.malformed).toEqual([]);
    const values = Object.fromEntries(scrape.samples.map((s) => [s.field, s.value]));
    expect(values.DCGM_FI_DEV_GPU_UTIL).toBeCloseTo(97, 12);
    expect(values.DCGM_FI_DEV_SM_CLOCK).toBeCloseTo(1980, 9);
    expect(values.DCGM_FI_DEV_FB_USED).toBe(20);
    expect(values.DCGM_FI_DEV_POWER_USAGE).toBe(631.95);
    expect(values.DCGM_FI_DEV_CLOCKS_EVENT_REASONS).toBe(4);
    expect(scrape.samples.every((s) => s.gpuKey === '/u1')).toBe(true);
    expect(scrape.unmapped.map((s) => s.name)).toEqual([
      'nvidia_smi_pcie_link_gen_current',
      'nvidia_smi_command_exit_code',
    ]);
    expect(scrape.foreign.map((s) => s.name)).toEqual(['node_load1']);
  });

  it('names both dialects of a field, and every mapping targets a DCGM_FI_ field', () => {
    expect(nvidiaSmiNamesOf('DCGM_FI_DEV_POWER_USAGE')).toEqual(['nvidia_smi_power_draw_watts']);
    expect(gpuFieldOf('dcgm_power_usage')).toEqual({ field: 'DCGM_FI_DEV_POWER_USAGE', scale: 1 });
    expect(gpuFieldOf('nvidia_smi_utilization_gpu_ratio')).toEqual({ field: 'DCGM_FI_DEV_GPU_UTIL', scale: 100 });
    expect(gpuFieldOf('up')).toBeUndefined();
    for (const mapping of Object.values(NVIDIA_SMI_FIELDS)) expect(mapping.field).toMatch(/^DCGM_FI_DEV_/);
  });
});

describe('every dcgm and nvidia-smi fixture parses with no malformed line and yields its GPUs', () => {
  const dcgm: [string, string[], number][] = [
    // file, GPU keys, samples attributed to a GPU (the 14 unlabelled dummies of metrics.txt are not).
    [
      'dcgm/datadog/metrics.txt',
      [
        '424773df46e0/GPU-20c56d28-0da5-6d26-a36a-e7af1ce2586e',
        '551bdf382151/GPU-9ef1b6d0-3643-5dd7-b823-c0ec20dcf2d5',
        'ip-11111/GPU-abc',
      ],
      24,
    ],
    [
      'dcgm/datadog/serve-metrics',
      [
        '424773df46e0/GPU-20c56d28-0da5-6d26-a36a-e7af1ce2586e',
        '551bdf382151/GPU-9ef1b6d0-3643-5dd7-b823-c0ec20dcf2d5',
      ],
      23,
    ],
    ['dcgm/datadog/label_remap.txt', ['424773df46e0/GPU-20c56d28-0da5-6d26-a36a-e7af1ce2586e'], 1],
  ];
  it.each(dcgm)('%s', (file, gpus, samples) => {
    const scrape = normaliseGpuScrape(read(file));
    expect(scrape.malformed).toEqual([]);
    expect([...scrape.gpus.keys()]).toEqual(gpus);
    expect(scrape.samples).toHaveLength(samples);
  });

  // power W, SM clock MHz, GPU_UTIL % (absent on MIG, where nvidia-smi reports [N/A]), clock-event bitmask.
  const smi: Record<string, [number, number, number | undefined, number, string]> = {
    'h100-80gb-hbm3__590.48.01__idle': [69.85, 345, 0, 1, 'NVIDIA H100 80GB HBM3'],
    'h100-80gb-hbm3__590.48.01__load': [631.95, 1980, 100, 0, 'NVIDIA H100 80GB HBM3'],
    'h100-mig__590.48.01__idle': [71.15, 345, undefined, 1, 'NVIDIA H100 80GB HBM3'],
    'h100-mig__590.48.01__load': [433.78, 1980, undefined, 0, 'NVIDIA H100 80GB HBM3'],
    'h200-mig__590.48.01__idle': [78.28, 345, undefined, 1, 'NVIDIA H200'],
    'h200-mig__590.48.01__load': [295.01, 1980, undefined, 0, 'NVIDIA H200'],
    'h200__590.48.01__idle': [77.71, 345, 0, 1, 'NVIDIA H200'],
    'h200__590.48.01__load': [627.4, 1980, 100, 0, 'NVIDIA H200'],
  };
  const files = readdirSync(`${TELEMETRY}nvidia-smi/testdata`).filter((f) => f.endsWith('.metrics'));

  it('covers all eight nvidia-smi golden files', () => {
    expect(files.map((f) => f.replace(/^linux-x86_64__nvidia-|\.metrics$/g, '')).sort()).toEqual(
      Object.keys(smi).sort(),
    );
  });

  it.each(files)('%s', (file) => {
    const [power, smClock, util, reasons, model] = smi[file.replace(/^linux-x86_64__nvidia-|\.metrics$/g, '')] ?? [];
    const scrape = normaliseGpuScrape(read(`nvidia-smi/testdata/${file}`));
    expect(scrape.malformed).toEqual([]);
    expect([...scrape.gpus.keys()]).toEqual([MASKED]);
    expect(scrape.gpus.get(MASKED)).toMatchObject({ modelName: model, gpu: '0' });
    const value = (field: string) => scrape.samples.find((s) => s.field === field)?.value;
    expect(value('DCGM_FI_DEV_POWER_USAGE')).toBe(power);
    expect(value('DCGM_FI_DEV_SM_CLOCK')).toBeCloseTo(smClock as number, 9);
    if (util === undefined) expect(value('DCGM_FI_DEV_GPU_UTIL')).toBeUndefined();
    else expect(value('DCGM_FI_DEV_GPU_UTIL')).toBeCloseTo(util, 12);
    expect(value('DCGM_FI_DEV_CLOCKS_EVENT_REASONS')).toBe(reasons);
    // The KPIs read the file too: one GPU, its power, utilisation as a ratio, idle is not throttling.
    const kpis = gpuKpis(aggregateGpuPoints(gpuPointsOf(scrape, 0)));
    expect(kpis.counts.gpus).toBe(1);
    expect(kpis.power?.itMeanW).toBe(power);
    expect(kpis.throttle?.share).toBe(0);
    if (util !== undefined) expect(kpis.utilisation.primary?.mean).toBeCloseTo(util / 100, 12);
  });
});
