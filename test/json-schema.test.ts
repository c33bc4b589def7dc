import { readFile } from 'node:fs/promises';
import { describe, expect, it } from 'vitest';
import { jsonSchemas } from '../src/spec/json-schema.js';

describe('JSON Schema files', () => {
  it.each(Object.entries(jsonSchemas()))('schemas/%s is up to date (run npm run schemas)', async (file, schema) => {
    const onDisk = JSON.parse(await readFile(`schemas/${file}`, 'utf8'));
    expect(onDisk).toEqual(schema);
  });

  it('describes the fields with their units', () => {
    const spec = jsonSchemas()['spec.schema.json'] as { properties: Record<string, unknown> };
    expect(Object.keys(spec.properties)).toEqual(
      expect.arrayContaining(['workload', 'system', 'facility', 'plan', 'constraints']),
    );
    expect(JSON.stringify(spec)).toContain('bandwidthGBps');
  });
});
