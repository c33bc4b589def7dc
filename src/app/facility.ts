/**
 * The defaults a use case fills when the spec leaves the building or the accelerator open: one rule each, used by
 * every use case (plan, simulate, compare, check). Light: no engine beyond the catalog and spec resolution.
 * @module
 */
import { systemPreset } from '../catalog/systems.js';
import { type ResolvedFacility, type ResolvedSpec, resolveFacility } from '../spec/resolve.js';

/**
 * The accelerator a comparison prices when the spec names no system: the H100 SXM, the part of the published
 * shared-cluster traces' era and of most published training runs (docs/breakpoint.md).
 */
export const DEFAULT_ACCELERATOR = 'h100-sxm';

/**
 * The facility of a spec that names none. Rack-scale parts (NVL72-class, bought as whole liquid-cooled racks)
 * need direct liquid cooling; servers of a named accelerator stand in an air-cooled hall; a search across the
 * catalog, which may pick either, is priced in a direct-liquid hall (the cooling every part can use).
 */
export function defaultFacility(spec: ResolvedSpec, acceleratorId = spec.system?.accelerator.id): ResolvedFacility {
  if (spec.facility) return spec.facility;
  if (acceleratorId === undefined) return resolveFacility({ cooling: 'direct-liquid' });
  return resolveFacility({ cooling: systemPreset(acceleratorId)?.rack ? 'direct-liquid' : 'air' });
}
