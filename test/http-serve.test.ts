/**
 * `tokenworks serve` as a process: it prints its URL, serves, and stops cleanly on SIGTERM: the running job is
 * cancelled (its event stream ends), the connections close and the process exits 0.
 */
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { createInterface } from 'node:readline';
import { describe, expect, it } from 'vitest';
import { parse, stringify } from 'yaml';

const { system: _system, plan: _plan, ...designSearch } = parse(readFileSync('examples/llama3-8b.yaml', 'utf8'));

describe('tokenworks serve', () => {
  it('prints its URL, serves, and on SIGTERM cancels its jobs and exits 0', async () => {
    const child = spawn(
      process.execPath,
      ['--import', 'tsx', 'test/support/cli-entry.ts', 'serve', '--port', '0', '--threads', '1'],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    let stderr = '';
    child.stderr.on('data', (chunk) => (stderr += chunk));
    const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
    try {
      const lines = createInterface({ input: child.stdout });
      const url = await new Promise<string>((resolve, reject) => {
        lines.once('line', resolve);
        child.once('exit', () => reject(new Error(`serve exited early: ${stderr}`)));
      });
      expect(url).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/$/);
      expect((await fetch(new URL('/healthz', url))).status).toBe(200);
      const started = await fetch(new URL('/v1/jobs/plan', url), {
        method: 'POST',
        body: stringify(designSearch),
        headers: { 'content-type': 'application/yaml' },
      });
      expect(started.status).toBe(202);
      const { id } = (await started.json()) as { id: string };
      const events = await fetch(new URL(`/v1/jobs/${id}/events`, url));
      const text = events.text();
      child.kill('SIGTERM');
      expect(await text).toMatch(/event: status\ndata: \{"status":"cancelled"\}/);
      expect(await exited).toBe(0);
      expect(stderr).toContain('SIGTERM: stopping');
    } finally {
      child.kill('SIGKILL');
    }
  });
});
