/**
 * `tokenworks rules` against the real Debian `promtool`: the rules the command writes for an example pass
 * `promtool check rules`, and `promtool test rules` plays input series through the rules of a plan with round
 * figures and checks which alerts fire, with which labels and words, and what the recording rules hold: tokens/s
 * under plan, the straggler score with both host-label spellings (operate.md §1.1), XID bursts (a new code each
 * time, also when the code moves into a new `err_code` series), and GPU power outside its band. The expected
 * values are written here by hand from the series, not read from the rules.
 */
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse, stringify } from 'yaml';
import { RulesOutputSchema } from '../src/app/outputs.js';
import { type AlertingRule, planRules, type RulesDocument, rulesYaml } from '../src/app/rules.js';
import { run } from './run-cli.js';
import { ensurePrometheus, PROMTOOL_PATH, prometheusUnavailable } from './support/prometheus.js';

const exec = promisify(execFile);
const unavailable = prometheusUnavailable();
if (unavailable !== undefined) console.warn(`skipping the promtool tests: ${unavailable}`);

/** Runs promtool; resolves with its output and exit code (a failing check is a result, not a throw). */
async function promtool(...args: string[]): Promise<{ code: number; output: string }> {
  try {
    const { stdout, stderr } = await exec(PROMTOOL_PATH, args, { timeout: 60_000 });
    return { code: 0, output: stdout + stderr };
  } catch (error) {
    const e = error as { code?: number; stdout?: string; stderr?: string };
    return { code: typeof e.code === 'number' ? e.code : 1, output: `${e.stdout ?? ''}${e.stderr ?? ''}` };
  }
}

const ruleCount = (document: RulesDocument) => document.groups.reduce((n, g) => n + g.rules.length, 0);

let dir = '';
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'tokenworks-rules-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('tokenworks rules (CLI)', () => {
  it('writes YAML to stdout whose rules are the --json document', async () => {
    const text = await run('rules', 'examples/llama3-70b.yaml', '--threads', '1');
    expect(text.code, text.stderr).toBe(0);
    const json = await run('rules', 'examples/llama3-70b.yaml', '--threads', '1', '--json');
    expect(json.code, json.stderr).toBe(0);
    const outcome = JSON.parse(json.stdout);
    const valid = RulesOutputSchema.safeParse(outcome);
    expect(valid.success, valid.success ? '' : JSON.stringify(valid.error.issues.slice(0, 5))).toBe(true);
    expect(parse(text.stdout)).toEqual(outcome.document);
    expect(text.stdout).toMatch(/^# Prometheus rules for Llama 3 70B/);
    expect(outcome.document.groups.map((g: { name: string }) => g.name)).toEqual([
      'tokenworks-throughput',
      'tokenworks-stragglers',
      'tokenworks-xid',
      'tokenworks-power',
    ]);
    expect(text.stdout).not.toMatch(/NaN|Infinity|undefined/);
  });

  it('takes the JSON of `plan --json`: the rules are for the design it chose', async () => {
    const plan = await run('plan', 'examples/llama3-8b.yaml', '--json', '--threads', '1');
    expect(plan.code, plan.stderr).toBe(0);
    const file = join(dir, 'plan.json');
    await writeFile(file, plan.stdout);
    const rules = await run('rules', file, '--json', '--threads', '1');
    expect(rules.code, rules.stderr).toBe(0);
    const chosen = JSON.parse(plan.stdout).chosen;
    const outcome = JSON.parse(rules.stdout);
    expect(outcome.thresholds.tokensPerSecond.planned).toBe(chosen.estimate.tokensPerSecond);
    expect(outcome.design.gpus).toBe(chosen.system.gpuCount);
  }, 60_000);

  it('a bad spec exits 2 naming the field', async () => {
    const file = join(dir, 'bad.yaml');
    await writeFile(
      file,
      'workload: { model: llama3-70b, training: { totalTokens: 1T, sequenceLength: 8192, globalBatch: { sequences: 64 } } }\nsystem: { accelerator: h100-sxm, gpuCount: -8 }\n',
    );
    const { code, stdout, stderr } = await run('rules', file);
    expect(code).toBe(2);
    expect(stdout).toBe('');
    expect(stderr).toContain('system.gpuCount');
  });

  it('a bad --match or --tokens-metric exits 2 naming the flag and the value', async () => {
    const match = await run('rules', 'examples/llama3-70b.yaml', '--match', 'job="dcgm"');
    expect(match.code).toBe(2);
    expect(match.stderr).toContain('--match');
    expect(match.stderr).toContain('job=\\"dcgm\\"');
    const metric = await run('rules', 'examples/llama3-70b.yaml', '--tokens-metric', 'tokens per second');
    expect(metric.code).toBe(2);
    expect(metric.stderr).toContain('--tokens-metric');
  });

  it.skipIf(unavailable !== undefined)(
    '--out writes the file, and promtool check rules accepts it',
    async () => {
      ensurePrometheus();
      const out = join(dir, 'llama3-70b.rules.yaml');
      const { code, stdout, stderr } = await run(
        'rules',
        'examples/llama3-70b.yaml',
        '--out',
        out,
        '--match',
        '{job="dcgm"}',
        '--threads',
        '1',
      );
      expect(code, stderr).toBe(0);
      expect(stdout).toBe('');
      expect(stderr).toContain(`wrote ${out}`);
      const document = parse(await readFile(out, 'utf8')) as RulesDocument;
      const checked = await promtool('check', 'rules', out);
      expect(checked.code, checked.output).toBe(0);
      expect(checked.output).toContain(`SUCCESS: ${ruleCount(document)} rules found`);
      expect(ruleCount(document)).toBe(11);
    },
    60_000,
  );

  it('--out into a missing folder exits 2 before any work', async () => {
    const { code, stderr } = await run('rules', 'examples/llama3-70b.yaml', '--out', join(dir, 'no', 'such.yaml'));
    expect(code).toBe(2);
    expect(stderr).toContain('does not exist');
  });
});

