/**
 * The web console in a real browser (Debian's chromium through playwright-core, test/support/chromium.ts), served
 * by the server in-process on 127.0.0.1 with the demo factory running (a small emulated run, fast): every page
 * loads with no console error and no request leaving the server; the editor completes keys and values from the
 * JSON Schema and marks a 422's issues on their lines; a plan run from the editor draws its Pareto chart's
 * points; the Operate page updates live. Screenshots go to test-artifacts/console/.
 */
import { execFileSync } from 'node:child_process';
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { type BrowserContext, chromium, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type RunningServer, startServer } from '../src/http/server.js';
import { loadSpec } from '../src/spec/load.js';
import { CHROMIUM_ARGS, ensureChromium } from './support/chromium.js';

const ARTIFACTS = resolve('test-artifacts', 'console');

/** The demo's run: Llama 3 8B on 16 H100 (2 hosts), six hours replayed 900× faster. */
const DEMO_SPEC = `name: Llama 3 8B on 16 H100 (console test)
workload:
  model: llama3-8b
  training: { totalTokens: 15T, sequenceLength: 8192, globalBatch: { tokens: 1048576 }, precision: fp8 }
system: { accelerator: h100-sxm, gpuCount: 16, scaleOut: { fabric: ndr-ib } }
plan: { tp: 1, pp: 1, sharding: zero1, microBatch: 1, recomputation: none }
`;

/** A design search that takes seconds: Llama 3 8B on at most 1,024 GPUs of the catalog. */
const DESIGN_SPEC = `name: Llama 3 8B, design search (console test)
workload:
  model: llama3-8b
  training:
    totalTokens: 1T
    sequenceLength: 8192
    globalBatch: { sequences: 512 }
    precision: bf16
constraints:
  maxGpus: 1024
  deadlineDays: 60
`;

let server: RunningServer;
let browser: BrowserContext | undefined;
let profile: string | undefined;

beforeAll(async () => {
  const consoleRoot = join(await mkdtemp(join(tmpdir(), 'tw-console-')), 'web');
  execFileSync(process.execPath, ['scripts/build-web.mjs', '--out', consoleRoot], { stdio: 'pipe' });
  const loaded = loadSpec(DEMO_SPEC, 'yaml');
  if (!loaded.ok) throw new Error(JSON.stringify(loaded.issues));
  server = await startServer({
    host: '127.0.0.1',
    port: 0,
    threads: 1,
    consoleRoot,
    demo: { spec: loaded.value, days: 0.25, bucketMinutes: 5, speed: 900, replicas: 4 },
  });
  await mkdir(ARTIFACTS, { recursive: true });
  // support/chromium.ts's launcher runs offline, which in Chromium cuts loopback too: the browser here is online,
  // and every request to anything but this server is aborted (and counted by open()).
  profile = await mkdtemp(join(tmpdir(), 'tokenworks-chromium-'));
  browser = await chromium.launchPersistentContext(profile, {
    executablePath: ensureChromium(),
    headless: true,
    args: CHROMIUM_ARGS,
    viewport: { width: 1280, height: 900 },
  });
  const origin = new URL(server.url).origin;
  await browser.route('**/*', (route) =>
    route.request().url().startsWith(origin) ? route.continue() : route.abort('internetdisconnected'),
  );
}, 180_000);

afterAll(async () => {
  await browser?.close();
  if (profile) await rm(profile, { recursive: true, force: true });
  await server?.close();
}, 60_000);

interface Opened {
  readonly page: Page;
  readonly errors: string[];
  readonly foreign: string[];
}

/** Opens the console at `hash`, collecting console errors, page errors and requests to other origins. */
async function open(hash: string): Promise<Opened> {
  if (!browser) throw new Error('the browser did not start');
  const page = await browser.newPage();
  // Each test starts from the built-in spec (the editor keeps its text in localStorage).
  await page.addInitScript('localStorage.clear()');
  const errors: string[] = [];
  const foreign: string[] = [];
  const origin = new URL(server.url).origin;
  page.on('console', (message) => {
    if (message.type() === 'error') errors.push(message.text());
  });
  page.on('pageerror', (error) => errors.push(error.message));
  page.on('request', (request) => {
    if (!request.url().startsWith(origin) && !request.url().startsWith('data:')) foreign.push(request.url());
  });
  const response = await page.goto(new URL(`/#/${hash}`, server.url).href, { waitUntil: 'load' });
  expect(response?.status()).toBe(200);
  await page.waitForSelector(`main[data-page="${hash}"]`);
  return { page, errors, foreign };
}

/** Replaces the editor's text (as typing would: an input event). */
async function setSpec(page: Page, text: string): Promise<void> {
  await page.locator('textarea.spec-text').fill(text);
}

