/**
 * Failure processes: where component failures come from. A {@link FailureProcess} schedules failures on the
 * kernel and reports each through `strike(classIndex)`; what a failure does to the job is decided elsewhere
 * (detection-restart.ts). The default, {@link randomFailures}, draws each class of `config.classes` from its
 * own stream: a Poisson process, or with a Weibull shape k ≠ 1 a non-homogeneous Poisson process with
 * cumulative hazard Λ(t) = N[((a + t)/λ)^k − (a/λ)^k]. A process that replays observed failures (XID events
 * from DCGM, say) implements the same interface and is passed as `RunOptions.failures`.
 * @module
 */
import type { RandomStream } from '../../sim/index.js';
import { PRIORITY, type RunContext } from '../context.js';
import { weibullScale } from '../setup.js';

/** What a failure process is given. */
export interface FailureContext extends RunContext {
  /** The random stream of failure class `classIndex` (each class has its own). */
  stream(classIndex: number): RandomStream;
  /** Reports a failure of a component of `config.classes[classIndex]` at the current time. */
  strike(classIndex: number): void;
  /**
   * Told when a failure of `config.classes[classIndex]` is scheduled for time `t`, before it strikes: what a
   * failure predictor (mitigation.ts) may see coming. A process that knows its failures ahead calls it.
   */
  scheduled?(classIndex: number, t: number): void;
  /**
   * How long before it strikes each failure must be scheduled (the predictor's lead), so that `scheduled` hears of
   * it in time. 0 or absent: a class's next failure may be drawn when the previous one strikes.
   */
  readonly aheadSeconds?: number;
}

/**
 * A source of component failures. `start` runs once, before the job launches; it schedules failures at
 * {@link PRIORITY.failure} no later than `end`, and each one, when it fires, calls `strike`.
 */
export interface FailureProcess {
  start(ctx: FailureContext): void;
}

/**
 * Independent failure classes at their configured rates. Each class is a Poisson process of rate
 * `ratePerSecond`, or a non-homogeneous Poisson process with the Weibull cumulative hazard
 * Λ(t) = N((a + t)/λ)^k, sampled by inversion (Çinlar 1975): the next time solves Λ(t') = Λ(t) + Exp(1).
 */
export const randomFailures: FailureProcess = {
  start(ctx) {
    const { sim, end } = ctx;
    ctx.config.classes.forEach((failureClass, index) => {
      if (failureClass.ratePerSecond <= 0) return;
      const stream = ctx.stream(index);
      const k = failureClass.weibullShape;
      const scale = k === 1 ? 0 : weibullScale(failureClass);
      const age = failureClass.ageSeconds;
      const next = (from: number): number => {
        if (k === 1) return from + stream.exponential(1 / failureClass.ratePerSecond);
        const hazard = ((age + from) / scale) ** k + stream.exponential(1) / failureClass.count;
        // Rounding can land a hair before `from` when the increment is below one ulp of the hazard.
        return Math.max(from, scale * hazard ** (1 / k) - age);
      };
      const ahead = ctx.aheadSeconds ?? 0;
      if (ahead > 0) {
        drawAhead(ctx, index, next, ahead);
        return;
      }
      const schedule = (t: number) => {
        if (t > end) return;
        sim.at(t, arrive, PRIORITY.failure);
        ctx.scheduled?.(index, t);
      };
      const arrive = () => {
        ctx.strike(index);
        schedule(next(sim.now));
      };
      schedule(next(0));
    });
  },
};

/**
 * Draws a class's arrivals `ahead` seconds before they are due: the arrival after t_k is drawn at t_k − ahead (at
 * the start for the first ones), so each is scheduled, and `scheduled` told, at least `ahead` before it strikes
 * (t_{k+1} − ahead ≥ t_k − ahead). The times are those of drawing at each strike, next(t_k) from the same stream in
 * the same order: only when they are drawn changes. One draw an event, so the kernel's budget bounds the draws.
 */
function drawAhead(ctx: FailureContext, index: number, next: (from: number) => number, ahead: number): void {
  const { sim, end } = ctx;
  const arrive = () => ctx.strike(index);
  let last = 0;
  const draw = () => {
    const t = next(last);
    if (t > end) return;
    last = t;
    sim.at(t, arrive, PRIORITY.failure);
    ctx.scheduled?.(index, t);
    sim.at(Math.max(sim.now, t - ahead), draw, PRIORITY.failure);
  };
  draw();
}
