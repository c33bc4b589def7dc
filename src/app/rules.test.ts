/**
 * The rules of a plan as data: thresholds against figures read independently (docs/validation.md's held-out P90
 * errors, the estimate's tokens/s, ±15 % power), the metric and selector settings, and the YAML. promtool runs the
 * rules in test/rules.test.ts.
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { estimate } from '../perf/estimate.js';
import { loadSpec } from '../spec/load.js';
import { createInlineRunner } from './inline-runner.js';
import {
  type AlertingRule,
  DEFAULT_TOKENS_METRIC,
  type PlanFigures,
  planRules,
  type RecordingRule,
  rulesSettingsIssues,
  rulesYaml,
  runRules,
} from './rules.js';

const FIGURES: PlanFigures = {
  gpus: 16,
  accelerator: 'H100 SXM5 80GB',
  layout: 'TP8 DP2',
  tokensPerSecond: 2_000_000,
  moe: false,
  gpuRunningW: 600,
};

const allRules = (document: ReturnType<typeof planRules>['document']) => document.groups.flatMap((g) => g.rules);
const alerts = (document: ReturnType<typeof planRules>['document']) =>
  allRules(document).filter((r): r is AlertingRule => 'alert' in r);
const records = (document: ReturnType<typeof planRules>['document']) =>
  allRules(document).filter((r): r is RecordingRule => 'record' in r);

describe('planRules', () => {
  it('puts the tokens/s alert at the plan ÷ (1 + held-out P90 error): 16.5 % dense, 40.5 % MoE (docs/validation.md)', () => {
    const dense = planRules(FIGURES);
    // Six significant digits, as the expression writes it.
    expect(Math.abs(dense.thresholds.tokensPerSecond.low / (2_000_000 / 1.165) - 1)).toBeLessThan(1e-5);
    const moe = planRules({ ...FIGURES, moe: true });
    expect(Math.abs(moe.thresholds.tokensPerSecond.low / (2_000_000 / 1.405) - 1)).toBeLessThan(1e-5);
    const alert = alerts(dense.document).find((a) => a.alert === 'TokenworksTokensBelowPlan');
    expect(alert?.expr).toBe('job:tokenworks_tokens_per_second:rate10m < 1716740');
    expect(alert?.annotations.description).toContain('16.5%, dense');
    expect(
      alerts(moe.document).find((a) => a.alert === 'TokenworksTokensBelowPlan')?.annotations.description,
    ).toContain('40.5%, MoE');
  });

  it('puts the power band at ±15 % of the training power per GPU, and leaves it out without one', () => {
    const rules = planRules(FIGURES);
    expect(rules.thresholds.gpuPowerW).toEqual({ planned: 600, low: 510, high: 690 });
    const power = alerts(rules.document).filter((a) => a.alert.startsWith('TokenworksGpuPower'));
    expect(power.map((a) => a.expr)).toEqual([
      'host:dcgm_power_usage_watts:avg10m > 690',
      'host:dcgm_power_usage_watts:avg10m < 510',
    ]);
    for (const gpuRunningW of [undefined, Number.NaN, 0]) {
      const { gpuRunningW: _, ...rest } = FIGURES;
      const without = planRules(gpuRunningW === undefined ? rest : { ...rest, gpuRunningW });
      expect(without.thresholds.gpuPowerW).toBeUndefined();
      expect(without.document.groups.map((g) => g.name)).not.toContain('tokenworks-power');
      expect(without.metrics.map((m) => m.metric)).not.toContain('DCGM_FI_DEV_POWER_USAGE');
    }
  });

  it('flags stragglers below 0.75 of the fastest GPU and XID bursts of 2 in 5 min', () => {
    const rules = planRules(FIGURES);
    expect(rules.thresholds.stragglerScore).toBe(0.75);
    expect(rules.thresholds.xidBurst).toEqual({ events: 2, windowMinutes: 5 });
    const byName = new Map(alerts(rules.document).map((a) => [a.alert, a]));
    expect(byName.get('TokenworksGpuStraggler')?.expr).toBe('host_gpu:tokenworks_straggler_score:ratio < 0.75');
    expect(byName.get('TokenworksXidBurst')?.expr).toBe('host:dcgm_xid_events:count5m >= 2');
  });

  it('reads a counter with rate() and a gauge with avg_over_time(), with their own matchers', () => {
    const counter = records(planRules(FIGURES).document)[0];
    expect(counter).toEqual({
      record: 'job:tokenworks_tokens_per_second:rate10m',
      expr: `sum(rate(${DEFAULT_TOKENS_METRIC}[10m]))`,
    });
    const gauge = records(
      planRules(FIGURES, { tokensMetric: 'train_tokens_per_second{job="llm", rank="0"}' }).document,
    )[0];
    expect(gauge).toEqual({
      record: 'job:tokenworks_tokens_per_second:avg10m',
      expr: 'sum(avg_over_time(train_tokens_per_second{job="llm", rank="0"}[10m]))',
    });
  });

  it('applies --match to every dcgm-exporter selector and reads both host-label spellings', () => {
    const rules = planRules(FIGURES, { match: '{job="dcgm"}' });
    const exprs = allRules(rules.document).map((r) => r.expr);
    const dcgm = exprs.flatMap((e) => [...e.matchAll(/DCGM_FI_\w+(\{[^}]*\})?/g)].map((m) => m[0]));
    expect(dcgm.length).toBe(3);
    for (const selector of dcgm) expect(selector).toMatch(/\{job="dcgm"\}$/);
    for (const expr of exprs.filter((e) => e.includes('DCGM_FI_'))) {
      expect(expr).toContain('"host", "$1", "Hostname", "(.+)"');
      expect(expr).toContain('"host", "$1", "hostname", "(.+)"');
    }
    const unmatched = allRules(planRules(FIGURES, { match: '{}' }).document).map((r) => r.expr);
    expect(unmatched.join(' ')).not.toContain('{}');
  });

  it('labels every alert with a severity and says it in plain words, with no NaN anywhere', () => {
    const rules = planRules(FIGURES);
    for (const alert of alerts(rules.document)) {
      expect(['info', 'warning', 'critical']).toContain(alert.labels.severity);
      expect(alert.annotations.summary.length).toBeGreaterThan(20);
      expect(alert.annotations.description).toContain('16 × H100 SXM5 80GB, TP8 DP2');
    }
    const yaml = rulesYaml({ design: { name: 'x', gpus: 16, accelerator: 'H100', layout: 'TP8' }, ...rules });
    expect(yaml).not.toMatch(/NaN|Infinity|undefined/);
    expect(parse(yaml)).toEqual(JSON.parse(JSON.stringify(rules.document)));
    // Long expressions stay on one line.
    expect(yaml.split('\n').filter((line) => line.includes('expr:')).length).toBe(
      records(rules.document).length + alerts(rules.document).length,
    );
  });
});

describe('rulesSettingsIssues', () => {
  it('accepts metric names and matcher lists Prometheus accepts', () => {
    for (const settings of [
      {},
      { tokensMetric: 'tokenworks_trained_tokens_total' },
      { tokensMetric: 'ns:tokens_total{job="a",env!~"dev|test"}' },
      { match: '{}' },
      { match: '{job="dcgm", Hostname=~"node-0[0-7]"}' },
      { match: '{ pod != "x\\"y" , }' },
    ]) {
      expect(rulesSettingsIssues(settings), JSON.stringify(settings)).toEqual([]);
    }
  });

  it('names the flag, the value and the fix for anything else', () => {
    for (const [settings, path] of [
      [{ tokensMetric: 'tokens per second' }, 'tokensMetric'],
      [{ tokensMetric: '9tokens' }, 'tokensMetric'],
      [{ tokensMetric: 'tokens{job=a}' }, 'tokensMetric'],
      [{ match: 'job="dcgm"' }, 'match'],
      [{ match: '{job="dcgm"' }, 'match'],
      [{ match: '{job="a"} or vector(1)' }, 'match'],
    ] as const) {
      const issues = rulesSettingsIssues(settings);
      expect(issues.map((i) => i.path)).toEqual([path]);
      expect(issues[0]?.value).toBe(Object.values(settings)[0]);
      expect(issues[0]?.message).toMatch(/^--(tokens-metric|match) must be .* such as /);
    }
  });
});

describe('runRules', () => {
  const text = readFileSync(fileURLToPath(new URL('../../examples/llama3-70b.yaml', import.meta.url)), 'utf8');

  it("takes the plan's tokens/s from the estimate of the spec's plan", async () => {
    const loaded = loadSpec(text, 'yaml');
    if (!loaded.ok) throw new Error(JSON.stringify(loaded.issues));
    const spec = loaded.value;
    const result = await runRules({ spec }, { runner: createInlineRunner() });
    if (!result.ok) throw new Error(JSON.stringify(result.issues));
    if (!spec.system || !spec.plan) throw new Error('the example has a system and a plan');
    const expected = estimate(spec.workload, spec.system, spec.plan);
    if (!expected.ok) throw new Error('the example is infeasible');
    expect(result.value.thresholds.tokensPerSecond.planned).toBe(expected.tokensPerSecond);
    expect(result.value.design).toMatchObject({ gpus: 1024, accelerator: 'H100 SXM5 80GB' });
    const power = result.value.thresholds.gpuPowerW;
    // An H100 SXM's board power in training sits below its 700 W TDP.
    expect(power?.planned).toBeGreaterThan(200);
    expect(power?.planned).toBeLessThan(700);
  });

  it('returns bad settings as issues before any work', async () => {
    const loaded = loadSpec(text, 'yaml');
    if (!loaded.ok) throw new Error('example does not load');
    const result = await runRules({ spec: loaded.value, match: 'job' }, { runner: createInlineRunner() });
    expect(result.ok).toBe(false);
    if (!result.ok) expect(result.issues[0]?.path).toBe('match');
  });
});
