/**
 * Writes the JSON Schema of every spec concept and of every use case's `--json` output to schemas/ (atomically). Run with `npm run schemas` after
 * changing a schema; test/json-schema.test.ts fails while the files are stale.
 */
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { outputJsonSchemas } from '../src/app/outputs.js';
import { writeFileAtomic } from '../src/node/files.js';
import { jsonSchemas } from '../src/spec/json-schema.js';

const directory = join(import.meta.dirname, '..', 'schemas');
await mkdir(directory, { recursive: true });
for (const [file, schema] of Object.entries({ ...jsonSchemas(), ...outputJsonSchemas() })) {
  await writeFileAtomic(join(directory, file), `${JSON.stringify(schema, null, 2)}\n`);
  console.log(`wrote schemas/${file}`);
}
