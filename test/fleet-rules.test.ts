/**
 * `tokenworks rules --fleet`: the per-host recording rules for fleet-scale reads, beside the plan's rules, pass a
 * real `promtool check rules` (Debian's prometheus package), and each names a recording rule a fleet read can use.
 */
import { execFileSync } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { run } from './run-cli.js';
import { ensurePrometheus, PROMTOOL_PATH, prometheusUnavailable } from './support/prometheus.js';

const unavailable = prometheusUnavailable();
let dir: string;

describe.skipIf(unavailable !== undefined)(
  `rules --fleet${unavailable === undefined ? '' : ` (skipped: ${unavailable})`}`,
  () => {
    beforeAll(() => ensurePrometheus(), 300_000);
    beforeAll(async () => {
      dir = await mkdtemp(join(tmpdir(), 'tokenworks-fleet-rules-'));
    });
    afterAll(async () => {
      await rm(dir, { recursive: true, force: true });
    });

    it('adds a fleet group that promtool accepts', async () => {
      const out = join(dir, 'rules.yml');
      const result = await run('rules', 'examples/llama3-70b.yaml', '--fleet', '--match', '{job="dcgm"}', '--out', out);
      expect(result.code, result.stderr).toBe(0);
      const checked = execFileSync(PROMTOOL_PATH, ['check', 'rules', out], { encoding: 'utf8' });
      expect(checked).toMatch(/SUCCESS/);
      const doc = parse(await readFile(out, 'utf8')) as {
        groups: { name: string; rules: { record?: string; expr: string }[] }[];
      };
      const fleet = doc.groups.find((g) => g.name === 'tokenworks-fleet');
      expect(fleet).toBeDefined();
      const records = (fleet?.rules ?? []).map((r) => r.record);
      for (const name of [
        'host:dcgm_power_usage:gpus',
        'host:dcgm_power_usage:avg1m_sum',
        'host:dcgm_gpu_temp:max1m',
        'host:dcgm_sm_clock:median1m',
        'fleet:dcgm_power_usage:avg1m_sum',
      ]) {
        expect(records).toContain(name);
      }
      // The job's matchers reach every selector.
      for (const rule of fleet?.rules ?? []) {
        if (rule.record?.startsWith('host:')) expect(rule.expr).toContain('{job="dcgm"}');
      }
    });

    it('leaves the fleet group out without --fleet', async () => {
      const result = await run('rules', 'examples/llama3-70b.yaml');
      expect(result.code, result.stderr).toBe(0);
      expect(result.stdout).not.toContain('tokenworks-fleet');
      expect(result.stdout).toContain('tokenworks-xid');
    });
  },
);
