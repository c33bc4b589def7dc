/**
 * dcgm-exporter samples normalised: one metric vocabulary (the `DCGM_FI_*` field names) and one GPU identity,
 * whatever exporter version or scrape path produced them.
 *
 * Sources: NVIDIA/dcgm-exporter `etc/default-counters.csv` (the metric list: `DCGM field, Prometheus type, help`),
 * `etc/1.x-compatibility-metrics.csv` (the lower-case names of exporter 1.x, still seen in user reports) and
 * `internal/pkg/rendermetrics/render_metrics.go` (the GPU label set: `gpu`, `UUID` or `uuid` with
 * `--use-old-namespace`, `pci_bus_id`, `device`, `modelName`, `GPU_I_PROFILE`/`GPU_I_ID` on MIG, `Hostname`, renamed
 * `hostname` on 2026-05-12 by PR #655, then Kubernetes `namespace`/`pod`/`container` or HPC `hpc_job` labels).
 * Label quirks handled here (docs/research operate.md §1.1):
 * - `Hostname`/`hostname`, `UUID`/`uuid`/`gpu_uuid`, `modelName`/`model_name` are one field each;
 * - a Prometheus scrape with `honor_labels: false` renames the exporter's `pod`, `namespace`, `container`, … to
 *   `exported_pod`, …; the `exported_*` value is the exporter's own and wins over the un-prefixed one (which then
 *   names the exporter's pod);
 * - a series with no GPU label at all (`gpu`, a UUID, `device`, `pci_bus_id`) names no GPU: it is reported apart,
 *   never attributed to a GPU (DataDog's fixture carries 14 such dummy zeros).
 *
 * Pure: no Node APIs.
 * @module
 */
import type { GpuPoint } from '../app/ports.js';
import { type Exposition, type MalformedLine, type PromSample, parsePrometheusText } from './prometheus-text.js';

/**
 * dcgm-exporter 1.x metric names (`etc/1.x-compatibility-metrics.csv`, enabled and commented-out lines) mapped to
 * the `DCGM_FI_*` field names of `etc/default-counters.csv`.
 */
export const DCGM_1X_NAMES: Readonly<Record<string, string>> = {
  dcgm_sm_clock: 'DCGM_FI_DEV_SM_CLOCK',
  dcgm_memory_clock: 'DCGM_FI_DEV_MEM_CLOCK',
  dcgm_memory_temp: 'DCGM_FI_DEV_MEMORY_TEMP',
  dcgm_gpu_temp: 'DCGM_FI_DEV_GPU_TEMP',
  dcgm_power_usage: 'DCGM_FI_DEV_POWER_USAGE',
  dcgm_total_energy_consumption: 'DCGM_FI_DEV_TOTAL_ENERGY_CONSUMPTION',
  dcgm_fi_prof_pcie_tx_bytes: 'DCGM_FI_PROF_PCIE_TX_BYTES',
  dcgm_fi_prof_pcie_rx_bytes: 'DCGM_FI_PROF_PCIE_RX_BYTES',
  dcgm_pcie_replay_counter: 'DCGM_FI_DEV_PCIE_REPLAY_COUNTER',
  dcgm_gpu_utilization: 'DCGM_FI_DEV_GPU_UTIL',
  dcgm_mem_copy_utilization: 'DCGM_FI_DEV_MEM_COPY_UTIL',
  dcgm_enc_utilization: 'DCGM_FI_DEV_ENC_UTIL',
  dcgm_dec_utilization: 'DCGM_FI_DEV_DEC_UTIL',
  dcgm_xid_errors: 'DCGM_FI_DEV_XID_ERRORS',
  dcgm_power_violation: 'DCGM_FI_DEV_POWER_VIOLATION',
  dcgm_thermal_violation: 'DCGM_FI_DEV_THERMAL_VIOLATION',
  dcgm_sync_boost_violation: 'DCGM_FI_DEV_SYNC_BOOST_VIOLATION',
  dcgm_board_limit_violation: 'DCGM_FI_DEV_BOARD_LIMIT_VIOLATION',
  dcgm_low_util_violation: 'DCGM_FI_DEV_LOW_UTIL_VIOLATION',
  dcgm_reliability_violation: 'DCGM_FI_DEV_RELIABILITY_VIOLATION',
  dcgm_fb_free: 'DCGM_FI_DEV_FB_FREE',
  dcgm_fb_used: 'DCGM_FI_DEV_FB_USED',
  dcgm_ecc_sbe_volatile_total: 'DCGM_FI_DEV_ECC_SBE_VOL_TOTAL',
  dcgm_ecc_dbe_volatile_total: 'DCGM_FI_DEV_ECC_DBE_VOL_TOTAL',
  dcgm_ecc_sbe_aggregate_total: 'DCGM_FI_DEV_ECC_SBE_AGG_TOTAL',
  dcgm_ecc_dbe_aggregate_total: 'DCGM_FI_DEV_ECC_DBE_AGG_TOTAL',
  dcgm_retired_pages_sbe: 'DCGM_FI_DEV_RETIRED_SBE',
  dcgm_retired_pages_dbe: 'DCGM_FI_DEV_RETIRED_DBE',
  dcgm_retired_pages_pending: 'DCGM_FI_DEV_RETIRED_PENDING',
  dcgm_nvlink_flit_crc_error_count_total: 'DCGM_FI_DEV_NVLINK_CRC_FLIT_ERROR_COUNT_TOTAL',
  dcgm_nvlink_data_crc_error_count_total: 'DCGM_FI_DEV_NVLINK_CRC_DATA_ERROR_COUNT_TOTAL',
  dcgm_nvlink_replay_error_count_total: 'DCGM_FI_DEV_NVLINK_REPLAY_ERROR_COUNT_TOTAL',
  dcgm_nvlink_recovery_error_count_total: 'DCGM_FI_DEV_NVLINK_RECOVERY_ERROR_COUNT_TOTAL',
  dcgm_nvlink_bandwidth_total: 'DCGM_FI_DEV_NVLINK_BANDWIDTH_TOTAL',
  dcgm_fi_prof_gr_engine_active: 'DCGM_FI_PROF_GR_ENGINE_ACTIVE',
  dcgm_fi_prof_sm_active: 'DCGM_FI_PROF_SM_ACTIVE',
  dcgm_fi_prof_sm_occupancy: 'DCGM_FI_PROF_SM_OCCUPANCY',
  dcgm_fi_prof_pipe_tensor_active: 'DCGM_FI_PROF_PIPE_TENSOR_ACTIVE',
  dcgm_fi_prof_dram_active: 'DCGM_FI_PROF_DRAM_ACTIVE',
};

