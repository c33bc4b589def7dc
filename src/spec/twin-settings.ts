/**
 * Resolution of the `twin` section: every field the spec leaves out takes its sourced default from
 * src/catalog/reliability.ts here, in spec/, as every other section's defaults do (resolve.ts), so the twin's
 * setup reads settings, never the catalog. The storage bandwidth alone stays open: its default is sized by the
 * factory (facility.checkpointWriteSeconds), which only the design knows.
 * @module
 */
import {
  AUTO_REPAIR_HOURS,
  CRASH_DETECTION_SECONDS,
  DIURNAL_SWING,
  DOMAIN_REPAIR_HOURS,
  FAILURE_CLASSES,
  HANG_DETECTION_SECONDS,
  LEMON_MULTIPLIER,
  MANUAL_REPAIR_HOURS,
  MANUAL_REPAIR_SHARE,
  PLATFORM_LEAD_HOURS,
  RESTART_SECONDS,
  SNAPSHOT_GBPS,
  SPARE_SWAP_SECONDS,
  STRAGGLER_MEAN_MINUTES,
  STRAGGLER_RATE_PER_NODE_YEAR,
  STRAGGLER_SLOWDOWN_MEDIAN,
} from '../catalog/reliability.js';
import { DOMAIN_IDS, TWIN_DEFAULTS, type TwinInput } from './twin.js';

/** One failure class's resolved settings. */
export interface ResolvedFailureClass {
  /** Failures per component per year (per job-year for maintenance), before `failureScale`. */
  readonly ratePerYear: number;
  readonly weibullShape: number;
  readonly ageHours: number;
}

/** One correlated failure domain. */
export interface ResolvedDomain {
  readonly id: (typeof DOMAIN_IDS)[number];
  readonly ratePerYear: number;
  /** Absent: from the design (setup.ts). */
  readonly hosts?: number;
  readonly repairHours: number;
}

/** The mitigation policy; every part absent is off. */
export interface ResolvedMitigation {
  readonly stragglerDetectMinutes?: number;
  readonly excludeAfter?: number;
  /** Hours for a host that replaces an excluded one to arrive (the refill lead, or the platform default). */
  readonly replacementLeadHours: number;
  readonly prediction?: { readonly recall: number; readonly precision: number; readonly leadMinutes: number };
  readonly checkpointInterval?: 'young' | 'daly';
}

/** The twin section with every default filled in. */
export interface ResolvedTwin {
  readonly days?: number;
  readonly bucketMinutes: number;
  readonly failureScale: number;
  /** By failure class id (FAILURE_CLASSES of the catalog). */
  readonly failures: Readonly<Record<string, ResolvedFailureClass>>;
  readonly detection: { readonly crashSeconds: number; readonly hangSeconds: number };
  readonly restart: { readonly seconds: number; readonly swapSeconds: number };
  readonly checkpoint: {
    readonly intervalMinutes: 'optimal' | number;
    readonly mode: 'blocking' | 'async';
    /** Absent: sized by the factory for `facility.checkpointWriteSeconds`. */
    readonly storageGBps?: number;
    readonly snapshotGBps: number;
    /** Absent: the write bandwidth. */
    readonly readGBps?: number;
  };
  readonly spares: {
    readonly nodes: 'auto' | number;
    readonly policy: 'wait' | 'shrink';
    readonly autoRepairHours: number;
    readonly manualRepairHours: number;
    readonly manualShare: number;
    /** Hours for a host from the wider platform to arrive; absent: the pool refills only by repairs. */
    readonly refillLeadHours?: number;
  };
  readonly stragglers: {
    readonly ratePerNodeYear: number;
    readonly meanMinutes: number;
    /** Median slowdown of the job during an episode. */
    readonly slowdown: number;
    /** Whether the spec set the slowdown (it then also raises the cap on one episode's slowdown). */
    readonly slowdownGiven: boolean;
  };
  readonly throttling: { readonly diurnalSwing: number };
  /** Lemon hosts (fraction 0: none). */
  readonly lemons: { readonly fraction: number; readonly multiplier: number };
  /** Correlated failure domains the spec gives (rate, hosts per domain when given, repair hours). */
  readonly domains: readonly ResolvedDomain[];
  readonly mitigation: ResolvedMitigation;
  /** The section as written, for messages that quote the user's value. */
  readonly written: TwinInput;
}

