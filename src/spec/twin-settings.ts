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
  FAILURE_CLASSES,
  HANG_DETECTION_SECONDS,
  MANUAL_REPAIR_HOURS,
  MANUAL_REPAIR_SHARE,
  RESTART_SECONDS,
  SNAPSHOT_GBPS,
  SPARE_SWAP_SECONDS,
  STRAGGLER_MEAN_MINUTES,
  STRAGGLER_RATE_PER_NODE_YEAR,
  STRAGGLER_SLOWDOWN_MEDIAN,
} from '../catalog/reliability.js';
import { TWIN_DEFAULTS, type TwinInput } from './twin.js';

/** One failure class's resolved settings. */
export interface ResolvedFailureClass {
  /** Failures per component per year (per job-year for maintenance), before `failureScale`. */
  readonly ratePerYear: number;
  readonly weibullShape: number;
  readonly ageHours: number;
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
  };
  readonly spares: {
    readonly nodes: 'auto' | number;
    readonly policy: 'wait' | 'shrink';
    readonly autoRepairHours: number;
    readonly manualRepairHours: number;
    readonly manualShare: number;
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
    },
    spares: {
      nodes: twin.spares?.nodes ?? 'auto',
      policy: twin.spares?.policy ?? 'wait',
      autoRepairHours: twin.spares?.autoRepairHours ?? AUTO_REPAIR_HOURS.value,
      manualRepairHours: twin.spares?.manualRepairHours ?? MANUAL_REPAIR_HOURS.value,
      manualShare: twin.spares?.manualShare ?? MANUAL_REPAIR_SHARE.value,
    },
    stragglers: {
      ratePerNodeYear: twin.stragglers?.ratePerNodeYear ?? STRAGGLER_RATE_PER_NODE_YEAR.value,
      meanMinutes: twin.stragglers?.meanMinutes ?? STRAGGLER_MEAN_MINUTES.value,
      slowdown: twin.stragglers?.slowdown ?? STRAGGLER_SLOWDOWN_MEDIAN.value,
      slowdownGiven: twin.stragglers?.slowdown !== undefined,
    },
    throttling: { diurnalSwing: twin.throttling?.diurnalSwing ?? DIURNAL_SWING.value },
    written: twin,
  };
}