/** A plan with round figures: a lower band of exactly 1 M tokens/s (1.165 M ÷ 1.165) and 500 W per GPU. */
const rules = planRules(
  {
    gpus: 16,
    accelerator: 'H100 SXM5 80GB',
    layout: 'TP8 DP2',
    tokensPerSecond: 1_165_000,
    moe: false,
    gpuRunningW: 500,
  },
  { match: '{job="dcgm"}', tokensMetric: 'tokenworks_trained_tokens_total{job="train"}' },
);
const description = (alert: string) => {
  const rule = rules.document.groups.flatMap((g) => g.rules).find((r) => 'alert' in r && r.alert === alert);
  return (rule as AlertingRule).annotations.description;
};
/** Fifty samples at a constant value, one a minute. */
const flat = (value: number) => `${value}x50`;

describe.skipIf(unavailable !== undefined)('promtool test rules on the rules of a plan', () => {
  let rulesFile = '';
  beforeAll(() => ensurePrometheus(), 300_000);
  beforeAll(async () => {
    rulesFile = join(dir, 'plan.rules.yaml');
    await writeFile(
      rulesFile,
      rulesYaml({
        design: { name: 'test plan', gpus: 16, accelerator: 'H100 SXM5 80GB', layout: 'TP8 DP2' },
        ...rules,
      }),
    );
  });

  it('every alert fires on the series it is meant for, and only on them', async () => {
    const tests = {
      rule_files: ['plan.rules.yaml'],
      evaluation_interval: '1m',
      tests: [
        {
          // 54 M tokens a minute = 900 k tokens/s, under the 1 M band: pending from the first rate, firing 15 min on.
          interval: '1m',
          input_series: [{ series: 'tokenworks_trained_tokens_total{job="train"}', values: '0+54000000x40' }],
          promql_expr_test: [
            {
              expr: 'job:tokenworks_tokens_per_second:rate10m',
              eval_time: '20m',
              exp_samples: [{ labels: 'job:tokenworks_tokens_per_second:rate10m', value: 900_000 }],
            },
          ],
          alert_rule_test: [
            { eval_time: '10m', alertname: 'TokenworksTokensBelowPlan', exp_alerts: [] },
            {
              eval_time: '30m',
              alertname: 'TokenworksTokensBelowPlan',
              exp_alerts: [
                {
                  exp_labels: { severity: 'warning' },
                  exp_annotations: {
                    summary: "Training runs at 900k tokens/s, below the plan's lower band of 1.00 M tokens/s",
                    description: description('TokenworksTokensBelowPlan'),
                  },
                },
              ],
            },
          ],
        },
        {
          // 1.1 M tokens/s: inside the band; another job's slow counter is not this job's.
          interval: '1m',
          input_series: [
            { series: 'tokenworks_trained_tokens_total{job="train"}', values: '0+66000000x40' },
            { series: 'tokenworks_trained_tokens_total{job="other"}', values: '0+6000000x40' },
          ],
          alert_rule_test: [{ eval_time: '30m', alertname: 'TokenworksTokensBelowPlan', exp_alerts: [] }],
        },
        {
          // node-a spells the label Hostname (before dcgm-exporter PR #655), node-b hostname (after); node-b's GPU 1
          // runs at half the clock. A GPU of another job at 500 MHz is neither scored nor the reference.
          interval: '1m',
          input_series: [
            { series: 'DCGM_FI_DEV_SM_CLOCK{job="dcgm",Hostname="node-a",gpu="0",UUID="GPU-a0"}', values: flat(1980) },
            { series: 'DCGM_FI_DEV_SM_CLOCK{job="dcgm",Hostname="node-a",gpu="1",UUID="GPU-a1"}', values: flat(1980) },
            { series: 'DCGM_FI_DEV_SM_CLOCK{job="dcgm",hostname="node-b",gpu="0",UUID="GPU-b0"}', values: flat(1980) },
            { series: 'DCGM_FI_DEV_SM_CLOCK{job="dcgm",hostname="node-b",gpu="1",UUID="GPU-b1"}', values: flat(990) },
            { series: 'DCGM_FI_DEV_SM_CLOCK{job="other",hostname="node-z",gpu="0",UUID="GPU-z0"}', values: flat(500) },
          ],
          promql_expr_test: [
            {
              expr: 'host_gpu:tokenworks_straggler_score:ratio',
              eval_time: '10m',
              exp_samples: [
                { labels: 'host_gpu:tokenworks_straggler_score:ratio{host="node-a",gpu="0"}', value: 1 },
                { labels: 'host_gpu:tokenworks_straggler_score:ratio{host="node-a",gpu="1"}', value: 1 },
                { labels: 'host_gpu:tokenworks_straggler_score:ratio{host="node-b",gpu="0"}', value: 1 },
                { labels: 'host_gpu:tokenworks_straggler_score:ratio{host="node-b",gpu="1"}', value: 0.5 },
              ],
            },
          ],
          alert_rule_test: [
            { eval_time: '4m', alertname: 'TokenworksGpuStraggler', exp_alerts: [] },
            {
              eval_time: '6m',
              alertname: 'TokenworksGpuStraggler',
              exp_alerts: [
                {
                  exp_labels: { severity: 'warning', kind: 'straggler', host: 'node-b', gpu: '1' },
                  exp_annotations: {
                    summary: 'GPU 1 on node-b runs at 50% of the job’s fastest SM clock',
                    description: description('TokenworksGpuStraggler'),
                  },
                },
              ],
            },
          ],
        },
        {
          // node-a: XID 79 at 5 min, 48 at 7 min (two new codes). node-c: the same, each code in its own err_code
          // series, as dcgm-exporter labels them. node-b: one XID 79 that stays (one event). Another job's burst
          // is not this job's.
          interval: '1m',
          input_series: [
            {
              series: 'DCGM_FI_DEV_XID_ERRORS{job="dcgm",Hostname="node-a",gpu="0"}',
              values: '0 0 0 0 0 79 79 48x20',
            },
            {
              series: 'DCGM_FI_DEV_XID_ERRORS{job="dcgm",hostname="node-c",gpu="0",err_code="0"}',
              values: '0 0 0 0 0 stale',
            },
            {
              series: 'DCGM_FI_DEV_XID_ERRORS{job="dcgm",hostname="node-c",gpu="0",err_code="79"}',
              values: '_ _ _ _ _ 79 79 stale',
            },
            {
              series: 'DCGM_FI_DEV_XID_ERRORS{job="dcgm",hostname="node-c",gpu="0",err_code="48"}',
              values: '_ _ _ _ _ _ _ 48x20',
            },
            { series: 'DCGM_FI_DEV_XID_ERRORS{job="dcgm",hostname="node-b",gpu="0"}', values: '0 0 0 0 0 79x20' },
            {
              series: 'DCGM_FI_DEV_XID_ERRORS{job="other",hostname="node-z",gpu="0"}',
              values: '0 0 0 0 0 79 79 48x20',
            },
          ],
          promql_expr_test: [
            {
              expr: 'host:dcgm_xid_events:count5m',
              eval_time: '8m',
              exp_samples: [
                { labels: 'host:dcgm_xid_events:count5m{host="node-a"}', value: 2 },
                { labels: 'host:dcgm_xid_events:count5m{host="node-b"}', value: 1 },
                { labels: 'host:dcgm_xid_events:count5m{host="node-c"}', value: 2 },
              ],
            },
          ],
          alert_rule_test: [
            { eval_time: '6m', alertname: 'TokenworksXidBurst', exp_alerts: [] },
            {
              eval_time: '8m',
              alertname: 'TokenworksXidBurst',
              exp_alerts: ['node-a', 'node-c'].map((host) => ({
                exp_labels: { severity: 'critical', kind: 'failure-risk', host },
                exp_annotations: {
                  summary: `2 new XID errors on ${host} within 5 min`,
                  description: description('TokenworksXidBurst'),
                },
              })),
            },
            // Five minutes after the second XID the window holds none.
            { eval_time: '13m', alertname: 'TokenworksXidBurst', exp_alerts: [] },
          ],
        },
        {
          // The band is 425–575 W: node-a at 300 W is below, node-b at 500 W inside, node-c at 600 W above.
          interval: '1m',
          input_series: [
            { series: 'DCGM_FI_DEV_POWER_USAGE{job="dcgm",Hostname="node-a",gpu="0"}', values: flat(300) },
            { series: 'DCGM_FI_DEV_POWER_USAGE{job="dcgm",Hostname="node-a",gpu="1"}', values: flat(300) },
            { series: 'DCGM_FI_DEV_POWER_USAGE{job="dcgm",hostname="node-b",gpu="0"}', values: flat(500) },
            { series: 'DCGM_FI_DEV_POWER_USAGE{job="dcgm",hostname="node-c",gpu="0"}', values: flat(600) },
          ],
          alert_rule_test: [
            { eval_time: '14m', alertname: 'TokenworksGpuPowerBelowPlan', exp_alerts: [] },
            {
              eval_time: '20m',
              alertname: 'TokenworksGpuPowerBelowPlan',
              exp_alerts: [
                {
                  exp_labels: { severity: 'info', host: 'node-a' },
                  exp_annotations: {
                    summary:
                      "GPUs on node-a draw 300 W each, below the plan's band of 425–575 W (±15.0% around the plan's 500 W per GPU)",
                    description: description('TokenworksGpuPowerBelowPlan'),
                  },
                },
              ],
            },
            {
              eval_time: '20m',
              alertname: 'TokenworksGpuPowerAbovePlan',
              exp_alerts: [
                {
                  exp_labels: { severity: 'warning', host: 'node-c' },
                  exp_annotations: {
                    summary:
                      "GPUs on node-c draw 600 W each, above the plan's band of 425–575 W (±15.0% around the plan's 500 W per GPU)",
                    description: description('TokenworksGpuPowerAbovePlan'),
                  },
                },
              ],
            },
          ],
        },
      ],
    };
    const testFile = join(dir, 'plan.rules.test.yaml');
    await writeFile(testFile, stringify(tests, { lineWidth: 0 }));
    const checked = await promtool('check', 'rules', rulesFile);
    expect(checked.code, checked.output).toBe(0);
    const tested = await promtool('test', 'rules', testFile);
    expect(tested.code, tested.output).toBe(0);
    expect(tested.output).toContain('SUCCESS');
  }, 60_000);

  it('promtool test rules fails when an alert is expected that the series do not give (the check can fail)', async () => {
    const testFile = join(dir, 'wrong.rules.test.yaml');
    await writeFile(
      testFile,
      stringify({
        rule_files: ['plan.rules.yaml'],
        evaluation_interval: '1m',
        tests: [
          {
            interval: '1m',
            // 1.1 M tokens/s is inside the band: expecting the alert must fail.
            input_series: [{ series: 'tokenworks_trained_tokens_total{job="train"}', values: '0+66000000x40' }],
            alert_rule_test: [
              {
                eval_time: '30m',
                alertname: 'TokenworksTokensBelowPlan',
                exp_alerts: [{ exp_labels: { severity: 'warning' } }],
              },
            ],
          },
        ],
      }),
    );
    const tested = await promtool('test', 'rules', testFile);
    expect(tested.code).not.toBe(0);
    expect(tested.output).toContain('TokenworksTokensBelowPlan');
  }, 60_000);
});
