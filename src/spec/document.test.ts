import { readdirSync, readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { specDocument } from './document.js';
import { loadSpec, validateSpec } from './load.js';

const examples = readdirSync(new URL('../../examples/', import.meta.url)).filter((f) => f.endsWith('.yaml'));

describe('spec documents of resolved designs', () => {
  it.each(examples)('%s resolves back to the same workload, system, plan and facility', (file) => {
    const text = readFileSync(new URL(`../../examples/${file}`, import.meta.url), 'utf8');
    const loaded = loadSpec(text, 'yaml');
    if (!loaded.ok) throw new Error(JSON.stringify(loaded.issues));
    const { workload, system, plan, facility } = loaded.value;
    if (!system || !plan) return;
    const document = specDocument({ workload, system, plan, ...(facility && { facility }) });
    const again = validateSpec(JSON.parse(JSON.stringify(document)));
    if (!again.ok) throw new Error(JSON.stringify(again.issues));
    expect(again.value.workload).toEqual(workload);
    expect(again.value.system).toEqual(system);
    expect(again.value.plan).toEqual(plan);
    expect(again.value.facility).toEqual(facility);
  });
});
