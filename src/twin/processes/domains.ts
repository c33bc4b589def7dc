/**
 * Correlated failures by domain: a rack, a power distribution unit or a leaf switch fails and takes every host
 * of it down at once. Each domain kind is a Poisson process at `ratePerSecond` over the domains the job spans,
 * drawn from its own stream; each event is one interruption that costs `hosts` hosts, back together after an
 * exponential repair of mean `repairSeconds` (or sooner from the platform, spares.ts). docs/twin.md gives the
 * rates' sources (HPN for leaf switches) and the planner assumptions (domain sizes, repair).
 * @module
 */
import type { RandomStream } from '../../sim/index.js';
import { PRIORITY, type RunContext } from '../context.js';
import type { Recovery } from './detection-restart.js';

/**
 * Starts the domain events of a run, domain kind j drawing from `stream(j)`; `scheduled` is told of each ahead
 * (for a failure predictor), as a failure process does.
 */
export function startDomains(
  ctx: RunContext,
  recovery: Recovery,
  stream: (domainIndex: number) => RandomStream,
  scheduled?: (t: number) => void,
): void {
  const { sim, end } = ctx;
  ctx.config.domains.forEach((domain, index) => {
    if (!(domain.ratePerSecond > 0)) return;
    const random = stream(index);
    const schedule = (t: number) => {
      if (t > end) return;
      sim.at(t, arrive, PRIORITY.failure);
      scheduled?.(t);
    };
    const arrive = () => {
      recovery.strikeDomain(index, random);
      schedule(sim.now + random.exponential(1 / domain.ratePerSecond));
    };
    schedule(random.exponential(1 / domain.ratePerSecond));
  });
}