/** Fills every default of a `twin` section (or of none). */
export function resolveTwin(input: TwinInput | undefined): ResolvedTwin {
  const twin = input ?? TWIN_DEFAULTS;
  const failures = Object.fromEntries(
    FAILURE_CLASSES.map((defaults) => {
      const override = twin.failures?.[defaults.id as keyof NonNullable<TwinInput['failures']>];
      return [
        defaults.id,
        {
          ratePerYear: override?.ratePerYear ?? defaults.ratePerYear.value,
          weibullShape: override?.weibullShape ?? 1,
          ageHours: override?.ageHours ?? 0,
        },
      ];
    }),
  );
  return {
    ...(twin.days !== undefined && { days: twin.days }),
    bucketMinutes: twin.bucketMinutes,
    failureScale: twin.failureScale,
    failures,
    detection: {
      crashSeconds: twin.detection?.crashSeconds ?? CRASH_DETECTION_SECONDS.value,
      hangSeconds: twin.detection?.hangSeconds ?? HANG_DETECTION_SECONDS.value,
    },
    restart: {
      seconds: twin.restart?.seconds ?? RESTART_SECONDS.value,
      swapSeconds: twin.restart?.swapSeconds ?? SPARE_SWAP_SECONDS.value,
    },
    checkpoint: {
      intervalMinutes: twin.checkpoint?.intervalMinutes ?? 'optimal',
      mode: twin.checkpoint?.mode ?? 'blocking',
      ...(twin.checkpoint?.storageGBps !== undefined && { storageGBps: twin.checkpoint.storageGBps }),
      snapshotGBps: twin.checkpoint?.snapshotGBps ?? SNAPSHOT_GBPS.value,
      ...(twin.checkpoint?.readGBps !== undefined && { readGBps: twin.checkpoint.readGBps }),
    },
    spares: {
      nodes: twin.spares?.nodes ?? 'auto',
      policy: twin.spares?.policy ?? 'wait',
      autoRepairHours: twin.spares?.autoRepairHours ?? AUTO_REPAIR_HOURS.value,
      manualRepairHours: twin.spares?.manualRepairHours ?? MANUAL_REPAIR_HOURS.value,
      manualShare: twin.spares?.manualShare ?? MANUAL_REPAIR_SHARE.value,
      ...(twin.spares?.refill && { refillLeadHours: twin.spares.refill.leadHours }),
    },
    stragglers: {
      ratePerNodeYear: twin.stragglers?.ratePerNodeYear ?? STRAGGLER_RATE_PER_NODE_YEAR.value,
      meanMinutes: twin.stragglers?.meanMinutes ?? STRAGGLER_MEAN_MINUTES.value,
      slowdown: twin.stragglers?.slowdown ?? STRAGGLER_SLOWDOWN_MEDIAN.value,
      slowdownGiven: twin.stragglers?.slowdown !== undefined,
    },
    throttling: { diurnalSwing: twin.throttling?.diurnalSwing ?? DIURNAL_SWING.value },
    lemons: {
      fraction: twin.lemons?.fraction ?? 0,
      multiplier: twin.lemons?.multiplier ?? LEMON_MULTIPLIER.value,
    },
    domains: DOMAIN_IDS.flatMap((id) => {
      const domain = twin.domains?.[id];
      if (!domain) return [];
      return [
        {
          id,
          ratePerYear: domain.ratePerYear,
          ...(domain.hosts !== undefined && { hosts: domain.hosts }),
          repairHours: domain.repairHours ?? DOMAIN_REPAIR_HOURS.value,
        },
      ];
    }),
    mitigation: resolveMitigation(twin),
    written: twin,
  };
}

function resolveMitigation(twin: TwinInput): ResolvedMitigation {
  const m = twin.mitigation;
  return {
    ...(m?.stragglers && { stragglerDetectMinutes: m.stragglers.detectMinutes }),
    ...(m?.lemons && { excludeAfter: m.lemons.excludeAfter }),
    replacementLeadHours: twin.spares?.refill?.leadHours ?? PLATFORM_LEAD_HOURS.value,
    ...(m?.prediction && { prediction: { ...m.prediction } }),
    ...(m?.checkpointInterval && { checkpointInterval: m.checkpointInterval }),
  };
}
