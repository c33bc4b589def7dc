/**
 * The second GPU exporter dialect: utkuozdemir/nvidia_gpu_exporter's `nvidia_smi_*` series (nvidia-smi based, one
 * `uuid` label), mapped onto the `DCGM_FI_*` vocabulary of dcgm.ts with dcgm-exporter's units, so that one KPI
 * module reads both.
 *
 * Units (../shared/data/telemetry/README.md, nvidia_gpu_exporter `internal/integration/testdata/*.metrics`): the
 * exporter publishes utilisation as a ratio 0–1 (`*_ratio`), clocks in Hz (`*_clock_hz`), memory in bytes, power
 * in W, temperatures in °C, and the active clock-event reasons (`nvidia_smi_clocks_event_reasons_active`, nvidia-smi's
 * `clocks_event_reasons.active` hex mask) as a number. dcgm-exporter (`etc/default-counters.csv`) publishes
 * utilisation in %, clocks in MHz, frame buffer in MiB; so ratio × 100, Hz ÷ 10⁶, bytes ÷ 2²⁰.
 *
 * Pure: no Node APIs.
 * @module
 */
import {
  type DcgmSample,
  type DcgmScrape,
  dcgmFieldName,
  type GpuIdentity,
  normaliseDcgm,
  normaliseDcgmSample,
} from './dcgm.js';
import { type Exposition, type PromSample, parsePrometheusText } from './prometheus-text.js';

/** A `nvidia_smi_*` metric's `DCGM_FI_*` field and the factor from the exporter's unit to dcgm-exporter's. */
export interface NvidiaSmiMapping {
  readonly field: string;
  readonly scale: number;
}

const PERCENT = 100; // ratio 0–1 → %
const MHZ = 1e-6; // Hz → MHz
const MIB = 1 / 2 ** 20; // bytes → MiB

/** `nvidia_smi_*` names mapped to `DCGM_FI_*` fields, with the unit factor. */
export const NVIDIA_SMI_FIELDS: Readonly<Record<string, NvidiaSmiMapping>> = {
  nvidia_smi_power_draw_watts: { field: 'DCGM_FI_DEV_POWER_USAGE', scale: 1 },
  nvidia_smi_utilization_gpu_ratio: { field: 'DCGM_FI_DEV_GPU_UTIL', scale: PERCENT },
  nvidia_smi_utilization_memory_ratio: { field: 'DCGM_FI_DEV_MEM_COPY_UTIL', scale: PERCENT },
  nvidia_smi_utilization_encoder_ratio: { field: 'DCGM_FI_DEV_ENC_UTIL', scale: PERCENT },
  nvidia_smi_utilization_decoder_ratio: { field: 'DCGM_FI_DEV_DEC_UTIL', scale: PERCENT },
  nvidia_smi_clocks_current_sm_clock_hz: { field: 'DCGM_FI_DEV_SM_CLOCK', scale: MHZ },
  nvidia_smi_clocks_current_memory_clock_hz: { field: 'DCGM_FI_DEV_MEM_CLOCK', scale: MHZ },
  nvidia_smi_temperature_gpu: { field: 'DCGM_FI_DEV_GPU_TEMP', scale: 1 },
  nvidia_smi_temperature_memory: { field: 'DCGM_FI_DEV_MEMORY_TEMP', scale: 1 },
  nvidia_smi_memory_used_bytes: { field: 'DCGM_FI_DEV_FB_USED', scale: MIB },
  nvidia_smi_memory_free_bytes: { field: 'DCGM_FI_DEV_FB_FREE', scale: MIB },
  nvidia_smi_memory_reserved_bytes: { field: 'DCGM_FI_DEV_FB_RESERVED', scale: MIB },
  nvidia_smi_clocks_event_reasons_active: { field: 'DCGM_FI_DEV_CLOCKS_EVENT_REASONS', scale: 1 },
  nvidia_smi_remapped_rows_correctable: { field: 'DCGM_FI_DEV_CORRECTABLE_REMAPPED_ROWS', scale: 1 },
  nvidia_smi_remapped_rows_uncorrectable: { field: 'DCGM_FI_DEV_UNCORRECTABLE_REMAPPED_ROWS', scale: 1 },
  nvidia_smi_remapped_rows_failure: { field: 'DCGM_FI_DEV_ROW_REMAP_FAILURE', scale: 1 },
};

