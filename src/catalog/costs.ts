/**
 * Cost and facility constants of a factory design, each with its source, or marked as a planner assumption
 * where the research found no figure (hardware-catalog.md sec. 4 and 5). Every one can be overridden in a spec.
 * @module
 */
import { type Figure, fig } from './figure.js';

/** Construction cost per MW of critical (IT) load, US average (Cushman & Wakefield 2025). */
export const CONSTRUCTION_USD_PER_MW: Figure = fig(
  11.7e6,
  'USD per MW of critical load',
  'Cushman & Wakefield, Data Center Development Cost Guide 2025 (cushwake.cld.bz)',
  'average of 19 US markets; $9.3M-$15.0M; excludes land and soft costs',
);

/** Interconnect share of total cluster cost (Epoch AI). */
export const INTERCONNECT_SHARE: Figure = fig(
  0.19,
  'of total cluster capex',
  'github epoch-research/training-cost-trends training_cost_trends/constants.py',
  'Epoch constant; another estimate gives 15-25%',
);

/** Useful life of servers and network (Epoch's model from 2023; hyperscalers 5-6 years). */
export const HARDWARE_LIFE_YEARS: Figure = fig(
  5,
  'years',
  'github epoch-research/training-cost-trends',
  'Microsoft/Alphabet/CoreWeave 6, Meta 5-5.5',
);

/** Useful life of the building and its power and cooling plant. */
export const FACILITY_LIFE_YEARS: Figure = fig(
  20,
  'years',
  'planner assumption: no sourced figure (hardware-catalog.md sec. 4.4)',
);

/** Power of one switch without its transceivers. */
export const SWITCH_POWER_W: Figure = fig(
  750,
  'W per 51.2-115 Tb/s switch without optics',
  'planner assumption: switch system power not found for QM9700, Q3400 or SN5600 (hardware-catalog.md sec. 5, item 11)',
);

/** Storage and management power as a share of compute power. */
export const STORAGE_POWER_SHARE: Figure = fig(0.02, 'of compute IT power', 'planner assumption: no sourced figure');

/** Bytes a checkpoint stores per parameter: BF16 weights + FP32 master weights, momentum and variance. */
export const CHECKPOINT_BYTES_PER_PARAMETER: Figure = fig(
  14,
  'bytes per parameter',
  'Rajbhandari et al. 2020 (ZeRO) sec. 3.1: 2 + 12 bytes of model and Adam state',
);

/** Time a checkpoint may take to write, which sizes the storage bandwidth. */
export const CHECKPOINT_WRITE_SECONDS: Figure = fig(60, 's', 'planner assumption: one minute per checkpoint write');

/** GPU draw in a training loop as a share of TDP: 596-640 W on a 700 W H100 (data/calibration/h100-microbench.json). */
export const TRAINING_POWER_SHARE: Figure = fig(
  0.88,
  'of GPU TDP',
  'measured for this project: H100 SXM at 596-640 W in a training step loop, 700 W limit (h100-microbench.json power_observed)',
  'midpoint 618 W / 700 W; idle gaps between steps drop to about 120 W',
);
