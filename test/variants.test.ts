import { readFile } from 'node:fs/promises';
import { describe, expect, it } from 'vitest';
import { findAccelerator } from '../src/catalog/index.js';
import { type PublishedRun, PublishedRunSchema, scenarioFromRun } from '../src/validation/runs.js';
import { statedPeakMemoryGiB, validateRuns } from '../src/validation/validate.js';

const base = async (): Promise<Record<string, unknown>> => {
  const runs = JSON.parse(await readFile('data/calibration/published-runs.pytorch.json', 'utf8')) as {
    id: string;
  }[];
  const run = runs.find((candidate) => candidate.id === 'torchtitan-t3-8b-128gpu-fsdp');
  if (!run) throw new Error('torchtitan row missing');
  return run;
};

function acceleratorOf(row: Record<string, unknown>) {
  const scenario = scenarioFromRun(PublishedRunSchema.parse(row) as PublishedRun);
  if (!scenario.ok) return { reason: scenario.reason };
  const accelerator = scenario.spec.system.accelerator;
  return { id: accelerator.id, powerLimitW: accelerator.powerLimitW };
}

describe('GPU variants in the catalog', () => {
  it.each([
    ['a100-sxm-40gb', 40, 1555, 400],
    ['h100-sxm-96gb', 96, 2400, 700],
    ['h100-pcie', 80, 2000, 350],
    ['h100-nvl', 94, 3900, 400],
    ['h200-sxm', 141, 4800, 700],
  ])('%s: %i GiB, %i GB/s, %i W, every figure sourced', (id, hbm, bandwidth, tdp) => {
    const found = findAccelerator(id);
    if (!found.found) throw new Error(`${id} missing`);
    expect(found.entry.hbmCapacityGiB.value).toBe(hbm);
    expect(found.entry.hbmBandwidthGBps.value).toBe(bandwidth);
    expect(found.entry.tdpW?.value).toBe(tdp);
    expect(found.entry.peakTflops.bf16.source.length).toBeGreaterThan(10);
  });

  it('H100 NVL and PCIe peaks are the dense halves of the sparse datasheet figures', () => {
    const bf16 = (id: string) => {
      const found = findAccelerator(id);
      return found.found ? found.entry.peakTflops.bf16.value : Number.NaN;
    };
    expect(bf16('h100-nvl')).toBe(1671 / 2);
    expect(bf16('h100-pcie')).toBe(756);
  });
});

describe('validate reads the variant by name, form factor and HBM', () => {
  it.each([
    ['A100 SXM4 40GB', 40, 'a100-sxm-40gb'],
    ['A100 80GB', 80, 'a100-sxm-80gb'],
    ['H100 (96GB HBM2e, 500W power limit)', 96, 'h100-sxm-96gb'],
    ['H100 SXM5 80GB', 80, 'h100-sxm'],
    ['H100 PCIe 80GB', 80, 'h100-pcie'],
    ['H100 NVL 94GB', 94, 'h100-nvl'],
    ['H200 SXM 141GB', 141, 'h200-sxm'],
  ])('"%s" (%i GB) is %s', async (gpuType, memory, id) => {
    const row = { ...(await base()), gpu_type: gpuType, gpu_memory_gb: memory };
    expect(acceleratorOf(row).id).toBe(id);
  });

  it('the row power limit becomes the cap below the TDP; none stated, none applied', async () => {
    const row = await base();
    expect(acceleratorOf(row)).toEqual({ id: 'h100-sxm-96gb', powerLimitW: 500 });
    const uncapped = { ...row, gpu_type: 'H100 (96GB HBM2e)' };
    expect(acceleratorOf(uncapped)).toEqual({ id: 'h100-sxm-96gb', powerLimitW: undefined });
  });

  it('a variant still missing is listed, not moved onto another part', async () => {
    const row = { ...(await base()), gpu_type: 'H100 PCIe 96GB', gpu_memory_gb: 96 };
    expect(acceleratorOf(row).reason).toMatch(/GPU variant H100 PCIe 96 GB .* is not in the catalog/);
  });
});

describe('peak memory against the rows that state it', () => {
  it('reads "Peak memory N GiB" from the notes (GB as 10^9 bytes)', () => {
    expect(statedPeakMemoryGiB({ notes: 'Techniques: FSDP. Peak memory 82.4 GiB.' })).toBe(82.4);
    expect(statedPeakMemoryGiB({ notes: 'peak memory of 80 GB' })).toBeCloseTo(80e9 / 2 ** 30, 9);
    expect(statedPeakMemoryGiB({ notes: 'MFU 39%' })).toBeUndefined();
    expect(statedPeakMemoryGiB({})).toBeUndefined();
  });

  it('validate reports the error on every torchtitan row, out-of-memory predictions included', async () => {
    const runs = JSON.parse(await readFile('data/calibration/published-runs.pytorch.json', 'utf8')) as {
      id: string;
    }[];
    const report = validateRuns(runs, {}, 'pytorch');
    const stating = runs.filter((run) => statedPeakMemoryGiB(run as { notes?: string }) !== undefined);
    expect(stating.length).toBe(18);
    expect(report.peakMemory?.rows).toBe(stating.length);
    const row = report.rows.find((candidate) => candidate.peakMemory !== undefined);
    if (!row?.peakMemory) throw new Error('a row with peak memory expected');
    // torchtitan logs the allocator's reserved peak: the modelled total less the 1.5 GiB of buffers and the 3% of
    // the 96 GiB kept for the CUDA context, which lie outside the allocator (src/perf/memory.ts).
    expect(row.memoryGiB - row.peakMemory.predictedGiB).toBeCloseTo(1.5 + 0.03 * 96, 9);
    expect(row.peakMemory.error).toBeCloseTo(row.peakMemory.predictedGiB / row.peakMemory.statedGiB - 1, 12);
    // Runs without a stated peak memory get no peak-memory summary.
    const megatron = JSON.parse(await readFile('data/calibration/published-runs.calibration.json', 'utf8'));
    expect(validateRuns(megatron.slice(0, 5), {}, 'megatron').peakMemory).toBeUndefined();
  });
});
