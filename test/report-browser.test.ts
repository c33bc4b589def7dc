/**
 * The HTML reports in a real browser: each report is written by the CLI (in-process), opened in headless
 * Chromium (test/support/chromium.ts) and its charts checked in the rendered DOM: an svg per chart with axis
 * ticks, tick labels with text and axis labels, a legend where there are several series, and the markers
 * (chosen design and plan, deadline, capacity, interruptions, percentiles, breakpoint) by their
 * aria-description. The page must load offline with no console errors and no request leaving the file.
 * Screenshots of each page and each chart go to test-artifacts/ for a person to look at.
 */
import { mkdir, mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { run } from './run-cli.js';
import { type Browser, launchChromium } from './support/chromium.js';
import { emulateObservedRun } from './support/observed-run.js';

const ARTIFACTS = resolve('test-artifacts');

let dir: string;
let browser: Browser | undefined;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'tokenworks-browser-'));
  await mkdir(ARTIFACTS, { recursive: true });
  browser = await launchChromium();
}, 600_000);

afterAll(async () => {
  await browser?.close();
}, 60_000);

/** Runs the CLI with `--report` into the temp dir and returns the report's path. */
async function report(name: string, ...argv: string[]): Promise<string> {
  const file = join(dir, `${name}.html`);
  const { code, stderr } = await run(...argv, '--report', file);
  expect(code, stderr).toBe(0);
  return file;
}

interface Opened {
  readonly page: Page;
  readonly errors: string[];
  readonly requests: string[];
}

/** Opens a report offline, collecting console errors, page errors and every request the page makes. */
async function open(file: string): Promise<Opened> {
  if (!browser) throw new Error('the browser did not start');
  const page = await browser.context.newPage();
  const errors: string[] = [];
  const requests: string[] = [];
  page.on('console', (message) => {
    if (message.type() === 'error') errors.push(message.text());
  });
  page.on('pageerror', (error) => errors.push(error.message));
  page.on('request', (request) => requests.push(request.url()));
  const response = await page.goto(pathToFileURL(file).href, { waitUntil: 'load' });
  expect(response === null || response.ok()).toBe(true);
  return { page, errors, requests };
}

/** Saves the page and each chart figure as PNGs under test-artifacts/. */
async function screenshots(name: string, page: Page): Promise<void> {
  await page.screenshot({ path: join(ARTIFACTS, `${name}.png`), fullPage: true });
  const figures = page.locator('figure.chart');
  const count = await figures.count();
  for (let i = 0; i < count; i++) await figures.nth(i).screenshot({ path: join(ARTIFACTS, `${name}-chart-${i}.png`) });
}

interface ChartCheck {
  /** The svg's aria-label. */
  readonly label: string;
  /** Whether the y axis is quantitative and so has a label with units (bar charts name their bars instead). */
  readonly yLabel?: boolean;
  /** The least number of legend swatches (0: no legend). */
  readonly swatches?: number;
  /** aria-descriptions of marks that must be drawn. */
  readonly markers?: readonly string[];
}

/** Checks one chart in the rendered DOM. */
async function checkChart(page: Page, check: ChartCheck): Promise<void> {
  const svg = page.locator(`svg[aria-label="${check.label}"]`);
  expect(await svg.count(), check.label).toBe(1);
  const box = await svg.boundingBox();
  expect(box?.width ?? 0, `${check.label} width`).toBeGreaterThan(400);
  expect(box?.height ?? 0, `${check.label} height`).toBeGreaterThan(100);
  for (const axis of ['x', 'y']) {
    expect(
      await svg.locator(`g[aria-label="${axis}-axis tick"] path`).count(),
      `${check.label} ${axis} ticks`,
    ).toBeGreaterThan(0);
    const texts = await svg.locator(`g[aria-label="${axis}-axis tick label"] text`).allTextContents();
    expect(texts.filter((t) => t.trim() !== '').length, `${check.label} ${axis} tick labels`).toBeGreaterThan(0);
  }
  const xLabel = await svg.locator('g[aria-label="x-axis label"] text').allTextContents();
  expect(xLabel.join('').trim(), `${check.label} x-axis label`).not.toBe('');
  if (check.yLabel !== false) {
    const yLabel = await svg.locator('g[aria-label="y-axis label"] text').allTextContents();
    expect(yLabel.join('').trim(), `${check.label} y-axis label`).not.toBe('');
  }
  // A legend sits beside the svg in the figure Plot wraps around both.
  const swatches = page.locator(`figure:has(> svg[aria-label="${check.label}"]) [class$="-swatch"]`);
  if (check.swatches) expect(await swatches.count(), `${check.label} legend`).toBeGreaterThanOrEqual(check.swatches);
  for (const marker of check.markers ?? []) {
    const marks = svg.locator(`g[aria-description="${marker}"] > *`);
    expect(await marks.count(), `${check.label}: ${marker}`).toBeGreaterThan(0);
  }
}

