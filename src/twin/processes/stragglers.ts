/**
 * Slow hosts (fail-slow episodes). Episodes arrive as one Poisson stream over all hosts at `ratePerSecond`, last
 * an exponential time of mean `meanSeconds`, and each slows the job by a log-normal factor (median
 * `slowdownMedian`, sigma `slowdownSigma`), at least 1 and capped at `slowdownMax`. A synchronous job runs at
 * its slowest host's pace, so the job's slowdown is the largest of the active episodes. docs/twin.md gives the
 * sources (GREYHOUND, arXiv 2410.12588; SC22) and marks the rate as a planner assumption.
 *
 * With the mitigation's `stragglerDetectSeconds`, each episode is detected that long after it starts; if it is
 * still on, slows the job, a spare is free and draining pays (mitigation.ts), the host is drained: the job
 * stops cleanly, swaps it for a spare, and the episode no longer slows it (the host rejoins the pool when its
 * episode ends).
 * @module
 */
import type { RandomStream } from '../../sim/index.js';
import { PRIORITY, type RunContext } from '../context.js';
import type { Job } from '../job.js';
import type { Recovery } from './detection-restart.js';
import { drainPays, type MitigationCounts } from './mitigation.js';

/** What a drain needs: the recovery that runs it, its stream, and the counts to add to. */
export interface DrainHooks {
  readonly recovery: Recovery;
  readonly stream: RandomStream;
  readonly counts: MitigationCounts;
}

/** Starts the slow-host episodes of a run (none when the rate is zero), drawing from `stream`. */
export function startStragglers(ctx: RunContext, job: Job, stream: RandomStream, drain?: DrainHooks): void {
  const { sim, config } = ctx;
  const { stragglers } = config;
  if (!(stragglers.ratePerSecond > 0)) return;
  const detectSeconds = config.mitigation.stragglerDetectSeconds;
  const episodes: number[] = [];
  const slowest = (list: readonly number[]) => (list.length === 0 ? 1 : Math.max(...list));
  const update = () => job.setStragglerFactor(slowest(episodes));
  const remove = (episode: { slowdown: number; active: boolean }) => {
    if (!episode.active) return;
    episode.active = false;
    episodes.splice(episodes.indexOf(episode.slowdown), 1);
    update();
  };
  const arrive = () => {
    const slowdown = Math.min(
      stragglers.slowdownMax,
      Math.max(1, stream.logNormal(stragglers.slowdownMedian, stragglers.slowdownSigma)),
    );
    const episode = { slowdown, active: true };
    episodes.push(slowdown);
    update();
    const length = stream.exponential(stragglers.meanSeconds);
    const endsAt = sim.now + length;
    sim.after(length, () => remove(episode), PRIORITY.sampler);
    if (drain && detectSeconds !== undefined && detectSeconds < length) {
      sim.after(
        detectSeconds,
        () => {
          if (!episode.active || job.state !== 'running') return;
          const others = episodes.filter((_, i) => i !== episodes.indexOf(slowdown));
          const { checkpoint } = config;
          const write = checkpoint.writeSeconds + (checkpoint.mode === 'async' ? checkpoint.stallSeconds : 0);
          const cost = write + config.restartSeconds + checkpoint.readSeconds + config.swapSeconds;
          if (!drainPays(stragglers.meanSeconds, slowest(episodes), slowest(others), cost)) return;
          if (!drain.recovery.drain(endsAt - sim.now, drain.stream)) return;
          drain.counts.drains++;
          remove(episode);
        },
        PRIORITY.sampler,
      );
    }
    sim.after(stream.exponential(1 / stragglers.ratePerSecond), arrive, PRIORITY.sampler);
  };
  sim.after(stream.exponential(1 / stragglers.ratePerSecond), arrive, PRIORITY.sampler);
}
