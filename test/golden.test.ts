/**
 * Golden files for the reports (the Observable Plot habit): the text, Markdown and HTML of plan (on a system and
 * a design search), simulate and compare must equal the checked-in files in test/golden/, byte for byte.
 * Regenerate deliberately with `npx tsx scripts/update-golden.ts` and review the diff.
 */
import { readFile } from 'node:fs/promises';
import { describe, expect, it } from 'vitest';
import { GOLDEN_CASES, type GoldenOutput, goldenPath, renderGolden } from './support/golden-cases.js';

describe('golden reports', () => {
  it.each(GOLDEN_CASES.map((scenario) => [scenario.name, scenario] as const))(
    '%s renders as its golden files (npx tsx scripts/update-golden.ts to update)',
    async (_name, scenario) => {
      const output = await renderGolden(scenario);
      for (const kind of Object.keys(output) as (keyof GoldenOutput)[]) {
        const expected = await readFile(goldenPath(scenario.name, kind), 'utf8');
        expect(output[kind], `${goldenPath(scenario.name, kind)} differs`).toBe(expected);
      }
    },
    180_000,
  );
});
