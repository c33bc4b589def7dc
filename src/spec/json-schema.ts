/**
 * JSON Schema (draft 2020-12) of every spec concept, generated from the zod schemas, so that editors complete
 * and check spec files (`# yaml-language-server: $schema=../schemas/spec.schema.json`).
 * `npm run schemas` writes them to schemas/; a test keeps the checked-in files in step.
 * @module
 */
import { z } from 'zod';
import { ConstraintsSchema } from './constraints.js';
import { FacilitySchema } from './facility.js';
import { PlanSchema } from './plan.js';
import { SpecSchema } from './spec.js';
import { SystemSchema } from './system.js';
import { WorkloadSchema } from './workload.js';

const CONCEPTS = {
  spec: SpecSchema,
  workload: WorkloadSchema,
  system: SystemSchema,
  facility: FacilitySchema,
  plan: PlanSchema,
  constraints: ConstraintsSchema,
} as const;

/** File name (without directory) and JSON Schema document of each concept. */
export function jsonSchemas(): Record<string, object> {
  const out: Record<string, object> = {};
  for (const [name, schema] of Object.entries(CONCEPTS)) {
    const document = z.toJSONSchema(schema, { io: 'input', unrepresentable: 'any', target: 'draft-2020-12' });
    out[`${name}.schema.json`] = { ...document, title: `Tokenworks ${name}` };
  }
  return out;
}
