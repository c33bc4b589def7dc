/**
 * Reliability, recovery, straggler and power defaults of the digital twin, each with its source
 * (../shared/docs/research/reliability-anchors.md; the JSON is copied to data/reliability/). Failure rates are
 * derived from the Llama 3 405B interruption census: 419 unexpected and 47 planned interruptions in 54 days on
 * 16,384 H100 in 2,048 hosts (Llama Team 2024, arXiv 2407.21783, Table 5).
 * @module
 */
import { type Figure, fig } from './figure.js';

const LLAMA3 =
  'Llama Team 2024, "The Llama 3 Herd of Models", arXiv 2407.21783, Table 5 (via reliability-anchors.md 1.1)';

/** Hours in a year (365.25 days), the unit of every rate below. */
export const HOURS_PER_YEAR = 8766;

/** The exposure of the Llama 3 census: 54 days on 16,384 GPUs in 2,048 hosts. */
export const LLAMA3_EXPOSURE = {
  hours: 54 * 24,
  gpus: 16384,
  nodes: 2048,
  /**
   * Scale-out links of that cluster as `plan/network.ts` builds it for examples/llama3-405b-54d.yaml (400G NICs,
   * 64-port switches, three tiers, 7:1 above the pods): 16,384 NIC links and 4,736 switch-to-switch links.
   */
  links: 16384 + 4736,
  /** Planned interruptions (automated maintenance) in the window. */
  planned: 47,
} as const;

/** What a component a failure class counts: failures scale with how many the design has. */
export type FailureUnit = 'gpu' | 'node' | 'nic' | 'link' | 'job';

/** How a failure is noticed: a crash ends the job at once, a hang waits for the collective timeout. */
export type Detection = 'crash' | 'hang' | 'planned';

/** A failure class with its default rate. */
export interface FailureClassDefault {
  readonly id: string;
  readonly label: string;
  readonly per: FailureUnit;
  /** Failures per component per year. */
  readonly ratePerYear: Figure;
  readonly detection: Detection;
  /** True when the failed host leaves the job and a spare (or a repair) must replace it. */
  readonly replacesNode: boolean;
  /** The Llama 3 causes this class sums, with their counts. */
  readonly llama3Causes: Readonly<Record<string, number>>;
}

function exposureYears(per: FailureUnit): number {
  const years = LLAMA3_EXPOSURE.hours / HOURS_PER_YEAR;
  switch (per) {
    case 'gpu':
    case 'nic':
      return LLAMA3_EXPOSURE.gpus * years;
    case 'node':
      return LLAMA3_EXPOSURE.nodes * years;
    case 'link':
      return LLAMA3_EXPOSURE.links * years;
    case 'job':
      return years;
  }
}

function fromLlama3(
  id: string,
  label: string,
  per: FailureUnit,
  detection: Detection,
  replacesNode: boolean,
  causes: Record<string, number>,
  note?: string,
): FailureClassDefault {
  const count = Object.values(causes).reduce((sum, n) => sum + n, 0);
  // Rate = census count / exposure in component-years (reliability-anchors.md 1.1, "Derived rates").
  const rate = count / exposureYears(per);
  const causeList = Object.entries(causes)
    .map(([cause, n]) => `${cause} ${n}`)
    .join(', ');
  return {
    id,
    label,
    per,
    detection,
    replacesNode,
    llama3Causes: causes,
    ratePerYear: fig(
      rate,
      `failures per ${per === 'job' ? 'job' : per}-year`,
      LLAMA3,
      `${count} interruptions (${causeList}) over ${exposureYears(per).toFixed(1)} ${per}-years${note ? `; ${note}` : ''}`,
    ),
  };
}

/** The failure classes and their default rates, calibrated on the Llama 3 census (419 unexpected + 47 planned). */
export const FAILURE_CLASSES: readonly FailureClassDefault[] = [
  fromLlama3('gpu', 'GPU', 'gpu', 'crash', true, {
    'faulty GPU (incl. NVLink)': 148,
    'GPU SRAM': 19,
    'GPU system processor': 17,
    'silent data corruption': 6,
    'GPU thermal interface and sensor': 6,
  }),
  fromLlama3('hbm', 'HBM', 'gpu', 'crash', true, { 'GPU HBM3 memory': 72 }),
  {
    id: 'nvlink',
    label: 'NVLink',
    per: 'gpu',
    detection: 'crash',
    replacesNode: true,
    llama3Causes: {},
    ratePerYear: fig(
      0,
      'failures per gpu-year',
      LLAMA3,
      'Llama 3 counts NVLink faults inside "faulty GPU" (148), so they are in the GPU class; set a rate here to model them apart',
    ),
  },
  fromLlama3('nic', 'NIC', 'nic', 'crash', true, { NIC: 7 }),
  fromLlama3('host', 'host', 'node', 'crash', true, {
    'host maintenance (unplanned)': 32,
    SSD: 3,
    'server chassis': 2,
    'IO expansion board': 2,
    CPU: 2,
    'system memory': 2,
  }),
  fromLlama3('psu', 'power supply', 'node', 'crash', true, { 'power supply': 3 }),
  fromLlama3(
    'network',
    'switch and cable',
    'link',
    'hang',
    false,
    { 'network switch/cable': 35 },
    'per scale-out link (NIC-to-leaf and switch-to-switch): a dead link stalls collectives until the timeout',
  ),
  fromLlama3('software', 'software', 'node', 'crash', false, { 'software bug': 54, dependency: 2 }),
  fromLlama3('hang', 'NCCL hang', 'node', 'hang', false, { 'NCCL watchdog timeout': 7 }),
  fromLlama3(
    'maintenance',
    'planned maintenance',
    'job',
    'planned',
    false,
    { 'planned interruptions': LLAMA3_EXPOSURE.planned },
    'per job, not per host: maintenance is batched into one drain and restart',
  ),
];

