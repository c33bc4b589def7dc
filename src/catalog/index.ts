/**
 * The sourced catalog: accelerators, fabrics, facility presets and model presets, with lookups by id or alias.
 * @module
 */
import { ACCELERATORS, type AcceleratorEntry } from './accelerators.js';
import { FABRICS, type FabricEntry } from './fabrics.js';
import { type LookupResult, lookup } from './lookup.js';
import { MODEL_PRESETS, type ModelPreset } from './models.js';

export { ACCELERATORS, type AcceleratorEntry, type PeakPrecision } from './accelerators.js';
export { FABRICS, type FabricEntry } from './fabrics.js';
export { DEFAULT_ELECTRICITY_PRICE, FACILITY_PRESETS, type FacilityPreset, facilityPreset } from './facilities.js';
export { type Figure, fig } from './figure.js';
export { type LookupResult, lookup, suggest } from './lookup.js';
export { type ActiveParamsConvention, MODEL_PRESETS, type ModelPreset } from './models.js';

/** Finds an accelerator by id or alias (`h100`, `nvidia-h100-sxm5-80gb`). */
export const findAccelerator = (name: string): LookupResult<AcceleratorEntry> => lookup(ACCELERATORS, name);
/** Finds a fabric by id or alias (`ndr-ib`, `quantum-2`). */
export const findFabric = (name: string): LookupResult<FabricEntry> => lookup(FABRICS, name);
/** Finds a model preset by id or alias (`llama3-70b`). */
export const findModelPreset = (name: string): LookupResult<ModelPreset> => lookup(MODEL_PRESETS, name);
