/**
 * Constraints: the limits a design must respect (GPU budget, deadline, power cap, money budget).
 * @module
 */
import { z } from 'zod';
import { positiveInt, positiveNumber } from './common.js';

/** The user's limits; every field is optional. */
export const ConstraintsSchema = z
  .strictObject({
    maxGpus: positiveInt().optional().describe('Most accelerators the job may use'),
    deadlineDays: positiveNumber().optional().describe('Wall-clock days the training run may take'),
    powerCapMW: positiveNumber().optional().describe('Facility power available, MW'),
    budgetUSD: positiveNumber().optional().describe('Money available for the run (capex share + opex), USD'),
  })
  .describe('GPU budget, deadline, power cap and money budget');

export type Constraints = z.output<typeof ConstraintsSchema>;
