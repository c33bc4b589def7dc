/**
 * Facility power of one replica. The job draws one of two levels: the training level while it runs (the step
 * average) and the waiting level while its GPUs wait (checkpoint writes, detection, restarts, waiting for
 * spares). The meter integrates energy, keeps the peak and the minimum, and counts the drops from the training
 * level to the waiting level; the swing inside each step is a constant of the design (setup.ts).
 * @module
 */
import type { TwinConfig } from './setup.js';

/** The power figures of one run. */
export interface PowerSummary {
  readonly meanMW: number;
  readonly peakMW: number;
  readonly minimumMW: number;
  readonly energyMWh: number;
  readonly stepSwingMW: number;
  readonly stepHz: number;
  /** Drops from the training level to the waiting level (failures, blocking checkpoints), per day. */
  readonly dipsPerDay: number;
  readonly dipMW: number;
}

/** Integrates the facility power of the job's segments. */
export class PowerMeter {
  /** Facility MW while the job trains, and while its GPUs wait. */
  readonly runningMW: number;
  readonly idleMW: number;
  private energyMWs = 0;
  private peakMW = 0;
  private minimumMW = Number.POSITIVE_INFINITY;
  private dips = 0;

  constructor(private readonly power: TwinConfig['power']) {
    this.runningMW = power.runningMW;
    this.idleMW = power.idleMW;
  }

  /** Adds the segment [t0, t1) at `mw`. */
  record(t0: number, t1: number, mw: number): void {
    this.energyMWs += mw * (t1 - t0);
    if (mw > this.peakMW) this.peakMW = mw;
    if (mw < this.minimumMW) this.minimumMW = mw;
  }

  /** Counts one drop from the training level to the waiting level. */
  dip(): void {
    this.dips++;
  }

  /** The figures over a run of `wallSeconds`. */
  summary(wallSeconds: number): PowerSummary {
    const { power } = this;
    return {
      meanMW: this.energyMWs / wallSeconds,
      peakMW: this.peakMW,
      minimumMW: Number.isFinite(this.minimumMW) ? this.minimumMW : 0,
      energyMWh: this.energyMWs / 3600,
      stepSwingMW: power.stepSwingMW,
      stepHz: power.stepHz,
      dipsPerDay: this.dips / (wallSeconds / 86400),
      dipMW: power.runningMW - power.idleMW,
    };
  }
}
