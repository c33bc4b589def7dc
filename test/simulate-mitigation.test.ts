/**
 * `tokenworks simulate --mitigation` on examples/llama3-405b-54d-mitigation.yaml (the Llama 3 405B case with Meta's
 * lemon share and the twin study's policy): ETTR without and with the policy on the same seeds, the gain by cause
 * summing to the ETTR gain in text, `--json` (valid against schemas/simulate-output.schema.json) and the report.
 */
import { mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { OUTPUT_SCHEMAS } from '../src/app/outputs.js';
import { ETTR_CAUSES } from '../src/twin/run.js';
import { run } from './run-cli.js';

const SPEC = 'examples/llama3-405b-54d-mitigation.yaml';
const REPLICAS = '6';

/** A signed ETTR figure as the report prints it (+0.00073, −0.00004). */
const signed = (text: string) => Number(text.replace('−', '-').replace('+', ''));

describe('tokenworks simulate --mitigation', () => {
  it('prints ETTR without and with, the gain and the gain by cause, which sum to it', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'tokenworks-mitigation-'));
    const report = join(dir, 'twin.md');
    const { code, stdout, stderr } = await run(
      'simulate',
      SPEC,
      '--replicas',
      REPLICAS,
      '--threads',
      '1',
      '--mitigation',
      '--report',
      report,
    );
    expect(code, stderr).toBe(0);
    const line = (label: string) => stdout.split('\n').find((l) => l.startsWith(label)) ?? '';
    const without = line('ETTR without the policy').trim().split(/\s+/).slice(-4).map(Number);
    const withPolicy = line('ETTR with the policy').trim().split(/\s+/).slice(-4).map(Number);
    const gain = line('gain (paired by replica)').trim().split(/\s+/).slice(-4).map(signed);
    expect(without).toHaveLength(4);
    // Means: with − without = the paired gain (each printed to 5 decimals).
    expect(Math.abs((withPolicy[3] as number) - (without[3] as number) - (gain[3] as number))).toBeLessThan(2e-5);
    const causes = stdout
      .split('\n')
      .filter((l) => l.startsWith('gain from '))
      .map((l) => signed(l.trim().split(/\s+/).at(-1) as string));
    expect(causes).toHaveLength(ETTR_CAUSES.length);
    // Six causes each rounded to 5 decimals: the sum is within 6 × 0.5e-5 of the gain.
    expect(Math.abs(causes.reduce((a, b) => a + b, 0) - (gain[3] as number))).toBeLessThanOrEqual(3.5e-5);
    expect(gain[3]).toBeGreaterThan(0);
    expect(causes[0]).toBeGreaterThan(0); // lost work: checkpoints before predicted failures
    expect(stdout).toMatch(/Actions a run \(mean over 6 replicas\): [\d.]+ predicted checkpoints/);
    const markdown = await readFile(report, 'utf8');
    expect(markdown).toContain('## Mitigation');
    expect(markdown).toContain('| gain from work lost since the last checkpoint |');
  });

  it('--json carries the comparison and the warnings, valid against the output schema', async () => {
    const { code, stdout, stderr } = await run(
      'simulate',
      SPEC,
      '--replicas',
      REPLICAS,
      '--threads',
      '1',
      '--mitigation',
      '--json',
    );
    expect(code, stderr).toBe(0);
    const json = JSON.parse(stdout);
    const parsed = OUTPUT_SCHEMAS.simulate.safeParse(json);
    expect(parsed.success, parsed.success ? '' : JSON.stringify(parsed.error.issues.slice(0, 5))).toBe(true);
    expect(json.warnings).toEqual([]); // the Llama 3 defaults raise none
    const m = json.mitigation;
    expect(m.replicas).toBe(6);
    const byCause = ETTR_CAUSES.reduce((sum, c) => sum + m.ettrGainByCause[c], 0);
    expect(byCause).toBeCloseTo(m.ettrGain.mean, 12);
    expect(m.with.ettr.mean - m.without.ettr.mean).toBeCloseTo(m.ettrGain.mean, 12);
    // The run with the policy is the study the rest of the output reports.
    expect(m.with.ettr.mean).toBeCloseTo(json.ettr.mean, 12);
  });

  it('writes the gain-by-cause chart into the HTML report', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'tokenworks-mitigation-'));
    const report = join(dir, 'twin.html');
    const { code, stderr } = await run(
      'simulate',
      SPEC,
      '--replicas',
      '2',
      '--threads',
      '1',
      '--mitigation',
      '--report',
      report,
    );
    expect(code, stderr).toBe(0);
    const html = await readFile(report, 'utf8');
    expect(html).toContain('aria-label="ETTR gain by cause"');
    expect(html).not.toMatch(/<script|https?:\/\//);
  });

  it('refuses --mitigation on a spec without a policy, naming the field', async () => {
    const { code, stderr } = await run('simulate', 'examples/llama3-405b-54d.yaml', '--replicas', '2', '--mitigation');
    expect(code).toBe(2);
    expect(stderr).toContain('twin.mitigation');
  });

  it('prints reliability warnings on stderr and in --json', async () => {
    // Ten times the census's failure rate is outside the 2-16 per 1,000 node-days fleets report: a warning.
    const dir = await mkdtemp(join(tmpdir(), 'tokenworks-mitigation-'));
    const spec = join(dir, 'flaky.yaml');
    const text = (await readFile('examples/llama3-405b-54d.yaml', 'utf8')).replace(
      '  days: 54\n',
      '  days: 54\n  failureScale: 10\n',
    );
    await writeFile(spec, text);
    const args = ['simulate', spec, '--replicas', '1', '--days', '2', '--threads', '1'];
    const textRun = await run(...args);
    expect(textRun.code, textRun.stderr).toBe(0);
    expect(textRun.stderr).toMatch(/warning: twin\.failureScale: .*per 1,000 node-days/);
    const jsonRun = await run(...args, '--json');
    const json = JSON.parse(jsonRun.stdout);
    expect(OUTPUT_SCHEMAS.simulate.safeParse(json).success).toBe(true);
    expect(json.warnings.map((w: { path: string }) => w.path)).toContain('twin.failureScale');
    expect(jsonRun.stderr).toContain('warning: twin.failureScale');
  });
});
