/**
 * The bounds and names the front-ends (CLI flags, HTTP query parameters) check their input against, from the
 * spec's ranges, in a module light enough to load at start-up (no schema library).
 * @module
 */
import { LIMITS, MAX_SIZES, EFFECT_NAMES as NAMES } from '../spec/limits.js';

/** The multi-tenancy effects a comparison can switch off, by the names of the spec's `compare.effects`. */
export const EFFECT_NAMES: readonly (typeof NAMES)[number][] = NAMES;

/** Most job sizes one comparison sweeps, and the largest job size (the spec's GPU bound). */
export const SWEEP_LIMITS = { sizes: MAX_SIZES, gpus: LIMITS.gpus } as const;