/**
 * The `DCGM_FI_*` (or `DCGM_EXP_*`) name of a dcgm-exporter metric: current names as they are, 1.x names through
 * {@link DCGM_1X_NAMES}, and any other lower-case `dcgm_fi_*` name upper-cased; `undefined` for a name that is not
 * dcgm-exporter's.
 */
export function dcgmFieldName(name: string): string | undefined {
  if (/^DCGM_(FI|EXP)_[A-Z0-9_]+$/.test(name)) return name;
  const mapped = DCGM_1X_NAMES[name];
  if (mapped !== undefined) return mapped;
  if (/^dcgm_(fi|exp)_[a-z0-9_]+$/.test(name)) return name.toUpperCase();
  return undefined;
}

/** Which GPU a sample describes, from whichever label spelling carried it. */
export interface GpuIdentity {
  readonly hostname?: string;
  readonly uuid?: string;
  /** The exporter's GPU index (`gpu` label). */
  readonly gpu?: string;
  readonly device?: string;
  readonly pciBusId?: string;
  readonly modelName?: string;
  /** MIG instance profile and id (`GPU_I_PROFILE`, `GPU_I_ID`). */
  readonly migProfile?: string;
  readonly migInstance?: string;
}

/** The job a GPU's sample belongs to, from Kubernetes or HPC mode labels. */
export interface Workload {
  readonly namespace?: string;
  readonly pod?: string;
  readonly container?: string;
  readonly podUid?: string;
  readonly hpcJob?: string;
}

/** One dcgm-exporter sample in the normalised vocabulary. */
export interface DcgmSample {
  /** `DCGM_FI_*` field name. */
  readonly field: string;
  /** The name as scraped (a 1.x name differs from `field`). */
  readonly sourceName: string;
  readonly value: number;
  readonly timestamp?: number;
  /** A stable key of the GPU (`hostname/uuid`, falling back to the index or device), or undefined for no GPU. */
  readonly gpuKey?: string;
  readonly gpu: GpuIdentity;
  readonly workload: Workload;
  /** The labels that are neither identity nor workload (driver version, `err_code`, …), `exported_` removed. */
  readonly attributes: Readonly<Record<string, string>>;
  readonly line: number;
}

/** A normalised scrape. */
export interface DcgmScrape {
  /** Samples attributed to a GPU. */
  readonly samples: DcgmSample[];
  /** dcgm-exporter samples with no GPU label: reported, never attributed (dummy or exporter-level series). */
  readonly unattributed: DcgmSample[];
  /** The GPUs seen, by `gpuKey`, first sighting first. */
  readonly gpus: Map<string, GpuIdentity>;
  /** Samples whose name is not dcgm-exporter's (other exporters' series on the same endpoint). */
  readonly foreign: PromSample[];
  readonly malformed: MalformedLine[];
}

