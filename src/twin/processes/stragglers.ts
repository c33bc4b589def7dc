/**
 * Slow hosts (fail-slow episodes). Episodes arrive as one Poisson stream over all hosts at `ratePerSecond`, last
 * an exponential time of mean `meanSeconds`, and each slows the job by a log-normal factor (median
 * `slowdownMedian`, sigma `slowdownSigma`), at least 1 and capped at `slowdownMax`. A synchronous job runs at
 * its slowest host's pace, so the job's slowdown is the largest of the active episodes. docs/twin.md gives the
 * sources (GREYHOUND, arXiv 2410.12588; SC22) and marks the rate as a planner assumption.
 * @module
 */
import type { RandomStream } from '../../sim/index.js';
import { PRIORITY, type RunContext } from '../context.js';
import type { Job } from '../job.js';

/** Starts the slow-host episodes of a run (none when the rate is zero), drawing from `stream`. */
export function startStragglers(ctx: RunContext, job: Job, stream: RandomStream): void {
  const { sim } = ctx;
  const { stragglers } = ctx.config;
  if (!(stragglers.ratePerSecond > 0)) return;
  const episodes: number[] = [];
  const update = () => job.setStragglerFactor(episodes.length === 0 ? 1 : Math.max(...episodes));
  const arrive = () => {
    const slowdown = Math.min(
      stragglers.slowdownMax,
      Math.max(1, stream.logNormal(stragglers.slowdownMedian, stragglers.slowdownSigma)),
    );
    episodes.push(slowdown);
    update();
    sim.after(
      stream.exponential(stragglers.meanSeconds),
      () => {
        episodes.splice(episodes.indexOf(slowdown), 1);
        update();
      },
      PRIORITY.sampler,
    );
    sim.after(stream.exponential(1 / stragglers.ratePerSecond), arrive, PRIORITY.sampler);
  };
  sim.after(stream.exponential(1 / stragglers.ratePerSecond), arrive, PRIORITY.sampler);
}
