/**
 * Diurnal thermal throttling. Every `intervalSeconds` each GPU has a clock deficit, exponential with a mean that
 * follows the day (zero at 02:00, `peakMeanDeficit` at 14:00; the run starts at midnight). The job runs at the
 * slowest of its n GPUs, whose deficit is drawn directly as the maximum of n exponentials
 * ({@link maxOfExponentials}), not as n draws.
 * @module
 */
import type { RandomStream } from '../../sim/index.js';
import { PRIORITY, type RunContext } from '../context.js';
import type { Job } from '../job.js';

/**
 * The largest of n independent exponential variables of mean `mean`, drawn from one uniform `u` by inverting
 * its CDF (1 − e^{−x/mean})^n: x = −mean·ln(1 − u^{1/n}), with expm1 keeping precision at large n.
 */
export function maxOfExponentials(u: number, mean: number, n: number): number {
  return -mean * Math.log(-Math.expm1(Math.log(u) / n));
}

/** Seconds in a day: the period of the throttling cycle. */
const DAY_SECONDS = 86400;

/** Starts the throttling samples of a run (none when the peak deficit is zero), drawing from `stream`. */
export function startThrottling(ctx: RunContext, job: Job, stream: RandomStream): void {
  const { sim, end, config } = ctx;
  const { peakMeanDeficit, intervalSeconds } = config.throttling;
  if (!(peakMeanDeficit > 0)) return;
  const sample = () => {
    // Mean deficit peaks at 14:00 and is zero at 02:00 (the run starts at midnight).
    const mean = (peakMeanDeficit * (1 + Math.cos((2 * Math.PI * (sim.now - 14 * 3600)) / DAY_SECONDS))) / 2;
    const n = job.nodes * config.gpusPerNode;
    job.setThrottleFactor(1 + maxOfExponentials(stream.uniform(), mean, n));
    if (sim.now + intervalSeconds <= end) sim.after(intervalSeconds, sample, PRIORITY.sampler);
  };
  sim.at(0, sample, PRIORITY.sampler);
}