const IDENTITY: Readonly<Record<string, keyof GpuIdentity>> = {
  hostname: 'hostname',
  Hostname: 'hostname',
  UUID: 'uuid',
  uuid: 'uuid',
  gpu_uuid: 'uuid',
  gpu: 'gpu',
  device: 'device',
  pci_bus_id: 'pciBusId',
  modelName: 'modelName',
  model_name: 'modelName',
  GPU_I_PROFILE: 'migProfile',
  GPU_I_ID: 'migInstance',
};

const WORKLOAD: Readonly<Record<string, keyof Workload>> = {
  namespace: 'namespace',
  pod: 'pod',
  container: 'container',
  pod_uid: 'podUid',
  hpc_job: 'hpcJob',
};

/** Labels that say which GPU a series is about; a series with none of them names no GPU. */
const GPU_LABELS: ReadonlySet<keyof GpuIdentity> = new Set(['uuid', 'gpu', 'device', 'pciBusId']);

/** Normalises one sample already known to be dcgm-exporter's (`field` from {@link dcgmFieldName}). */
export function normaliseDcgmSample(sample: PromSample, field: string): DcgmSample {
  const gpu: Record<string, string> = {};
  const workload: Record<string, string> = {};
  const attributes: Record<string, string> = {};
  const exported = new Set<string>();
  // Un-prefixed labels first, then `exported_*`, so that the exporter's own value wins.
  const entries = Object.entries(sample.labels).sort(
    ([a], [b]) => Number(a.startsWith('exported_')) - Number(b.startsWith('exported_')),
  );
  for (const [rawName, value] of entries) {
    const isExported = rawName.startsWith('exported_');
    const name = isExported ? rawName.slice('exported_'.length) : rawName;
    if (isExported) exported.add(name);
    const identity = IDENTITY[name];
    const job = WORKLOAD[name];
    if (identity !== undefined) gpu[identity] = value;
    else if (job !== undefined) workload[job] = value;
    else attributes[name] = value;
  }
  const identity = gpu as GpuIdentity;
  const named = [...GPU_LABELS].some((key) => identity[key] !== undefined);
  const result: { -readonly [K in keyof DcgmSample]: DcgmSample[K] } = {
    field,
    sourceName: sample.name,
    value: sample.value,
    gpu: identity,
    workload: workload as Workload,
    attributes,
    line: sample.line,
  };
  if (sample.timestamp !== undefined) result.timestamp = sample.timestamp;
  if (named) {
    const which = identity.uuid ?? `gpu${identity.gpu ?? identity.device ?? identity.pciBusId}`;
    const mig = identity.migInstance === undefined ? '' : `/mig${identity.migInstance}`;
    result.gpuKey = `${identity.hostname ?? ''}/${which}${mig}`;
  }
  return result;
}

/**
 * Normalises a dcgm-exporter scrape: the exposition text (parsed with {@link parsePrometheusText}) or an already
 * parsed exposition. Never throws.
 */
export function normaliseDcgm(input: string | Exposition): DcgmScrape {
  const exposition = typeof input === 'string' ? parsePrometheusText(input) : input;
  const samples: DcgmSample[] = [];
  const unattributed: DcgmSample[] = [];
  const foreign: PromSample[] = [];
  const gpus = new Map<string, GpuIdentity>();
  for (const sample of exposition.samples) {
    const field = dcgmFieldName(sample.name);
    if (field === undefined) {
      foreign.push(sample);
      continue;
    }
    const normalised = normaliseDcgmSample(sample, field);
    if (normalised.gpuKey === undefined) {
      unattributed.push(normalised);
      continue;
    }
    samples.push(normalised);
    const known = gpus.get(normalised.gpuKey);
    // Label sets differ between series of one GPU: keep the union of what they say.
    gpus.set(normalised.gpuKey, { ...normalised.gpu, ...known });
  }
  return { samples, unattributed, gpus, foreign, malformed: exposition.malformed };
}

/**
 * The GPU samples of a scrape as stored points: each sample's own time stamp (ms in the 0.0.4 format) when it has
 * one, else `scrapedAt` (Unix seconds, when the scrape was taken). Samples that name no GPU are left out.
 */
export function gpuPointsOf(scrape: DcgmScrape, scrapedAt: number): GpuPoint[] {
  return scrape.samples.map((sample) => ({
    time: sample.timestamp !== undefined ? sample.timestamp / 1000 : scrapedAt,
    gpuKey: sample.gpuKey as string,
    ...(sample.gpu.hostname !== undefined && { hostname: sample.gpu.hostname }),
    field: sample.field,
    value: sample.value,
  }));
}