/** Time to notice a crash: real-time health checks flag a failed NIC port in 30 s (ByteRobust). */
export const CRASH_DETECTION_SECONDS: Figure = fig(
  30,
  's',
  'Wan et al. 2025, ByteRobust (SOSP 25, arXiv 2509.16293) via reliability-anchors.md 1.3',
  'real-time checks detect NIC/port flaps in 30 s',
);

/** Time to notice a hang: the collective (NCCL watchdog) timeout, about 10 minutes by default. */
export const HANG_DETECTION_SECONDS: Figure = fig(
  600,
  's',
  'ByteRobust (arXiv 2509.16293) via reliability-anchors.md 1.3: "against a default timeout of about 10 min"',
);

/** Tear down, reschedule and re-initialise the job (process launch, NCCL communicators). */
export const RESTART_SECONDS: Figure = fig(
  300,
  's',
  "Kokolis et al. 2025 (arXiv 2410.21680), restart overhead assumed in Meta's ETTR model (reliability-anchors.md 1.2)",
  'MegaScale initialises >10k GPUs in <30 s; FlashRecovery restores 4,800 devices in 150 s',
);

/** Picking and swapping in a spare host. */
export const SPARE_SWAP_SECONDS: Figure = fig(
  180,
  's',
  'AIReSim defaults (arXiv 2603.07041, Table 1): host selection 3 min (reliability-anchors.md 1.10)',
);

/** Automatic repair of a failed host (reboot, reset, re-image). */
export const AUTO_REPAIR_HOURS: Figure = fig(
  2,
  'h',
  'AIReSim defaults (arXiv 2603.07041, Table 1): auto-repair 2 h',
  'a simulator default, not a measurement',
);

/** Manual repair (part swap by a technician). */
export const MANUAL_REPAIR_HOURS: Figure = fig(
  48,
  'h',
  'AIReSim defaults (arXiv 2603.07041, Table 1): manual repair 2 days',
  'a simulator default, not a measurement',
);

/** Share of automatic repairs that escalate to a manual one. */
export const MANUAL_REPAIR_SHARE: Figure = fig(
  0.8,
  'of repairs',
  'AIReSim defaults (arXiv 2603.07041, Table 1): P(auto to manual) 0.8',
  'a simulator default, not a measurement; mean repair 2 h + 0.8 × 48 h = 40.4 h. Repairs only size and refill the spare pool (Llama 3\'s "3 needed significant manual intervention" is about the job, not host repair)',
);

/** Spares are sized to the 99th percentile of hosts in repair at once (ByteRobust's binomial P99 rule). */
export const SPARE_QUANTILE: Figure = fig(
  0.99,
  'quantile of hosts in repair',
  'ByteRobust (arXiv 2509.16293) via reliability-anchors.md 1.3: warm standbys sized to the P99 of a binomial failure model',
);

/** Rate at which a host turns slow (fail-slow): no per-host rate is published. */
export const STRAGGLER_RATE_PER_NODE_YEAR: Figure = fig(
  0.5,
  'episodes per node-year',
  'planner assumption: GREYHOUND (arXiv 2410.12588) saw fail-slows in 16 of 27 jobs of 512+ GPUs but gives no per-host rate',
  'ByteDance (arXiv 2505.05713) traces only 1.7% of straggling jobs to faulty workers, so episodes are rare',
);

/** How long a fail-slow episode lasts. */
export const STRAGGLER_MEAN_MINUTES: Figure = fig(
  24,
  'min',
  'GREYHOUND (arXiv 2410.12588) via reliability-anchors.md 2: communication fail-slows last about 24 min on average',
);

