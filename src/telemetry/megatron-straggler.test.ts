/**
 * Megatron's straggler-detector lines: the example line of Megatron-LM's README_STRAGGLER.md (megatron/core) read
 * field by field, a line with decimals and a logger prefix (the form printed by the Heimdall integration), and a
 * summary worked out by hand.
 */
import { describe, expect, it } from 'vitest';
import { parseStragglerLine, summariseStragglers } from './megatron-straggler.js';

const README =
  ' 0: INFO:megatron.core.utils:[2024-03-14 23:07:56] | MnRtt/Rnk: 3453.08ms/8 | MxRtt/Rnk: 3468.20ms/0 | MnPwr/Rnk: 601796W/8 | MxPwr/Rnk: 683801W/18 | MnTmp/Rnk: 52C/0 | MxTmp/Rnk: 65C/21 | MnUtl/Rnk: 97%/8 | MxUtl/Rnk: 100%/6 | MnClk/Rnk: 1950MHz/28 | MxClk/Rnk: 1980MHz/0 | MnDRtt/Rnk: 14.27ms/23 | MxDRtt/Rnk: 34.65ms/3 | MnEtpt/Rnk: 296.02TF/0 | MxEtpt/Rnk: 297.32TF/8';

describe('Megatron straggler lines', () => {
  it('reads every metric with its ranks and the stamp', () => {
    const r = parseStragglerLine(README, 7);
    expect(r?.line).toBe(7);
    expect(r?.time).toBe(Date.UTC(2024, 2, 14, 23, 7, 56) / 1000);
    expect(r?.metrics.Rtt).toEqual({ min: 3453.08, minRank: 8, max: 3468.2, maxRank: 0 });
    expect(r?.metrics.Pwr).toEqual({ min: 601796, minRank: 8, max: 683801, maxRank: 18 });
    expect(r?.metrics.Clk).toEqual({ min: 1950, minRank: 28, max: 1980, maxRank: 0 });
    expect(r?.metrics.DRtt).toEqual({ min: 14.27, minRank: 23, max: 34.65, maxRank: 3 });
    expect(r?.metrics.Etpt).toEqual({ min: 296.02, minRank: 0, max: 297.32, maxRank: 8 });
    expect(Object.keys(r?.metrics ?? {})).toHaveLength(7);
  });

  it('reads decimals in every unit, and refuses lines that are not straggler lines', () => {
    const line =
      '2024-10-23 01:29:30] [INFO] | MnRtt/Rnk: 1446.49ms/13 | MxRtt/Rnk: 1570.32ms/30 | MnPwr/Rnk: 617923.00W/0 | MxPwr/Rnk: 669787.00W/20 | MnTmp/Rnk: 50.00C/0 | MxTmp/Rnk: 61.00C/19 | MnUtl/Rnk: 45.00%/20 | MxUtl/Rnk: 100.00%/3';
    const r = parseStragglerLine(line, 1);
    expect(r?.metrics.Rtt).toEqual({ min: 1446.49, minRank: 13, max: 1570.32, maxRank: 30 });
    expect(r?.metrics.Utl).toEqual({ min: 45, minRank: 20, max: 100, maxRank: 3 });
    expect(r?.time).toBeUndefined();
    expect(parseStragglerLine(' iteration 10/ 100 | elapsed time per iteration (ms): 1.0 |', 1)).toBeUndefined();
    expect(parseStragglerLine('| MnRtt/Rnk: fast/8 |', 1)).toBeUndefined();
    expect(parseStragglerLine('| MnRtt/Rnk: 10ms/8 |', 1)).toBeUndefined(); // no MxRtt: no pair
  });

  it('summarises the spread and the ranks slowest most often', () => {
    const line = (min: number, max: number, slow: number) => `| MnRtt/Rnk: ${min}ms/1 | MxRtt/Rnk: ${max}ms/${slow} |`;
    const reports = [line(100, 110, 5), line(100, 150, 5), line(100, 120, 3), line(100, 100, 5)].map((text, i) =>
      parseStragglerLine(text, i + 1),
    );
    const s = summariseStragglers(reports.filter((r) => r !== undefined));
    // Spreads 1.1, 1.5, 1.2, 1.0: median (1.1 + 1.2) / 2 = 1.15, largest 1.5; rank 5 slowest three times.
    expect(s?.reports).toBe(4);
    expect(s?.rttSpread.median).toBeCloseTo(1.15, 12);
    expect(s?.rttSpread.max).toBeCloseTo(1.5, 12);
    expect(s?.slowestRanks).toEqual([
      { rank: 5, reports: 3 },
      { rank: 3, reports: 1 },
    ]);
    const readme = summariseStragglers([parseStragglerLine(README, 1)].filter((r) => r !== undefined));
    // 601,796 mW = 601.796 W.
    expect(readme?.powerW).toEqual({ min: 601.796, max: 683.801 });
    expect(readme?.maxTempC).toBe(65);
    expect(summariseStragglers([])).toBeUndefined();
  });
});
