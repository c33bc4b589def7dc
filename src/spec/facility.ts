/**
 * Facility: cooling, power usage effectiveness, rack power limit and electricity price. Fields left out come from
 * the cooling preset in the catalog (`tokenworks catalog facilities`).
 * @module
 */
import { z } from 'zod';
import { positiveNumber } from './common.js';

/** Cooling technologies with a preset in the catalog. */
export const CoolingSchema = z.enum(['air', 'direct-liquid', 'immersion']);

/**
 * The building the factory sits in. Ranges: racks up to 5 MW (8× the 600 kW Kyber racks announced), energy up
 * to $10/kWh (10× Europe's 2022 peak), construction up to $1B per MW (85× the $11.7M default), lives of 0.1 to
 * 100 years, a checkpoint budget of 0.1 s to a day.
 */
export const FacilitySchema = z
  .strictObject({
    cooling: CoolingSchema.default('direct-liquid'),
    pue: z.number().min(1).max(3).optional().describe('Power usage effectiveness; default from the cooling preset'),
    rackPowerLimitKW: positiveNumber(5000).optional().describe('IT power one rack may draw, kW'),
    electricityPriceUSDPerKWh: positiveNumber(10).optional().describe('Energy price, USD per kWh'),
    constructionUSDPerMW: positiveNumber(1e9).optional().describe('Build cost per MW of IT load; default $11.7M'),
    facilityLifeYears: z
      .number()
      .min(0.1)
      .max(100)
      .optional()
      .describe('Amortisation of the building; default 20 years'),
    hardwareLifeYears: z
      .number()
      .min(0.1)
      .max(100)
      .optional()
      .describe('Amortisation of servers and network; default 5 years'),
    storagePowerShare: z.number().min(0).max(1).optional().describe('Storage and management power / compute power'),
    checkpointWriteSeconds: z
      .number()
      .min(0.1)
      .max(86400)
      .optional()
      .describe('Time a checkpoint may take; sizes storage bandwidth'),
  })
  .describe('Cooling, PUE, rack power limit and electricity price');

export type Cooling = z.output<typeof CoolingSchema>;
export type FacilityInput = z.output<typeof FacilitySchema>;
