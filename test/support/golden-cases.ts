/**
 * The report scenarios kept as golden files (test/golden/): each runs the CLI in-process with a report path and
 * keeps the text it printed and the report it wrote. `npx tsx scripts/update-golden.ts` rewrites the files on
 * purpose; test/golden.test.ts fails on any difference, so a change in a renderer (or a figure) is reviewed as a
 * diff.
 * @module
 */
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runCli } from '../../src/cli/main.js';

/** One golden scenario: the CLI arguments (the spec first) and the report formats it writes. */
export interface GoldenCase {
  readonly name: string;
  readonly argv: readonly string[];
  /** A spec written into the scratch folder, named by `{spec}` in argv. */
  readonly spec?: string;
}

/** The scenarios: plan on a system and a design search, simulate, compare. */
export const GOLDEN_CASES: readonly GoldenCase[] = [
  { name: 'plan-llama3-8b', argv: ['plan', 'examples/llama3-8b.yaml', '--top', '3', '--threads', '1'] },
  {
    name: 'plan-design-search',
    spec: `name: small design search
workload: { model: llama3-8b, training: { totalTokens: 1T, sequenceLength: 8192, globalBatch: { sequences: 512 } } }
constraints: { maxGpus: 256, deadlineDays: 20 }
`,
    argv: ['plan', '{spec}', '--threads', '1'],
  },
  {
    name: 'simulate-llama3-405b-54d',
    argv: ['simulate', 'examples/llama3-405b-54d.yaml', '--replicas', '6', '--threads', '1'],
  },
  {
    name: 'compare-breakpoint',
    argv: ['compare', 'examples/breakpoint.yaml', '--sweep', '64,512,4096', '--replicas', '2', '--threads', '1'],
  },
];

/** The three renderings of one scenario: what the terminal shows, the Markdown report, the HTML report. */
export interface GoldenOutput {
  readonly text: string;
  readonly markdown: string;
  readonly html: string;
}

/** Runs a scenario twice (once per report format) and returns its renderings. */
export async function renderGolden(scenario: GoldenCase): Promise<GoldenOutput> {
  const dir = await mkdtemp(join(tmpdir(), 'tokenworks-golden-'));
  try {
    let specPath: string | undefined;
    if (scenario.spec !== undefined) {
      specPath = join(dir, 'spec.yaml');
      await writeFile(specPath, scenario.spec);
    }
    const argv = scenario.argv.map((arg) => (arg === '{spec}' ? (specPath ?? arg) : arg));
    const run = async (report: string) => {
      let stdout = '';
      const code = await runCli([...argv, '--quiet', '--report', report], {
        stdout: { write: (text: string) => (stdout += text) },
        stderr: { write: () => true, isTTY: false },
      });
      if (code !== 0) throw new Error(`${scenario.name}: exit ${code}`);
      return { stdout: stdout.replaceAll(dir, '<tmp>'), report: await readFile(report, 'utf8') };
    };
    const markdown = await run(join(dir, 'report.md'));
    const html = await run(join(dir, 'report.html'));
    return { text: markdown.stdout, markdown: markdown.report, html: html.report };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/** Where a scenario's rendering is kept. */
export function goldenPath(name: string, kind: keyof GoldenOutput): string {
  const extension = { text: 'txt', markdown: 'md', html: 'html' }[kind];
  return join('test', 'golden', `${name}.${extension}`);
}
