/**
 * The power-capped clock law fitted to our H100 power trace (data/calibration/h100-power-clock.json) by
 * scripts/fit-power-clock.ts. Generated: do not edit by hand; test/power-cap.test.ts checks it.
 * @module
 */

/** Floor, capped operating point and residuals of P(f) = P0 + (P_cap − P0)·(f/f_cap)³ on one H100 SXM at 700 W. */
export const POWER_CLOCK_FIT = {
  exponent: 3,
  floorW: 118.1,
  floorShareOfLimit: 0.1687,
  powerLimitW: 700,
  cappedPowerW: 697.5,
  cappedSmMhz: 1365,
  cappedSmMhzP10: 1305,
  cappedSmMhzP90: 1440,
  maxSmMhz: 1980,
  points: {
    idle: 1532,
    capped: 266,
  },
  residuals: {
    median: 0.0312,
    p90: 0.0659,
  },
} as const;
