import { readFile } from 'node:fs/promises';
import { describe, expect, it } from 'vitest';
import { fitHockney, fitSaturating } from '../src/perf/fit.js';
import { H100_FIT } from '../src/perf/h100-fit.js';
import { fitH100 } from '../src/perf/h100-microbench.js';

describe('compute-rate fit', () => {
  it('h100-fit.ts holds what the microbenchmark gives (rerun scripts/fit-compute-rates.ts if not)', async () => {
    const bench = JSON.parse(await readFile('data/calibration/h100-microbench.json', 'utf8'));
    expect(fitH100(bench)).toEqual(H100_FIT);
  });

  it('the GEMM fit reproduces the measured shapes: median error under 5%', () => {
    expect(H100_FIT.errors.gemmBf16.median).toBeLessThan(0.05);
    // The anchors: 2048×1024×256 runs at about 4% of peak, a large GEMM near 78%.
    const rate = (m: number, n: number, k: number) => {
      const flops = 2 * m * n * k;
      return flops / (H100_FIT.gemm.bf16.overheadSeconds + flops / (H100_FIT.gemm.bf16.tflops * 1e12)) / 989.4e12;
    };
    expect(rate(2048, 1024, 256)).toBeLessThan(0.06);
    expect(rate(16384, 16384, 16384)).toBeGreaterThan(0.68);
  });

  it('Hockney fit recovers known parameters exactly', () => {
    const kernels = [1e9, 1e10, 1e11, 1e12].map((flops) => ({ flops, seconds: 20e-6 + flops / 500e12 }));
    const fit = fitHockney(kernels);
    expect(fit.overheadSeconds).toBeCloseTo(20e-6, 12);
    expect(fit.tflops).toBeCloseTo(500, 6);
  });

  it('saturating fit recovers known parameters exactly', () => {
    const points = [1024, 4096, 16384].map((x) => ({ x, tflops: (600 * x) / (x + 1500) }));
    const fit = fitSaturating(points);
    expect(fit.tflops).toBeCloseTo(600, 6);
    expect(fit.half).toBeCloseTo(1500, 4);
  });
});
