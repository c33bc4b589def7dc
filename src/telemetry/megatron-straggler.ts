/**
 * Megatron-LM's straggler detector lines (`megatron/core/utils.py` `StragglerDetector.report`, `--log-straggler`):
 * rank 0 prints, every log interval, the minimum and maximum across ranks of each metric and the rank it came from:
 *
 *   `[2024-03-14 23:07:56] | MnRtt/Rnk: 3453.08ms/8 | MxRtt/Rnk: 3468.20ms/0 | MnPwr/Rnk: 601796W/8 | … |
 *   MnEtpt/Rnk: 296.02TF/0 | MxEtpt/Rnk: 297.32TF/8`
 *
 * (docs/research operate.md §1.5; the line may carry a logger prefix). Metrics: `Rtt` the time in the traced
 * section per iteration (ms), `Pwr` power as `torch.cuda.power_draw()` reports it (milliwatts, though printed with
 * `W`), `Tmp` temperature (°C), `Utl` utilisation (%), `Clk` SM clock (MHz), `DRtt` the data loader's `get_batch`
 * time (ms), `Etpt` estimated TFLOP/s. A summary over a run says how uneven the ranks were and which ranks were
 * slowest most often: a straggler is the rank that keeps coming back as `MxRtt` (or `MnEtpt`).
 *
 * Pure: no Node APIs; never throws.
 * @module
 */
import { stampSeconds } from './step-log.js';

/** The metrics a straggler line reports. */
export const STRAGGLER_METRICS = ['Rtt', 'Pwr', 'Tmp', 'Utl', 'Clk', 'DRtt', 'Etpt'] as const;
export type StragglerMetric = (typeof STRAGGLER_METRICS)[number];

/** One metric's extremes across ranks. */
export interface RankExtremes {
  readonly min: number;
  readonly minRank: number;
  readonly max: number;
  readonly maxRank: number;
}

/** One straggler-detector line. */
export interface StragglerReport {
  /** 1-based line number. */
  readonly line: number;
  /** Unix seconds of the line's stamp, when it has one. */
  readonly time?: number;
  readonly metrics: Partial<Record<StragglerMetric, RankExtremes>>;
}

/** A quick test for a straggler line, before the parse. */
export const STRAGGLER_HINT = 'MnRtt/Rnk:';

const FIELD =
  /\b(Mn|Mx)(Rtt|Pwr|Tmp|Utl|Clk|DRtt|Etpt)\/Rnk:\s*([+-]?\d+(?:\.\d+)?(?:[eE][+-]?\d+)?)\s*[A-Za-z%]*\s*\/\s*(\d+)/g;
const STAMP = /\[(\d{4}-\d\d-\d\d[ T]\d\d:\d\d:\d\d(?:\.\d+)?)\]/;

/** Reads one straggler line; undefined when the line is not one (or holds no complete min/max pair). */
export function parseStragglerLine(text: string, line: number): StragglerReport | undefined {
  if (!text.includes(STRAGGLER_HINT)) return undefined;
  const found: Partial<Record<StragglerMetric, { min?: [number, number]; max?: [number, number] }>> = {};
  for (const match of text.matchAll(FIELD)) {
    const metric = match[2] as StragglerMetric;
    const value = Number(match[3]);
    const rank = Number(match[4]);
    if (!Number.isFinite(value) || !Number.isSafeInteger(rank)) continue;
    const entry = found[metric] ?? {};
    entry[match[1] === 'Mn' ? 'min' : 'max'] = [value, rank];
    found[metric] = entry;
  }
  const metrics: Partial<Record<StragglerMetric, RankExtremes>> = {};
  for (const metric of STRAGGLER_METRICS) {
    const entry = found[metric];
    if (entry?.min && entry.max) {
      metrics[metric] = { min: entry.min[0], minRank: entry.min[1], max: entry.max[0], maxRank: entry.max[1] };
    }
  }
  if (metrics.Rtt === undefined) return undefined;
  const stamp = STAMP.exec(text)?.[1];
  const time = stampSeconds(stamp);
  return { line, ...(time !== undefined && { time }), metrics };
}

/** How uneven the ranks were over a run, from its straggler lines. */
export interface StragglerSummary {
  readonly reports: number;
  /** max Rtt ÷ min Rtt per report: its median and largest (1 = every rank as fast). */
  readonly rttSpread: { readonly median: number; readonly max: number };
  /** Ranks that were the slowest (`MxRtt`) most often, with how often; at most five. */
  readonly slowestRanks: readonly { readonly rank: number; readonly reports: number }[];
  /** Lowest and highest SM clock any rank reported, MHz. */
  readonly clockMHz?: { readonly min: number; readonly max: number };
  /** Lowest and highest power any rank reported, W (`torch.cuda.power_draw()` milliwatts ÷ 1000). */
  readonly powerW?: { readonly min: number; readonly max: number };
  readonly maxTempC?: number;
}

/** Summarises straggler reports; undefined when there are none. */
export function summariseStragglers(reports: readonly StragglerReport[]): StragglerSummary | undefined {
  if (reports.length === 0) return undefined;
  const spreads: number[] = [];
  const slowest = new Map<number, number>();
  let clock: { min: number; max: number } | undefined;
  let power: { min: number; max: number } | undefined;
  let maxTemp: number | undefined;
  for (const report of reports) {
    const rtt = report.metrics.Rtt as RankExtremes;
    if (rtt.min > 0) spreads.push(rtt.max / rtt.min);
    slowest.set(rtt.maxRank, (slowest.get(rtt.maxRank) ?? 0) + 1);
    const c = report.metrics.Clk;
    if (c) clock = { min: Math.min(clock?.min ?? c.min, c.min), max: Math.max(clock?.max ?? c.max, c.max) };
    const p = report.metrics.Pwr;
    // torch.cuda.power_draw() is in milliwatts (PyTorch docs); Megatron prints it with a `W`.
    if (p) {
      const [low, high] = [p.min / 1000, p.max / 1000];
      power = { min: Math.min(power?.min ?? low, low), max: Math.max(power?.max ?? high, high) };
    }
    const t = report.metrics.Tmp;
    if (t) maxTemp = Math.max(maxTemp ?? t.max, t.max);
  }
  spreads.sort((a, b) => a - b);
  const median =
    spreads.length === 0
      ? 1
      : spreads.length % 2 === 1
        ? (spreads[(spreads.length - 1) / 2] as number)
        : ((spreads[spreads.length / 2 - 1] as number) + (spreads[spreads.length / 2] as number)) / 2;
  return {
    reports: reports.length,
    rttSpread: { median, max: spreads[spreads.length - 1] ?? 1 },
    slowestRanks: [...slowest]
      .sort((a, b) => b[1] - a[1] || a[0] - b[0])
      .slice(0, 5)
      .map(([rank, count]) => ({ rank, reports: count })),
    ...(clock && { clockMHz: clock }),
    ...(power && { powerW: power }),
    ...(maxTemp !== undefined && { maxTempC: maxTemp }),
  };
}
