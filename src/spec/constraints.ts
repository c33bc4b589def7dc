/**
 * Constraints: the limits a design must respect (GPU budget, deadline, power cap, money budget).
 * @module
 */
import { z } from 'zod';
import { LIMITS, positiveInt } from './common.js';

/** Shortest deadline, days (15 minutes): a run shorter than that is not a factory-planning question. */
const MIN_DEADLINE_DAYS = 0.01;
/** Largest power cap, MW: 100 GW, 100× the gigawatt campuses announced. */
const MAX_POWER_MW = 100_000;

/** The user's limits; every field is optional. */
export const ConstraintsSchema = z
  .strictObject({
    maxGpus: positiveInt(LIMITS.gpus).optional().describe('Most accelerators the job may use'),
    deadlineDays: z
      .number()
      .min(MIN_DEADLINE_DAYS)
      .max(LIMITS.days)
      .optional()
      .describe('Wall-clock days the training run may take'),
    powerCapMW: z.number().min(0.001).max(MAX_POWER_MW).optional().describe('Facility power available, MW'),
    budgetUSD: z
      .number()
      .min(1)
      .max(LIMITS.usd)
      .optional()
      .describe('Money available for the run (capex share + opex), USD'),
  })
  .describe('GPU budget, deadline, power cap and money budget');

export type Constraints = z.output<typeof ConstraintsSchema>;