/** The rendered boxes of the texts under `selector`, to check that labels do not overprint. */
async function textBoxes(page: Page, selector: string) {
  return page.locator(selector).evaluateAll((nodes) =>
    nodes.map((node) => {
      const r = node.getBoundingClientRect();
      return { text: node.textContent ?? '', x0: r.left, y0: r.top, x1: r.right, y1: r.bottom };
    }),
  );
}

/** Checks the page loaded cleanly: no console errors, nothing fetched beyond the file itself. */
function checkClean(opened: Opened, file: string): void {
  expect(opened.errors).toEqual([]);
  expect(opened.requests.filter((url) => url !== pathToFileURL(file).href)).toEqual([]);
}

describe('HTML reports in a browser', () => {
  it('observe: step times and GPU power against the plan band', async () => {
    const observed = await emulateObservedRun(await mkdtemp(join(dir, 'observed-')));
    const file = await report(
      'observe',
      'observe',
      observed.spec,
      '--log',
      observed.log,
      '--dcgm',
      observed.dcgmDir,
      '--replicas',
      '4',
    );
    const opened = await open(file);
    const { page } = opened;
    await checkChart(page, {
      label: 'step time against the plan',
      swatches: 3,
      markers: ['logged step times', 'predicted step', 'model band'],
    });
    await checkChart(page, {
      label: 'GPU power against the plan',
      swatches: 3,
      markers: ['mean board power', 'planned level', 'plan band'],
    });
    expect(await page.locator('h2', { hasText: 'Plan versus actual' }).count()).toBe(1);
    checkClean(opened, file);
    await screenshots('observe', page);
    await page.close();
  }, 120_000);

  it('plan on a system: best plans, step time and memory against capacity', async () => {
    const file = await report('plan-system', 'plan', 'examples/llama3-8b.yaml', '--top', '3', '--threads', '1');
    const opened = await open(file);
    const { page } = opened;
    await checkChart(page, {
      label: 'best plans',
      yLabel: false,
      swatches: 2,
      markers: ['chosen plan', 'other plans'],
    });
    await checkChart(page, { label: 'step time breakdown', yLabel: false });
    await checkChart(page, { label: 'memory per GPU', yLabel: false, swatches: 3, markers: ['capacity'] });
    expect(await page.locator('svg[aria-label="best plans"] g[aria-description="chosen plan"] rect').count()).toBe(1);
    await screenshots('plan-system', page);
    checkClean(opened, file);
    await page.close();
  }, 120_000);

  it('plan design search: Pareto front with the chosen design and the deadline, labels apart', async () => {
    const spec = join(dir, 'design.yaml');
    await writeFile(
      spec,
      `name: small design search
workload:
  model: llama3-8b
  training: { totalTokens: 1T, sequenceLength: 8192, globalBatch: { sequences: 512 }, precision: bf16 }
constraints: { maxGpus: 1024, deadlineDays: 20 }
`,
    );
    const file = await report('plan-design', 'plan', spec, '--threads', '1');
    const opened = await open(file);
    const { page } = opened;
    await checkChart(page, {
      label: 'Pareto front',
      swatches: 3,
      markers: ['chosen design', 'deadline', 'deadline label', 'Pareto front', 'point labels', 'chosen design label'],
    });
    await checkChart(page, { label: 'step time breakdown', yLabel: false });
    await checkChart(page, { label: 'memory per GPU', yLabel: false, swatches: 3, markers: ['capacity'] });
    const labels = await textBoxes(
      page,
      'svg[aria-label="Pareto front"] g[aria-description="point labels"] text, svg[aria-label="Pareto front"] g[aria-description="chosen design label"] text',
    );
    expect(labels.length).toBeGreaterThan(3);
    for (const [i, a] of labels.entries()) {
      for (const b of labels.slice(i + 1)) {
        const overlap = a.x0 < b.x1 - 0.5 && b.x0 < a.x1 - 0.5 && a.y0 < b.y1 - 0.5 && b.y0 < a.y1 - 0.5;
        expect(overlap, `"${a.text}" overprints "${b.text}"`).toBe(false);
      }
    }
    const html = await readFile(file, 'utf8');
    expect(html).toContain('20-day deadline');
    await screenshots('plan-design', page);
    checkClean(opened, file);
    await page.close();
  }, 120_000);

  it('simulate: timeline on two axes, ETTR histogram with percentiles, badput bars', async () => {
    const args = ['simulate', 'examples/llama3-405b-54d.yaml', '--replicas', '4', '--days', '5', '--threads', '1'];
    const file = await report('simulate', ...args);
    const opened = await open(file);
    const { page } = opened;
    expect(await page.locator('figure[aria-label="timeline"]').count()).toBe(1);
    await checkChart(page, {
      label: 'timeline: tokens per second',
      swatches: 2,
      markers: ['tokens per second', 'interruptions'],
    });
    await checkChart(page, {
      label: 'timeline: facility power',
      swatches: 2,
      markers: ['facility power', 'interruptions'],
    });
    await checkChart(page, { label: 'ETTR distribution', markers: ['histogram', 'percentiles', 'percentile labels'] });
    const percentiles = await page
      .locator('svg[aria-label="ETTR distribution"] g[aria-description="percentile labels"] text')
      .allTextContents();
    expect(percentiles.map((t) => t.split(' ')[0]).sort()).toEqual(['P10', 'P50', 'P90']);
    await checkChart(page, { label: 'badput by cause', yLabel: false, markers: ['badput', 'values'] });
    // The two timeline panels share the time axis: same x range on screen.
    const [tokens, power] = await Promise.all(
      ['timeline: tokens per second', 'timeline: facility power'].map((label) =>
        page
          .locator(`svg[aria-label="${label}"] g[aria-label="x-axis tick"] path`)
          .evaluateAll((nodes) => nodes.map((n) => Math.round(n.getBoundingClientRect().left))),
      ),
    );
    expect(tokens).toEqual(power);
    await screenshots('simulate', page);
    checkClean(opened, file);
    await page.close();
    // Same input, same bytes.
    const again = join(dir, 'simulate-again.html');
    expect((await run(...args, '--report', again)).code).toBe(0);
    expect(await readFile(again, 'utf8')).toBe(await readFile(file, 'utf8'));
  }, 120_000);

  it('compare: both sides against job size with the breakpoint marked', async () => {
    const file = await report(
      'compare',
      'compare',
      'examples/breakpoint.yaml',
      '--sweep',
      '64,256,1024',
      '--threads',
      '1',
    );
    const opened = await open(file);
    const { page } = opened;
    for (const label of ['time to train, days', 'USD per million tokens']) {
      await checkChart(page, { label, swatches: 2, markers: ['series', 'points'] });
    }
    const html = await readFile(file, 'utf8');
    const breakpoint = /Breakpoint: ([\d,]+) GPUs/.exec(html)?.[1];
    if (breakpoint) {
      for (const label of ['time to train, days', 'USD per million tokens']) {
        await checkChart(page, { label, markers: ['breakpoint', 'breakpoint label'] });
        const text = await page
          .locator(`svg[aria-label="${label}"] g[aria-description="breakpoint label"] text`)
          .allTextContents();
        expect(text.join('')).toContain(`${breakpoint} GPUs`);
      }
    }
    await screenshots('compare', page);
    checkClean(opened, file);
    await page.close();
  }, 180_000);
});
