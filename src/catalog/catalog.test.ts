import { describe, expect, it } from 'vitest';
import { ModelSchema } from '../spec/workload.js';
import { ACCELERATORS } from './accelerators.js';
import { FABRICS } from './fabrics.js';
import { FACILITY_PRESETS } from './facilities.js';
import type { Figure } from './figure.js';
import { findAccelerator, findFabric, findModelPreset } from './index.js';
import { MODEL_PRESETS } from './models.js';

function figuresOf(node: unknown, path = ''): [string, Figure][] {
  if (node === null || typeof node !== 'object') return [];
  if ('value' in node && 'source' in node && 'unit' in node) return [[path, node as Figure]];
  return Object.entries(node).flatMap(([key, child]) => figuresOf(child, `${path}.${key}`));
}

describe('catalog', () => {
  it('has the accelerators the product promises', () => {
    const wanted = ['a100', 'h100', 'h200', 'h800', 'b200', 'gb200', 'b300', 'gb300', 'mi300x', 'mi325x', 'mi355x'];
    for (const id of [...wanted, 'tpu-v5p', 'trillium', 'gaudi3', 'trainium2']) {
      expect(findAccelerator(id).found, id).toBe(true);
    }
  });

  it('every figure has a finite value, a unit and a source', () => {
    const all = [...ACCELERATORS, ...FABRICS, ...FACILITY_PRESETS, ...MODEL_PRESETS].flatMap((entry) =>
      figuresOf(entry),
    );
    expect(all.length).toBeGreaterThan(150);
    for (const [path, figure] of all) {
      expect(Number.isFinite(figure.value), path).toBe(true);
      expect(figure.unit.length, path).toBeGreaterThan(0);
      expect(figure.source.length, path).toBeGreaterThan(5);
    }
  });

  it('ids and aliases are unique', () => {
    for (const entries of [ACCELERATORS, FABRICS, MODEL_PRESETS]) {
      const names = entries.flatMap((entry) => [entry.id, ...entry.aliases]);
      expect(new Set(names).size).toBe(names.length);
    }
  });

  it('peaks are dense: the best measured GEMM stays below the dense peak (a sparse peak would be 2x off)', () => {
    for (const accelerator of ACCELERATORS) {
      for (const precision of ['bf16', 'fp8'] as const) {
        const measured = accelerator.measuredGemmTflops[precision];
        const peak = accelerator.peakTflops[precision];
        if (!measured || !peak) continue;
        const ratio = measured.value / peak.value;
        expect(ratio, `${accelerator.id} ${precision}`).toBeLessThan(1);
        // MAMF runs at 51-87% of dense peak (hardware-catalog.md 1.3); below 50% would mean a sparse peak.
        expect(ratio, `${accelerator.id} ${precision}`).toBeGreaterThan(0.5);
      }
    }
  });

  it('dense peaks match the published datasheet figures (hardware-catalog.md 1.1)', () => {
    const bf16 = (id: string) =>
      (findAccelerator(id) as { entry: (typeof ACCELERATORS)[number] }).entry.peakTflops.bf16.value;
    expect(bf16('a100')).toBe(312);
    expect(bf16('h100')).toBeCloseTo(989.4, 1);
    expect(bf16('b200')).toBe(2250);
    expect(bf16('mi300x')).toBeCloseTo(1307.4, 1);
    expect(bf16('tpu-v5p')).toBe(459);
  });

  it('fabric radixes give the Clos sizes NVIDIA publishes: NDR 2 tiers 2,048, XDR 2 tiers 10,368', () => {
    const radix = (id: string) => (findFabric(id) as { entry: (typeof FABRICS)[number] }).entry.switch.radix.value;
    expect(radix('ndr-ib') ** 2 / 2).toBe(2048);
    expect(radix('xdr-ib') ** 2 / 2).toBe(10368);
  });

  it('the higher-radix Ethernet switches reach SN5600-class sizes: Tomahawk 5 at 128 x 400G, 8,192 on two tiers', () => {
    const entry = (findFabric('th5') as { entry: (typeof FABRICS)[number] }).entry;
    expect(entry.id).toBe('tomahawk5-ethernet');
    expect(entry.switch.radix.value).toBe(128);
    expect(entry.switch.radix.value * entry.linkGbps.value).toBe(entry.switch.capacityTbps.value * 1000);
    expect(entry.switch.radix.value ** 2 / 2).toBe(8192);
    expect(entry.switch.powerW?.source).toMatch(/^https:/);
  });

  it('every model preset is a valid architecture', () => {
    for (const preset of MODEL_PRESETS) {
      expect(ModelSchema.safeParse(preset.model).success, preset.id).toBe(true);
    }
  });

  it('lookups ignore case and separators and suggest near misses', () => {
    expect(findAccelerator('H100_SXM').found).toBe(true);
    expect(findModelPreset('Llama3 70B').found).toBe(true);
    const miss = findAccelerator('mi300');
    expect(miss.found).toBe(false);
    if (!miss.found) expect(miss.suggestions[0]).toBe('mi300x');
    const far = findAccelerator('quantum-computer');
    if (!far.found) expect(far.suggestions).toEqual([]);
  });
});
