/**
 * Fits the power-capped clock law to our own H100 power trace and writes src/perf/power-clock-fit.ts.
 *
 * Input: data/calibration/h100-power-clock.json, the samples of ../shared/data/telemetry/h100-power-2026-11-25.csv
 * (one H100 SXM 80GB at its 700 W limit, nvidia-smi every 50 ms, measured for this project on 2026-11-25) that the
 * fit uses: steady idle samples (the power floor) and samples at the power cap (the clock a power-bound kernel
 * sustains there), plus the microbenchmark's `power_observed` summary of the same run. Extract them again with
 * `npx tsx scripts/fit-power-clock.ts --extract ../shared/data/telemetry/h100-power-2026-11-25.csv`; fit with
 * `npx tsx scripts/fit-power-clock.ts`. test/power-cap.test.ts checks that the generated file matches the fit.
 *
 * Law (docs/model.md § Power cap): board power of a power-bound kernel P(f) = P0 + (P_cap − P0)·(f/f_cap)³, dynamic
 * CMOS power α·C·V²·f with V roughly ∝ f in the DVFS range (Weste & Harris, CMOS VLSI Design, 4th ed., sec. 5.2),
 * P0 the power that does not follow the SM clock (taken as the steady idle draw). So under a cap L below the TDP the
 * clock falls by ((L − P0)/(TDP − P0))^(1/3).
 * @module
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { writeFileAtomic } from '../src/node/files.js';

/** One sample at the power cap: seconds since the sampler started, board power (W), SM clock (MHz), temperature (°C). */
export type CappedSample = readonly [t: number, powerW: number, smMhz: number, tempC: number];

/** The fit's inputs (data/calibration/h100-power-clock.json). */
export interface PowerClockInput {
  readonly source: string;
  readonly selection: { readonly idle: string; readonly capped: string };
  readonly powerLimitW: number;
  readonly maxSmMhz: number;
  /** Board power of every steady idle sample, W. */
  readonly idlePowerW: readonly number[];
  readonly capped: readonly CappedSample[];
  /** h100-microbench.json `power_observed`, for the cross-check. */
  readonly powerObserved: { readonly idle_w: number; readonly sm_clock_mhz_under_sustained_gemm: readonly number[] };
}

const median = (values: readonly number[]) => quantile(values, 0.5);
/** Linear interpolation between closest ranks (Hyndman and Fan type 7, numpy's default). */
function quantile(values: readonly number[], q: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  const position = (sorted.length - 1) * q;
  const lower = Math.floor(position);
  const upper = Math.ceil(position);
  return (sorted[lower] ?? 0) + ((sorted[upper] ?? 0) - (sorted[lower] ?? 0)) * (position - lower);
}
const round = (value: number, digits = 4) => Number(value.toPrecision(digits));

/**
 * The fit: the floor P0 (median steady idle power), the capped operating point (median power and SM clock at the
 * cap), and the residuals of the cube law on every capped sample (its clock against the law's clock at its power).
 */
export function fitPowerClock(input: PowerClockInput) {
  const floorW = median(input.idlePowerW);
  const capPowers = input.capped.map((s) => s[1]);
  const capClocks = input.capped.map((s) => s[2]);
  const capPowerW = median(capPowers);
  const capMhz = median(capClocks);
  // Each capped sample against the law through the median point: f = f_cap·((P − P0)/(P_cap − P0))^(1/3).
  const residuals = input.capped.map(([, power, clock]) => {
    const law = capMhz * ((power - floorW) / (capPowerW - floorW)) ** (1 / 3);
    return Math.abs(clock / law - 1);
  });
  return {
    exponent: 3,
    floorW: round(floorW),
    floorShareOfLimit: round(floorW / input.powerLimitW),
    powerLimitW: input.powerLimitW,
    cappedPowerW: round(capPowerW),
    cappedSmMhz: round(capMhz),
    cappedSmMhzP10: round(quantile(capClocks, 0.1)),
    cappedSmMhzP90: round(quantile(capClocks, 0.9)),
    maxSmMhz: input.maxSmMhz,
    points: { idle: input.idlePowerW.length, capped: input.capped.length },
    residuals: { median: round(median(residuals), 3), p90: round(quantile(residuals, 0.9), 3) },
  };
}

/** The samples the fit uses, from the trace CSV (columns t,timestamp,power_w,sm_mhz,temp_c,util). */
export function extractSamples(csv: string, powerLimitW = 700): Omit<PowerClockInput, 'powerObserved'> {
  const rows = csv
    .trim()
    .split('\n')
    .slice(1)
    .map((line) => line.split(','))
    .map(([t, , power, sm, temp, util]) => ({
      t: Number(t),
      power: Number(power),
      sm: Number(sm),
      temp: Number(temp),
      util: Number(util),
    }));
  const IDLE_RUN = 40; // 2 s of 50 ms samples with no load before the sample: the power has settled
  const idle = rows.filter((_, i) => i >= IDLE_RUN && rows.slice(i - IDLE_RUN, i + 1).every((r) => r.util === 0));
  const capped = rows.filter((r) => r.util >= 95 && r.power >= 0.98 * powerLimitW);
  return {
    source:
      '../shared/data/telemetry/h100-power-2026-11-25.csv (measured for this project on one H100 SXM 80GB, 700 W limit, nvidia-smi every 50 ms, 2026-11-25; README § H100 power trace)',
    selection: {
      idle: `util 0 % on this and the ${IDLE_RUN} samples before (2 s settled)`,
      capped: `util >= 95 % and power >= 98 % of the ${powerLimitW} W limit`,
    },
    powerLimitW,
    maxSmMhz: Math.max(...rows.map((r) => r.sm)),
    idlePowerW: idle.map((r) => r.power),
    capped: capped.map((r) => [Number(r.t.toFixed(2)), r.power, r.sm, r.temp] as const),
  };
}

async function main(): Promise<void> {
  const root = join(import.meta.dirname, '..');
  const inputPath = join(root, 'data/calibration/h100-power-clock.json');
  const extract = process.argv.indexOf('--extract');
  if (extract >= 0) {
    const csv = await readFile(process.argv[extract + 1] ?? '', 'utf8');
    const bench = JSON.parse(await readFile(join(root, 'data/calibration/h100-microbench.json'), 'utf8'));
    const { idle_w, sm_clock_mhz_under_sustained_gemm } = bench.power_observed;
    const input: PowerClockInput = {
      ...extractSamples(csv),
      powerObserved: { idle_w, sm_clock_mhz_under_sustained_gemm },
    };
    await writeFileAtomic(inputPath, `${JSON.stringify(input)}\n`);
    console.log(`wrote ${inputPath}: ${input.idlePowerW.length} idle and ${input.capped.length} capped samples`);
  }
  const input = JSON.parse(await readFile(inputPath, 'utf8')) as PowerClockInput;
  const fit = fitPowerClock(input);
  const text = `/**
 * The power-capped clock law fitted to our H100 power trace (data/calibration/h100-power-clock.json) by
 * scripts/fit-power-clock.ts. Generated: do not edit by hand; test/power-cap.test.ts checks it.
 * @module
 */

/** Floor, capped operating point and residuals of P(f) = P0 + (P_cap − P0)·(f/f_cap)³ on one H100 SXM at 700 W. */
export const POWER_CLOCK_FIT = ${JSON.stringify(fit, null, 2)} as const;
`;
  await writeFileAtomic(join(root, 'src/perf/power-clock-fit.ts'), text);
  console.log(JSON.stringify(fit, null, 2));
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) await main();
