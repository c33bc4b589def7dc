import { mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { run } from './run-cli.js';

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'tokenworks-compare-'));
});

describe('tokenworks compare', () => {
  it('--json has a top-level breakpoint and both sides at each size', async () => {
    const report = join(dir, 'compare.html');
    const { code, stdout, stderr } = await run(
      'compare',
      'examples/breakpoint.yaml',
      '--sweep',
      '64,1024',
      '--threads',
      '1',
      '--json',
      '--report',
      report,
    );
    expect(code, stderr).toBe(0);
    const out = JSON.parse(stdout);
    expect('breakpoint' in out).toBe(true);
    expect(out.breakpoint === null || typeof out.breakpoint === 'number').toBe(true);
    expect(typeof out.breakpointReason).toBe('string');
    expect(['breakpoint', 'factory-everywhere', 'shared-at-largest', 'none']).toContain(out.breakpointStatus);
    expect(out.points.map((p: { gpus: number }) => p.gpus)).toEqual([64, 1024]);
    for (const p of out.points) {
      expect(p.shared.started).toBe(true);
      expect(p.dedicated.timeToTrainDays).toBeGreaterThan(0);
      expect(p.shared.slowdown.total).toBeGreaterThanOrEqual(1);
    }
    const html = await readFile(report, 'utf8');
    expect(html).toContain('aria-label="time to train, days"');
    expect(html).toContain('aria-label="USD per million tokens"');
    expect(html).not.toMatch(/<script|https?:\/\//);
  }, 120_000);

  it('rejects a bad sweep and a bad scenario field with the fix', async () => {
    const sweep = await run('compare', 'examples/breakpoint.yaml', '--sweep', '64..32');
    expect(sweep.code).toBe(2);
    expect(sweep.stderr).toContain('e.g. 64..16384');
    const text = await readFile('examples/breakpoint.yaml', 'utf8');
    const bad = join(dir, 'bad.yaml');
    await writeFile(bad, text.replace('utilisation: 0.8', 'utilisation: 1.5'));
    const scenario = await run('compare', bad);
    expect(scenario.code).toBe(2);
    expect(scenario.stderr).toContain('compare.shared.utilisation');
  });
});
