/**
 * The spec file: one YAML or JSON document holding a workload and, optionally, the system it runs on, the
 * facility, the plan, the constraints and the digital twin's settings.
 * @module
 */
import { z } from 'zod';
import { CompareSchema } from './compare.js';
import { ConstraintsSchema } from './constraints.js';
import { FacilitySchema } from './facility.js';
import { PlanSchema } from './plan.js';
import { SystemSchema } from './system.js';
import { TwinSchema } from './twin.js';
import { WorkloadSchema } from './workload.js';

/** A whole Tokenworks spec document. */
export const SpecSchema = z
  .strictObject({
    $schema: z.string().optional().describe('JSON Schema reference for editors'),
    name: z.string().optional().describe('What this spec describes'),
    workload: WorkloadSchema,
    system: SystemSchema.optional(),
    facility: FacilitySchema.optional(),
    plan: PlanSchema.optional(),
    constraints: ConstraintsSchema.optional(),
    twin: TwinSchema.optional(),
    compare: CompareSchema.optional(),
  })
  .describe('A Tokenworks spec: workload, system, facility, plan and constraints');

/** A spec document as parsed, before catalog references are resolved. */
export type SpecInput = z.output<typeof SpecSchema>;
