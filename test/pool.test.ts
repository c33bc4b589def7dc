import { describe, expect, it } from 'vitest';
import { createSearchPool } from '../src/node/pool.js';
import { searchDesigns } from '../src/plan/design.js';
import { planKey, searchPlans } from '../src/plan/search.js';
import { loadSpec } from '../src/spec/load.js';
import { resolveFacility } from '../src/spec/resolve.js';

function spec(text: string) {
  const result = loadSpec(text, 'yaml');
  if (!result.ok) throw new Error(JSON.stringify(result.issues));
  return result.value;
}

describe('search across worker threads', () => {
  it('plan search on two workers gives the single-thread answer', async () => {
    const s =
      spec(`workload: { model: llama3-70b, training: { totalTokens: 15T, sequenceLength: 8192, globalBatch: { sequences: 512 } } }
system: { accelerator: h100-sxm, gpuCount: 256 }`);
    if (!s.system) throw new Error('no system');
    const pool = createSearchPool(2);
    try {
      const parallel = await pool.searchPlans(s.workload, s.system, { top: 5 });
      const serial = searchPlans(s.workload, s.system, { top: 5 });
      expect(parallel.best.map((b) => planKey(b.plan))).toEqual(serial.best.map((b) => planKey(b.plan)));
      expect(parallel.best.map((b) => b.estimate.tokensPerSecond)).toEqual(
        serial.best.map((b) => b.estimate.tokensPerSecond),
      );
      expect(parallel.rejected).toEqual(serial.rejected);
      expect(parallel.candidates).toBe(serial.candidates);
    } finally {
      await pool.close();
    }
  });

  it('design search on two workers gives the single-thread answer', async () => {
    const s =
      spec(`workload: { model: llama3-8b, training: { totalTokens: 1T, sequenceLength: 8192, globalBatch: { sequences: 512 } } }
constraints: { maxGpus: 256, deadlineDays: 60 }`);
    const facility = resolveFacility({ cooling: 'direct-liquid' });
    const options = { constraints: s.constraints ?? {}, accelerators: ['h100-sxm', 'b200', 'gb200'] };
    const pool = createSearchPool(2);
    try {
      const parallel = await pool.searchDesigns(s.workload, facility, options);
      const serial = searchDesigns(s.workload, facility, options);
      const key = (r: typeof serial) => r.pareto.map((p) => `${p.accelerator}:${p.gpus}:${planKey(p.plan)}`);
      expect(key(parallel)).toEqual(key(serial));
      expect(parallel.recommended?.gpus).toBe(serial.recommended?.gpus);
      expect(parallel.reasons).toEqual(serial.reasons);
    } finally {
      await pool.close();
    }
  });
});
