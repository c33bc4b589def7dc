/**
 * Facility presets per cooling technology: the rack power a cooling kind can carry and a typical PUE.
 * Figures from ../shared/data/catalog/hardware-catalog.json (facilities) with their sources.
 * @module
 */
import type { Cooling } from '../spec/facility.js';
import { type Figure, fig } from './figure.js';

/** Defaults for one cooling technology. */
export interface FacilityPreset {
  readonly id: Cooling;
  readonly name: string;
  readonly rackPowerLimitKW: Figure;
  readonly pue: Figure;
}

const COOLING_LIMITS = 'https://flashgenius.net/guides/data-center-power-amp-cooling-for-ai-ncp-aii-guide';
const PUE_BY_COOLING = 'https://aiinframap.com/tools/energy/datacenter-power-calculator';

/** Every facility preset. */
export const FACILITY_PRESETS: readonly FacilityPreset[] = Object.freeze([
  {
    id: 'air',
    name: 'Air cooled',
    rackPowerLimitKW: fig(30, 'kW per rack', COOLING_LIMITS, 'practical limit 25-30 kW; 30-40 kW optimistic'),
    pue: fig(1.5, 'ratio', PUE_BY_COOLING, 'air-cooled colocation 1.4-1.6; midpoint'),
  },
  {
    id: 'direct-liquid',
    name: 'Direct-to-chip liquid cooled',
    rackPowerLimitKW: fig(
      140,
      'kW per rack',
      COOLING_LIMITS,
      '50-120+ kW; NVL72-class racks run at 120-140 kW (Fairwater 140 kW)',
    ),
    pue: fig(1.15, 'ratio', PUE_BY_COOLING, 'liquid-cooled hyperscale 1.10-1.25; midpoint rounded down'),
  },
  {
    id: 'immersion',
    name: 'Immersion cooled',
    rackPowerLimitKW: fig(100, 'kW per tank', COOLING_LIMITS, '100+ kW per tank'),
    pue: fig(
      1.1,
      'ratio',
      'planner assumption: no reliable published figure (hardware-catalog.md sec. 3.2)',
      'vendor claims of 1.03-1.05 are unverified; set facility.pue to use your own',
    ),
  },
]);

/** The preset for a cooling technology. */
export function facilityPreset(cooling: Cooling): FacilityPreset {
  const preset = FACILITY_PRESETS.find((candidate) => candidate.id === cooling);
  if (!preset) throw new Error(`internal: no facility preset for cooling "${cooling}"`);
  return preset;
}

/** US industrial electricity price, 2025 average (EIA via Epoch AI). */
export const DEFAULT_ELECTRICITY_PRICE: Figure = fig(
  0.0826,
  'USD/kWh',
  'github epoch-research/training-cost-trends training_cost_trends/hardware.py (EIA)',
  'US industrial average 2025; states range 0.04-0.18',
);