describe('the web console', () => {
  it.each(['spec', 'plan', 'simulate', 'compare', 'operate'])(
    'loads the %s page with no console error and nothing from another origin',
    async (hash) => {
      const { page, errors, foreign } = await open(hash);
      if (hash === 'spec') await page.waitForSelector('.verdict[data-state="valid"]', { timeout: 20_000 });
      if (hash === 'operate') await page.waitForSelector('[data-testid="iteration"]', { timeout: 30_000 });
      await page.waitForTimeout(300);
      await page.screenshot({ path: join(ARTIFACTS, `${hash}.png`), fullPage: true });
      expect(errors).toEqual([]);
      expect(foreign).toEqual([]);
      await page.close();
    },
    60_000,
  );

  it('completes keys and enum values from the JSON Schema at the cursor', async () => {
    const { page, errors } = await open('spec');
    await setSpec(page, 'workload:\n  training:\n    seq');
    const area = page.locator('textarea.spec-text');
    await area.press('End');
    await area.press('Control+Space');
    const items = page.locator('ul.completions li strong');
    await expect.poll(() => items.allTextContents()).toContain('sequenceLength');
    await area.press('Enter');
    await expect.poll(() => area.inputValue()).toBe('workload:\n  training:\n    sequenceLength: ');
    await area.press('Control+End');
    await page.keyboard.type('8192\n    precision: ');
    await area.press('Control+Space');
    await expect.poll(() => items.allTextContents()).toEqual(expect.arrayContaining(['bf16', 'fp8', 'fp4']));
    await page.keyboard.press('Escape');
    await page.close();
    expect(errors.filter((e) => !/status of 422/.test(e))).toEqual([]);
  }, 60_000);

  it("marks a 422's issues on their lines, with their field paths", async () => {
    const { page, errors } = await open('spec');
    await setSpec(page, DESIGN_SPEC.replace('totalTokens: 1T', 'totalTokens: -5'));
    const issue = page.locator('ul.issues li[data-path="workload.training.totalTokens"]');
    await issue.waitFor({ timeout: 20_000 });
    expect(await issue.textContent()).toContain('line 5');
    expect(await page.locator('.gutter-line[data-line="5"]').getAttribute('class')).toContain('error');
    await page.screenshot({ path: join(ARTIFACTS, 'spec-invalid.png'), fullPage: true });
    await page.close();
    // The 422 itself is logged by the browser as a failed load; nothing else may be.
    expect(errors.filter((e) => !/status of 422/.test(e))).toEqual([]);
  }, 60_000);

  it('runs a plan from the editor and draws its Pareto chart with data points', async () => {
    const { page, errors } = await open('spec');
    await setSpec(page, DESIGN_SPEC);
    await page.waitForSelector('.verdict[data-state="valid"]', { timeout: 20_000 });
    await page.click('nav a[href="#/plan"]');
    await page.click('button[data-run="plan"]');
    const chart = page.locator('figure[data-chart="pareto"]');
    await chart.waitFor({ timeout: 60_000 });
    await expect
      .poll(async () => Number(await chart.getAttribute('data-drawn')), { timeout: 10_000 })
      .toBeGreaterThan(0);
    // The data uPlot holds: the designs' x values, and one y value per design across the three series.
    const points = await chart.evaluate((figure: { uplot?: { data: (number | null)[][] } }) => {
      const data = figure.uplot?.data ?? [];
      return {
        x: data[0]?.length ?? 0,
        y: data
          .slice(1)
          .flat()
          .filter((v: number | null) => v !== null).length,
      };
    });
    expect(points.x).toBeGreaterThan(1);
    expect(points.y).toBe(points.x);
    expect(Number(await chart.getAttribute('data-drawn'))).toBe(points.x);
    await page.locator('table.facts caption', { hasText: 'Bill of materials' }).waitFor();
    await page.screenshot({ path: join(ARTIFACTS, 'plan-result.png'), fullPage: true });
    await page.close();
    expect(errors).toEqual([]);
  }, 90_000);

  it('updates the Operate page live from the demo factory', async () => {
    const { page, errors } = await open('operate');
    const iteration = page.locator('[data-testid="iteration"]');
    await iteration.waitFor({ timeout: 30_000 });
    const first = Number(await iteration.textContent());
    const hours = Number.parseFloat((await page.locator('[data-testid="run-hours"]').textContent()) ?? '');
    await expect
      .poll(async () => Number.parseFloat((await page.locator('[data-testid="run-hours"]').textContent()) ?? ''), {
        timeout: 15_000,
      })
      .not.toBe(hours);
    await expect.poll(async () => Number(await iteration.textContent()), { timeout: 15_000 }).not.toBe(first);
    await expect
      .poll(async () => Number(await page.locator('figure[data-chart="heatmap"] canvas').getAttribute('data-cells')), {
        timeout: 15_000,
      })
      .toBeGreaterThan(0);
    expect(await page.locator('.kpi[data-metric="stepSeconds"] .kpi-value').textContent()).toMatch(/\d/);
    await page.screenshot({ path: join(ARTIFACTS, 'operate-live.png'), fullPage: true });
    await page.close();
    expect(errors).toEqual([]);
  }, 60_000);
});
