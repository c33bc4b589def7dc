/**
 * The report of `tokenworks catalog`: each kind (accelerators, fabrics, facilities, models) as a table, or one
 * entry with every figure, its unit and its source.
 * @module
 */
import {
  ACCELERATORS,
  type AcceleratorEntry,
  FABRICS,
  FACILITY_PRESETS,
  type FabricEntry,
  type Figure,
  findAccelerator,
  findFabric,
  findModelPreset,
  MODEL_PRESETS,
  type ModelPreset,
} from '../catalog/index.js';
import { TokenworksError } from '../errors.js';
import { countParameters } from '../perf/model-size.js';
import { resolveModel } from '../spec/resolve.js';
import { ModelSchema } from '../spec/workload.js';
import { formatCount } from './format.js';
import { renderPairs, renderTable } from './table.js';

/** The kinds of catalog entry. */
export const CATALOG_KINDS = ['accelerators', 'fabrics', 'facilities', 'models'] as const;
/** One kind of catalog entry. */
export type CatalogKind = (typeof CATALOG_KINDS)[number];

/** Every entry of one kind. */
export function entriesOf(kind: CatalogKind): readonly object[] {
  switch (kind) {
    case 'accelerators':
      return ACCELERATORS;
    case 'fabrics':
      return FABRICS;
    case 'facilities':
      return FACILITY_PRESETS;
    case 'models':
      return MODEL_PRESETS;
  }
}

/** One entry by id or alias; an unknown id is a usage error with suggestions. */
export function findEntry(kind: CatalogKind, id: string): object {
  if (kind === 'facilities') {
    const preset = FACILITY_PRESETS.find((candidate) => candidate.id === id);
    if (preset) return preset;
    throw new TokenworksError(
      'USAGE',
      `unknown facility "${id}"; valid: ${FACILITY_PRESETS.map((p) => p.id).join(', ')}`,
    );
  }
  const found =
    kind === 'accelerators' ? findAccelerator(id) : kind === 'fabrics' ? findFabric(id) : findModelPreset(id);
  if (found.found) return found.entry;
  const hint = found.suggestions.length ? `did you mean ${found.suggestions.map((s) => `"${s}"`).join(' or ')}? ` : '';
  throw new TokenworksError('USAGE', `unknown ${kind.slice(0, -1)} "${id}"; ${hint}(list: tokenworks catalog ${kind})`);
}

/** The heading of one kind's table. */
export function title(kind: CatalogKind): string {
  return kind[0]?.toUpperCase() + kind.slice(1);
}

const value = (figure: Figure | null | undefined): string =>
  figure ? String(Number(figure.value.toPrecision(4))) : '-';

/** The table of one kind. */
export function renderKind(kind: CatalogKind): string {
  switch (kind) {
    case 'accelerators':
      return renderTable(
        [
          { header: 'id' },
          { header: 'name' },
          { header: 'BF16 TF', align: 'right' },
          { header: 'FP8 TF', align: 'right' },
          { header: 'HBM GB', align: 'right' },
          { header: 'HBM GB/s', align: 'right' },
          { header: 'scale-up GB/s', align: 'right' },
          { header: 'domain', align: 'right' },
          { header: 'NIC Gb/s', align: 'right' },
          { header: 'TDP W', align: 'right' },
        ],
        ACCELERATORS.map((a: AcceleratorEntry) => [
          a.id,
          a.name,
          value(a.peakTflops.bf16),
          value(a.peakTflops.fp8),
          value(a.hbmCapacityGiB),
          value(a.hbmBandwidthGBps),
          value(a.scaleUp.bandwidthGBps),
          value(a.scaleUp.domainSize),
          value(a.scaleOutGbps),
          value(a.tdpW),
        ]),
      );
    case 'fabrics':
      return renderTable(
        [
          { header: 'id' },
          { header: 'protocol' },
          { header: 'link Gb/s', align: 'right' },
          { header: 'switch' },
          { header: 'radix', align: 'right' },
          { header: 'Tb/s', align: 'right' },
          { header: 'NIC' },
          { header: 'NCCL GB/s/NIC', align: 'right' },
        ],
        FABRICS.map((f: FabricEntry) => [
          f.id,
          f.protocol,
          value(f.linkGbps),
          f.switch.name,
          value(f.switch.radix),
          value(f.switch.capacityTbps),
          f.nic.name,
          value(f.achievedGBpsPerNic),
        ]),
      );
    case 'facilities':
      return renderTable(
        [
          { header: 'id' },
          { header: 'name' },
          { header: 'rack kW', align: 'right' },
          { header: 'PUE', align: 'right' },
        ],
        FACILITY_PRESETS.map((f) => [f.id, f.name, value(f.rackPowerLimitKW), value(f.pue)]),
      );
    case 'models':
      return renderTable(
        [
          { header: 'id' },
          { header: 'name' },
          { header: 'layers', align: 'right' },
          { header: 'hidden', align: 'right' },
          { header: 'heads/kv', align: 'right' },
          { header: 'experts', align: 'right' },
          { header: 'params', align: 'right' },
          { header: 'published', align: 'right' },
          { header: 'active', align: 'right' },
        ],
        MODEL_PRESETS.map((preset: ModelPreset) => {
          const model = resolveModel(ModelSchema.parse(preset.model));
          const counts = countParameters(model);
          const active = preset.published.activeParamsB?.convention === 'matmul' ? counts.activeMatmul : counts.active;
          return [
            preset.id,
            model.name,
            String(model.layers),
            String(model.hiddenSize),
            `${model.heads}/${model.kvHeads}`,
            model.moe ? `${model.moe.experts} top-${model.moe.topK}` : '-',
            formatCount(counts.total),
            `${preset.published.totalParamsB.value} B`,
            model.moe ? formatCount(active) : '-',
          ];
        }),
      );
  }
}

/** Renders one entry as aligned `field  value unit (note)  [source]` lines. */
/** One entry with every figure and its source. */
export function renderEntry(entry: object): string {
  const pairs: [string, string][] = [];
  const walk = (node: unknown, path: string): void => {
    if (node === null || node === undefined) {
      pairs.push([path, '(not published)']);
    } else if (isFigure(node)) {
      pairs.push([path, `${node.value} ${node.unit}${node.note ? ` (${node.note})` : ''}  [${node.source}]`]);
    } else if (Array.isArray(node)) {
      pairs.push([path, node.join(', ')]);
    } else if (typeof node === 'object') {
      for (const [key, child] of Object.entries(node)) walk(child, path ? `${path}.${key}` : key);
    } else {
      pairs.push([path, String(node)]);
    }
  };
  walk(entry, '');
  return renderPairs(pairs);
}

function isFigure(node: unknown): node is Figure {
  return typeof node === 'object' && node !== null && 'value' in node && 'source' in node && 'unit' in node;
}
