/**
 * `tokenworks observe --detect` (issue 13): detections and actions in the text, the JSON (against its schema) and
 * the webhook, from a real Megatron CI series and from dcgm scrape files made here with one throttled GPU and one
 * host whose GPU reports XID 79 (fallen off the bus).
 */

import { mkdtemp, writeFile } from 'node:fs/promises';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ObserveOutputSchema } from '../src/app/outputs.js';
import { run } from './run-cli.js';

const GB200 =
  '../shared/data/telemetry/megatron-ci/gpt3_weekly_mcore_tp2_pp2_current_scaling_native_fp8_tp_pp_sp_tp_overlap/golden_values_dev_dgx_gb200.json';

/** A local receiver on 127.0.0.1 that keeps every JSON body POSTed to it. */
async function receiver() {
  const bodies: unknown[] = [];
  const server = createServer((request, response) => {
    let text = '';
    request.on('data', (chunk) => (text += chunk));
    request.on('end', () => {
      bodies.push(JSON.parse(text));
      response.writeHead(200).end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return { url: `http://127.0.0.1:${port}/hook`, bodies, close: () => new Promise((r) => server.close(r)) };
}

describe('observe --detect', () => {
  it('flags the GB200 weekly series’ stalls and its slow episode, and posts one JSON body per detection', async () => {
    const hook = await receiver();
    try {
      const { code, stdout, stderr } = await run(
        'observe',
        'examples/gpt3-weekly-h100.yaml',
        '--log',
        GB200,
        '--detect',
        '--replicas',
        '0',
        '--no-forecast',
        '--webhook',
        hook.url,
        '--json',
      );
      expect(code, stderr).toBe(0);
      const out = ObserveOutputSchema.parse(JSON.parse(stdout));
      const detect = out.detect;
      expect(detect).toBeDefined();
      const stalls = (detect?.detections ?? []).filter((d) => d.kind === 'stall').map((d) => d.step);
      // README § megatron-ci: the warm-up at step 2 (4.5×) and the slow episode around 1408–1424 (peak 5.1× at 1423).
      expect(stalls).toContain(2);
      expect(stalls.some((s) => s !== undefined && s >= 1405 && s <= 1423)).toBe(true);
      // One body per detection: an action for those that call for one, the detection itself for the others.
      const detections = detect?.detections.length ?? 0;
      expect(hook.bodies).toHaveLength(detections);
      const covered = (detect?.actions ?? []).reduce((n, a) => n + a.detections.length, 0);
      expect(covered).toBeLessThanOrEqual(detections);
      expect(stderr).toMatch(new RegExp(`${detections} delivered, 0 failed`));
    } finally {
      await hook.close();
    }
  });

  it('finds a throttled GPU and a host at failure risk in dcgm scrapes, and proposes drain and swap', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'tokenworks-detect-'));
    const start = Date.UTC(2026, 0, 1);
    const lines: string[] = ['# TYPE DCGM_FI_DEV_SM_CLOCK gauge', '# TYPE DCGM_FI_DEV_XID_ERRORS gauge'];
    for (let s = 0; s < 12; s++) {
      const ms = start + s * 15_000;
      for (let h = 0; h < 2; h++) {
        for (let g = 0; g < 8; g++) {
          const labels = `gpu="${g}",UUID="GPU-${h}-${g}",Hostname="node-${h}"`;
          // node-1 GPU 3 throttles to 1,400 MHz from the fourth scrape; the others hold 1,980 ± 5 MHz.
          const clock = h === 1 && g === 3 && s >= 3 ? 1400 : 1980 + ((s * 7 + g * 3 + h) % 11) - 5;
          lines.push(`DCGM_FI_DEV_SM_CLOCK{${labels}} ${clock} ${ms}`);
          // node-0 GPU 5 reports XID 79 (fallen off the bus) at the sixth scrape.
          lines.push(`DCGM_FI_DEV_XID_ERRORS{${labels}} ${h === 0 && g === 5 && s >= 6 ? 79 : 0} ${ms}`);
        }
      }
    }
    const dcgm = join(dir, 'scrape.prom');
    await writeFile(dcgm, `${lines.join('\n')}\n`);
    const { code, stdout, stderr } = await run(
      'observe',
      'examples/gpt3-weekly-h100.yaml',
      '--log',
      GB200,
      '--dcgm',
      dcgm,
      '--detect',
      '--replicas',
      '0',
      '--no-forecast',
      '--json',
    );
    expect(code, stderr).toBe(0);
    const detect = ObserveOutputSchema.parse(JSON.parse(stdout)).detect;
    const straggler = detect?.detections.find((d) => d.kind === 'straggler');
    expect(straggler?.gpu).toMatch(/GPU-1-3$/);
    expect(straggler?.host).toBe('node-1');
    // 1,400 / 1,980 = 0.707: the clock's score.
    expect(straggler?.score).toBeCloseTo(1400 / 1980, 2);
    const risk = detect?.detections.find((d) => d.kind === 'failure-risk');
    expect(risk?.host).toBe('node-0');
    expect(risk?.evidence).toMatch(/XID 79/);
    expect(detect?.actions.map((a) => [a.kind, a.host])).toEqual(
      expect.arrayContaining([
        ['drain-host', 'node-1'],
        ['swap-host', 'node-0'],
      ]),
    );
  });

  it('asks for --detect before --webhook', async () => {
    const { code, stderr } = await run(
      'observe',
      'examples/gpt3-weekly-h100.yaml',
      '--log',
      GB200,
      '--webhook',
      'http://127.0.0.1:1/x',
    );
    expect(code).toBe(2);
    expect(stderr).toMatch(/add --detect/);
  });
});
