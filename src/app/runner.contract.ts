/**
 * The contract every {@link TaskRunner} passes (the Hono `common.case.test` habit): the inline runner's answer
 * for plan shards, design jobs, twin replicas and compare sizes; results in submission order; a failing task's
 * error; and cancellation through `AbortSignal`, before and during a task. Each runner's own test file calls
 * {@link runnerContract} (vitest picks up `*.test.ts` only, so this file never runs alone).
 * @module
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { comparePoint } from '../breakpoint/compare.js';
import { searchDesigns } from '../plan/design.js';
import { mergeSearches, planKey, searchPlans } from '../plan/search.js';
import { CompareSchema } from '../spec/compare.js';
import { loadSpec } from '../spec/load.js';
import { resolveFacility } from '../spec/resolve.js';
import { twinConfig } from '../twin/setup.js';
import { runStudy } from '../twin/study.js';
import { defaultFacility, designOfPlan } from './design.js';
import { compareSizesWith, runStudyWith, searchDesignsWith, searchPlansWith } from './fan-out.js';
import type { DataSource, TaskRunner } from './ports.js';

function spec(text: string) {
  const result = loadSpec(text, 'yaml');
  if (!result.ok) throw new Error(JSON.stringify(result.issues));
  return result.value;
}

const PLANS =
  spec(`workload: { model: llama3-70b, training: { totalTokens: 15T, sequenceLength: 8192, globalBatch: { sequences: 512 } } }
system: { accelerator: h100-sxm, gpuCount: 256 }`);

const DESIGNS =
  spec(`workload: { model: llama3-8b, training: { totalTokens: 1T, sequenceLength: 8192, globalBatch: { sequences: 512 } } }
constraints: { maxGpus: 256, deadlineDays: 60 }`);

const TWIN =
  spec(`workload: { model: llama3-8b, training: { totalTokens: 2T, sequenceLength: 8192, globalBatch: { sequences: 512 } } }
system: { accelerator: h100-sxm, gpuCount: 512 }
plan: { tp: 2, pp: 1 }
twin: { days: 20 }`);

function system(spec: typeof TWIN) {
  if (!spec.system) throw new Error('no system');
  return spec.system;
}

function plan(spec: typeof TWIN) {
  if (!spec.plan) throw new Error('no plan');
  return spec.plan;
}

function twinSettings() {
  const design = designOfPlan(TWIN.workload.model.name, TWIN.workload, system(TWIN), plan(TWIN), defaultFacility(TWIN));
  if (!design.ok) throw new Error(JSON.stringify(design.issues));
  const config = twinConfig(design.value, TWIN.twin);
  if (!config.ok) throw new Error(JSON.stringify(config.issues));
  return config.value;
}

/**
 * Registers the contract for the runner `create` makes. `data` is what the runner's tasks resolve trace
 * references with (the same source is used for the inline expectation).
 */