/** The `nvidia_smi_*` names of a `DCGM_FI_*` field (for a query that asks for both dialects). */
export function nvidiaSmiNamesOf(field: string): string[] {
  return Object.entries(NVIDIA_SMI_FIELDS)
    .filter(([, mapping]) => mapping.field === field)
    .map(([name]) => name);
}

/** A scrape of either dialect, normalised; `unmapped` holds `nvidia_smi_*` series no DCGM field matches. */
export interface GpuScrape extends DcgmScrape {
  readonly unmapped: PromSample[];
}

/** Converts one `nvidia_smi_*` sample to the DCGM vocabulary; `undefined` when its name is not mapped. */
export function normaliseNvidiaSmiSample(sample: PromSample): DcgmSample | undefined {
  const mapping = NVIDIA_SMI_FIELDS[sample.name];
  if (mapping === undefined) return undefined;
  const normalised = normaliseDcgmSample(sample, mapping.field);
  return { ...normalised, value: sample.value * mapping.scale };
}

/**
 * Normalises a GPU exporter scrape of either dialect (dcgm-exporter, any version, and nvidia_gpu_exporter) into one
 * vocabulary. `nvidia_smi_gpu_info` (a constant 1 labelled with `name`, `index`, `pci_bus_id`) adds the model name,
 * index and bus id to the GPU's identity; other unmapped `nvidia_smi_*` series go to `unmapped`, anything else to
 * `foreign`. Never throws.
 */
export function normaliseGpuScrape(input: string | Exposition): GpuScrape {
  const exposition = typeof input === 'string' ? parsePrometheusText(input) : input;
  const dcgm = normaliseDcgm(exposition);
  const samples = [...dcgm.samples];
  const unattributed = [...dcgm.unattributed];
  const gpus = new Map(dcgm.gpus);
  const foreign: PromSample[] = [];
  const unmapped: PromSample[] = [];
  for (const sample of dcgm.foreign) {
    if (!sample.name.startsWith('nvidia_smi_')) {
      foreign.push(sample);
      continue;
    }
    const normalised = normaliseNvidiaSmiSample(sample);
    if (normalised === undefined) {
      unmapped.push(sample);
      continue;
    }
    if (normalised.gpuKey === undefined) {
      unattributed.push(normalised);
      continue;
    }
    samples.push(normalised);
    gpus.set(normalised.gpuKey, { ...normalised.gpu, ...gpus.get(normalised.gpuKey) });
  }
  // nvidia_smi_gpu_info names the model, index and bus of a uuid: fold it into that GPU's identity.
  for (const sample of unmapped) {
    if (sample.name !== 'nvidia_smi_gpu_info') continue;
    const uuid = sample.labels.uuid;
    if (uuid === undefined) continue;
    const key = normaliseDcgmSample({ ...sample, labels: { uuid } }, '').gpuKey;
    const known = key === undefined ? undefined : gpus.get(key);
    if (key === undefined || known === undefined) continue;
    const extra: Record<string, string> = {};
    if (sample.labels.name !== undefined) extra.modelName = sample.labels.name;
    if (sample.labels.index !== undefined) extra.gpu = sample.labels.index;
    if (sample.labels.pci_bus_id !== undefined) extra.pciBusId = sample.labels.pci_bus_id;
    gpus.set(key, { ...extra, ...known } as GpuIdentity);
  }
  return { samples, unattributed, gpus, foreign, unmapped, malformed: exposition.malformed };
}

/** The `DCGM_FI_*` field and unit factor of a metric name of either dialect; `undefined` for neither. */
export function gpuFieldOf(name: string): NvidiaSmiMapping | undefined {
  const dcgm = dcgmFieldName(name);
  if (dcgm !== undefined) return { field: dcgm, scale: 1 };
  return NVIDIA_SMI_FIELDS[name];
}