/** Median slowdown of the whole job while one host is slow. */
export const STRAGGLER_SLOWDOWN_MEDIAN: Figure = fig(
  1.25,
  '× step time',
  "planner assumption inside the published range: one slow link costs up to 40% (Meta via Cisco), GREYHOUND's fail-slows stretch JCT 1.34× on average",
);

/** Spread (log-normal sigma) of the slowdown, capped at 1.5× (SC22 outliers). */
export const STRAGGLER_SLOWDOWN_SIGMA: Figure = fig(
  0.1,
  'log-normal sigma',
  'planner assumption; cap 1.5×: Sinha et al. 2022 (SC22, arXiv 2208.11035) see outliers up to 1.5× slower than the median GPU',
);

/** Largest slowdown one slow host causes. */
export const STRAGGLER_SLOWDOWN_MAX: Figure = fig(
  1.5,
  '× step time',
  'Sinha et al. 2022 (SC22, arXiv 2208.11035): outliers up to 1.5×',
);

/** Day-night swing of throughput from GPU clock throttling in midday heat. */
export const DIURNAL_SWING: Figure = fig(
  0.015,
  'of throughput, peak to trough at 16,384 GPUs',
  'Llama 3 (arXiv 2407.21783) via simonwillison.net: throughput varied 1-2% over the day from DVFS in midday heat',
  'midpoint of 1-2%',
);

/** How often the slowest GPU's throttling is re-drawn. */
export const THROTTLE_INTERVAL_MINUTES: Figure = fig(
  10,
  'min',
  'planner assumption: thermal states change over minutes, far slower than a step',
);

/** GPU power while waiting (exposed communication, pipeline bubble, restarts), as a share of TDP. */
export const GPU_IDLE_POWER_SHARE: Figure = fig(
  120 / 700,
  'of GPU TDP',
  'measured for this project: H100 SXM drops to about 120 W in the idle gaps between steps (data/calibration/h100-microbench.json)',
);

/** Host-memory snapshot bandwidth for asynchronous checkpoints (GPU to pinned host memory over PCIe Gen5 x16). */
export const SNAPSHOT_GBPS: Figure = fig(
  25,
  'GB/s per GPU',
  'planner assumption: about 40% of PCIe Gen5 x16 (64 GB/s per direction); ByteRobust checkpoints every step at <0.9% overhead',
);

/** Share of hosts that are lemons when a spec turns lemons on without a fraction (AIReSim's "bad servers"). */
export const LEMON_FRACTION: Figure = fig(
  0.15,
  'of hosts',
  'AIReSim defaults (arXiv 2603.07041, Table 1, via reliability-anchors.md 1.10): 15% "bad" servers',
  'a simulator default; Meta found 40 lemon nodes (Kokolis et al. 2025, HPCA 25), the B200 study 3 of 63 nodes giving >50% of exclusions (arXiv 2605.09370)',
);

/** How many times the base hardware failure rate a lemon host fails. */
export const LEMON_MULTIPLIER: Figure = fig(
  5,
  '× base rate',
  'AIReSim defaults (arXiv 2603.07041, Table 1, via reliability-anchors.md 1.10): bad servers fail 5× faster',
  'a simulator default, not a measurement',
);

/** Hours until the hosts of a failed domain (rack, PDU, leaf switch) are back. */
export const DOMAIN_REPAIR_HOURS: Figure = fig(
  4,
  'h',
  'planner assumption: a breaker reset or a switch swap by on-site staff, between AIReSim auto-repair (2 h) and manual repair (48 h)',
);

/** Leaf (top-of-rack) switch crashes per switch-year: 0.051% a month. */
export const LEAF_SWITCH_CRASHES_PER_YEAR: Figure = fig(
  0.00051 * 12,
  'events per switch-year',
  'Qian et al. 2024, Alibaba HPN (SIGCOMM 24) via reliability-anchors.md 1.4: 0.051% of ToR switches crash each month',
  'a rate to give `twin.domains.leaf.ratePerYear`; off by default (the Llama 3 census already counts switch failures)',
);

/**
 * Lead time of a host requested from the wider platform, when a host is excluded (mitigation) and the spec
 * gives no `spares.refill.leadHours`.
 */
export const PLATFORM_LEAD_HOURS: Figure = fig(
  24,
  'h',
  'planner assumption: OPT-175B on Azure, "cloud replacement of a node could take hours" (metaseq chronicles, reliability-anchors.md 1.6)',
);

/** Precision of GPU failure prediction in production (ByteDance). */
export const PREDICTION_PRECISION: Figure = fig(
  0.854,
  'of predictions',
  'ByteDance GPU failure prediction, 85.4% precision (issue 13 anchors; ../shared/docs/research/operate.md 2)',
);

/** Names of the correlated failure domains. */
export const DOMAIN_LABELS: Readonly<Record<string, string>> = { rack: 'rack', pdu: 'PDU', leaf: 'leaf switch' };
