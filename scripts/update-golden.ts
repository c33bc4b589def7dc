/**
 * Rewrites the golden reports in test/golden/ from fresh runs (`npx tsx scripts/update-golden.ts`). Run it on
 * purpose after a change to a renderer or a model, then review `git diff test/golden` before committing.
 * @module
 */
import { writeFileAtomic } from '../src/node/files.js';
import { GOLDEN_CASES, type GoldenOutput, goldenPath, renderGolden } from '../test/support/golden-cases.js';

process.chdir(new URL('..', import.meta.url).pathname);
for (const scenario of GOLDEN_CASES) {
  const output = await renderGolden(scenario);
  for (const kind of Object.keys(output) as (keyof GoldenOutput)[]) {
    await writeFileAtomic(goldenPath(scenario.name, kind), output[kind]);
    console.log(`wrote ${goldenPath(scenario.name, kind)}`);
  }
}
