/**
 * Facility: cooling, power usage effectiveness, rack power limit and electricity price. Fields left out come from
 * the cooling preset in the catalog (`tokenworks catalog facilities`).
 * @module
 */
import { z } from 'zod';
import { positiveNumber } from './common.js';

/** Cooling technologies with a preset in the catalog. */
export const CoolingSchema = z.enum(['air', 'direct-liquid', 'immersion']);

/** The building the factory sits in. */
export const FacilitySchema = z
  .strictObject({
    cooling: CoolingSchema.default('direct-liquid'),
    pue: z.number().min(1).max(3).optional().describe('Power usage effectiveness; default from the cooling preset'),
    rackPowerLimitKW: positiveNumber().optional().describe('IT power one rack may draw, kW'),
    electricityPriceUSDPerKWh: positiveNumber().optional().describe('Energy price, USD per kWh'),
    constructionUSDPerMW: positiveNumber().optional().describe('Build cost per MW of IT load; default $11.7M'),
    facilityLifeYears: positiveNumber().optional().describe('Amortisation of the building; default 20 years'),
    hardwareLifeYears: positiveNumber().optional().describe('Amortisation of servers and network; default 5 years'),
    storagePowerShare: z.number().min(0).max(1).optional().describe('Storage and management power / compute power'),
    checkpointWriteSeconds: positiveNumber().optional().describe('Time a checkpoint may take; sizes storage bandwidth'),
  })
  .describe('Cooling, PUE, rack power limit and electricity price');

export type Cooling = z.output<typeof CoolingSchema>;
export type FacilityInput = z.output<typeof FacilitySchema>;