export function runnerContract(name: string, create: () => TaskRunner, data: DataSource): void {
  describe(`${name}: the runner contract`, () => {
    let runner: TaskRunner;
    beforeAll(() => {
      runner = create();
    });
    afterAll(async () => {
      await runner.close();
    });

    it('plan shards merge to the single search, ranking, estimates and rejections alike', async () => {
      const system = PLANS.system;
      if (!system) throw new Error('no system');
      const serial = searchPlans(PLANS.workload, system, { top: 5 });
      // Two interleaved shards run on the runner, whatever its concurrency.
      const shards = await Promise.all(
        [0, 1].map((index) =>
          runner.run({
            kind: 'plans',
            workload: PLANS.workload,
            system,
            options: { top: 5, shard: { index, count: 2 } },
          }),
        ),
      );
      for (const parallel of [
        mergeSearches(shards, 5),
        await searchPlansWith(runner, PLANS.workload, system, { top: 5 }),
      ]) {
        expect(parallel.best.map((b) => planKey(b.plan))).toEqual(serial.best.map((b) => planKey(b.plan)));
        expect(parallel.best.map((b) => b.estimate.tokensPerSecond)).toEqual(
          serial.best.map((b) => b.estimate.tokensPerSecond),
        );
        expect(parallel.rejected).toEqual(serial.rejected);
        expect(parallel.candidates).toBe(serial.candidates);
      }
    });

    it('design jobs give the single-thread design search', async () => {
      const facility = resolveFacility({ cooling: 'direct-liquid' });
      const options = { constraints: DESIGNS.constraints ?? {}, accelerators: ['h100-sxm', 'b200', 'gb200'] };
      const parallel = await searchDesignsWith(runner, DESIGNS.workload, facility, options);
      const serial = searchDesigns(DESIGNS.workload, facility, options);
      const key = (r: typeof serial) => r.pareto.map((p) => `${p.accelerator}:${p.gpus}:${planKey(p.plan)}`);
      expect(key(parallel)).toEqual(key(serial));
      expect(parallel.recommended?.gpus).toBe(serial.recommended?.gpus);
      expect(parallel.reasons).toEqual(serial.reasons);
    });

    it('twin replicas give the single-thread study, replica for replica', async () => {
      const config = twinSettings();
      const parallel = await runStudyWith(runner, config, { replicas: 12, seed: 7 });
      const serial = runStudy(config, { replicas: 12, seed: 7 });
      expect(parallel).toEqual(serial);
    });

    it('a compare size gives the direct comparison, its traces resolved by reference', async () => {
      const workload = DESIGNS.workload;
      const facility = resolveFacility({ cooling: 'direct-liquid' });
      const scenario = { ...CompareSchema.parse({}), replicas: 1 };
      const [outcome] = await compareSizesWith(
        runner,
        { workload, acceleratorId: 'h100-sxm', facility, twin: undefined, scenario, data: {} },
        [64],
      );
      const direct = comparePoint(workload, 'h100-sxm', facility, undefined, scenario, await data.compareData({}), 64);
      expect(outcome).toEqual(direct);
    });

    it('results come back in submission order', async () => {
      const config = twinSettings();
      const ranges = [
        [5, 9],
        [0, 1],
        [9, 10],
        [1, 5],
      ] as const;
      const results = await Promise.all(
        ranges.map(([from, to]) => runner.run({ kind: 'twin', config, seed: 3, from, to })),
      );
      expect(results.map((r) => r.length)).toEqual([4, 1, 1, 4]);
      const whole = runStudy(config, { replicas: 10, seed: 3 });
      // Replica i of the study is element i - from of its range's result.
      const ettr = (range: number, i: number) => results[range]?.[i]?.ettr;
      expect(ettr(1, 0)).toBe(whole.ettrValues[0]);
      expect(ettr(3, 2)).toBe(whole.ettrValues[3]);
      expect(ettr(0, 3)).toBe(whole.ettrValues[8]);
      expect(ettr(2, 0)).toBe(whole.ettrValues[9]);
    });

    it('a failing task rejects with its error, and the runner goes on', async () => {
      const system = PLANS.system;
      if (!system) throw new Error('no system');
      // An unknown trace file cannot be read: the task fails on the runner as it does inline.
      const bad = runner.run({
        kind: 'compare',
        workload: DESIGNS.workload,
        acceleratorId: 'h100-sxm',
        facility: resolveFacility({ cooling: 'direct-liquid' }),
        twin: undefined,
        scenario: CompareSchema.parse({}),
        data: { pods: '/nonexistent/openb_pod_list.csv' },
        gpus: 64,
      });
      await expect(bad).rejects.toThrow(/nonexistent/);
      const after = await runner.run({ kind: 'plans', workload: PLANS.workload, system, options: { top: 1 } });
      expect(after.best).toHaveLength(1);
    });

    it('an aborted signal rejects before the task runs, and an abort stops a running task', async () => {
      const config = twinSettings();
      const before = new AbortController();
      before.abort();
      await expect(
        runner.run({ kind: 'twin', config, seed: 1, from: 0, to: 1 }, { signal: before.signal }),
      ).rejects.toThrow(expect.objectContaining({ name: 'AbortError' }));
      // A study long enough to be running when the abort comes (about a second of replicas per chunk).
      const during = new AbortController();
      const started = Date.now();
      const study = runStudyWith(runner, config, { replicas: 400, seed: 1 }, { signal: during.signal });
      setTimeout(() => during.abort(), 50);
      await expect(study).rejects.toThrow(expect.objectContaining({ name: 'AbortError' }));
      expect(Date.now() - started).toBeLessThan(30_000);
      const after = await runner.run({ kind: 'twin', config, seed: 1, from: 0, to: 2 });
      expect(after).toHaveLength(2);
    });
  });
}
