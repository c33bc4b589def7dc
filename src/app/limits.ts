/**
 * The bounds and names the front-ends (CLI flags, HTTP query parameters) check their input against, from the
 * spec schemas, in a module light enough to load at start-up.
 * @module
 */
import { LIMITS } from '../spec/common.js';
import { type Effects, EffectsSchema, MAX_SIZES } from '../spec/compare.js';

/** The multi-tenancy effects a comparison can switch off, by the names of the spec's `compare.effects`. */
export const EFFECT_NAMES = Object.keys(EffectsSchema.shape) as (keyof Effects)[];

/** Most job sizes one comparison sweeps, and the largest job size (the spec's GPU bound). */
export const SWEEP_LIMITS = { sizes: MAX_SIZES, gpus: LIMITS.gpus } as const;
