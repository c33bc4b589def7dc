/**
 * Server and rack presets per accelerator: GPUs per node, node (or rack) power and price, from
 * ../shared/data/catalog/hardware-catalog.json (facilities.systems_and_racks, costs) with their sources. Where no
 * figure was found the preset derives one and says so in the note.
 * @module
 */
import { type Figure, fig } from './figure.js';

/** How one accelerator is packaged into servers and racks, with power and price. */
export interface SystemPreset {
  /** Catalog accelerator id. */
  readonly accelerator: string;
  readonly name: string;
  readonly gpusPerNode: number;
  /** Maximum power of one node (server or compute tray), GPUs included, kW. */
  readonly nodePowerKW: Figure;
  /** Racks sold whole (NVL72): GPUs per rack and rack power; absent for servers placed by rack power. */
  readonly rack?: { readonly gpus: number; readonly powerKW: Figure };
  /** Purchase price per GPU of the server or rack it sits in, USD. */
  readonly pricePerGpuUSD: Figure;
}

const EPOCH_HARDWARE = 'github epoch-research/training-cost-trends training_cost_trends/hardware.py';
const EPOCH_PRICES = 'github epoch-research/training-cost-trends data/Hardware prices.csv';
const AIINFRAMAP = 'https://www.aiinframap.com/tools/chips/h100-vs-h200-vs-b200-tco';
/** Server cost over GPU cost, Epoch's default (hardware-catalog.md 4.1). */
export const SERVER_COST_FACTOR = fig(1.64, 'x GPU price', EPOCH_HARDWARE, 'server cost is 1.64x GPU cost by default');
/** DGX H100 node power over its GPUs' TDP, Epoch (hardware-catalog.md 3.3): 10.2 kW / 5.6 kW. */
export const NODE_POWER_FACTOR = fig(1.82, 'x GPU TDP', EPOCH_HARDWARE, 'DGX H100 10.2 kW / (8 x 700 W)');

const serverPrice = (gpuPrice: number, source: string, note: string) =>
  fig(
    gpuPrice * SERVER_COST_FACTOR.value,
    'USD per GPU',
    source,
    `${note} x ${SERVER_COST_FACTOR.value} server factor (Epoch)`,
  );
const derivedNodePower = (gpus: number, tdpW: number) =>
  fig(
    (gpus * tdpW * NODE_POWER_FACTOR.value) / 1000,
    'kW',
    EPOCH_HARDWARE,
    `derived: ${gpus} x ${tdpW} W x ${NODE_POWER_FACTOR.value}`,
  );

/** Every system preset. */
export const SYSTEM_PRESETS: readonly SystemPreset[] = Object.freeze([
  {
    accelerator: 'a100-sxm-80gb',
    name: 'DGX A100',
    gpusPerNode: 8,
    nodePowerKW: fig(6.5, 'kW', EPOCH_HARDWARE, 'max per 8-GPU node'),
    pricePerGpuUSD: fig(199000 / 8, 'USD per GPU', EPOCH_PRICES, 'DGX A100 $199K at launch / 8'),
  },
  {
    accelerator: 'h100-sxm',
    name: 'DGX H100',
    gpusPerNode: 8,
    nodePowerKW: fig(10.2, 'kW', EPOCH_HARDWARE, 'max per 8-GPU node; SuperPOD guide: average draw equals peak'),
    pricePerGpuUSD: fig(270000 / 8, 'USD per GPU', EPOCH_PRICES, 'DGX H100 $270K (May 2023, SemiAnalysis) / 8'),
  },
  {
    accelerator: 'h800-sxm',
    name: 'HGX H800 (as DGX H100)',
    gpusPerNode: 8,
    nodePowerKW: fig(10.2, 'kW', EPOCH_HARDWARE, 'assumed equal to DGX H100 (same 700 W GPUs)'),
    pricePerGpuUSD: fig(270000 / 8, 'USD per GPU', EPOCH_PRICES, 'assumed equal to DGX H100'),
  },
  {
    accelerator: 'h200-sxm',
    name: 'HGX H200',
    gpusPerNode: 8,
    nodePowerKW: fig(10.2, 'kW', EPOCH_HARDWARE, 'assumed equal to DGX H100 (same 700 W GPUs)'),
    pricePerGpuUSD: serverPrice(35000, AIINFRAMAP, 'H200 about $35K (2026 estimate)'),
  },
  {
    accelerator: 'b200',
    name: 'DGX B200',
    gpusPerNode: 8,
    nodePowerKW: fig(
      14.3,
      'kW',
      'reliability-anchors.md rack and system power (introl, flashgenius)',
      'commonly quoted, not verified against NVIDIA',
    ),
    pricePerGpuUSD: serverPrice(40000, AIINFRAMAP, 'B200 about $40K (2026 estimate)'),
  },
  {
    accelerator: 'b300',
    name: 'DGX B300',
    gpusPerNode: 8,
    nodePowerKW: fig(
      14,
      'kW',
      'https://docs.nvidia.com/dgx-superpod/reference-architecture/scalable-infrastructure-b300-xdr/latest/dgx-superpod-architecture.html',
      'derived: about 56 kW per rack of 4 DGX B300',
    ),
    pricePerGpuUSD: serverPrice(45000, 'https://huggingface.co/hardware/b300', 'B300 $45K MSRP listing (weak)'),
  },
  {
    accelerator: 'gb200',
    name: 'GB200 NVL72',
    gpusPerNode: 4,
    nodePowerKW: fig(
      6.667,
      'kW',
      'https://docs.nvidia.com/datacenter/dps/versions/latest/guides/concepts/device-specifications.html',
      'compute tray max (4 GPUs + 2 Grace)',
    ),
    rack: {
      gpus: 72,
      powerKW: fig(
        120,
        'kW',
        'reliability-anchors.md rack and system power (introl)',
        '18 compute trays about 117 kW + 9 NVLink switch trays about 3.6 kW; 132 kW DC shelf capacity',
      ),
    },
    pricePerGpuUSD: fig(
      3000000 / 72,
      'USD per GPU',
      'https://www.xatakaon.com/robotics-and-ai/nvidias-ai-supercomputer-costs-3-million-to-operate-it-uses-a-switch-with-nearly-2-miles-of-cable',
      'about $3M per NVL72 rack / 72',
    ),
  },
  {
    accelerator: 'gb300',
    name: 'GB300 NVL72',
    gpusPerNode: 4,
    nodePowerKW: fig(
      6.5,
      'kW',
      'https://introl.com/blog/why-nvidia-gb300-nvl72-blackwell-ultra-matters',
      'compute tray about 6.5 kW',
    ),
    rack: {
      gpus: 72,
      powerKW: fig(
        135,
        'kW',
        'github stas00/ml-engineering compute/accelerator/README.md',
        'NVIDIA rack budget (4 x 1.4 + 1.0 + 0.9 kW) x 18',
      ),
    },
    pricePerGpuUSD: fig(
      3500000 / 72,
      'USD per GPU',
      'https://awesomeagents.ai/hardware/nvidia-gb300-nvl72',
      '$3-4M per rack (estimate), midpoint / 72',
    ),
  },
  {
    accelerator: 'mi300x',
    name: 'MI300X 8-GPU platform',
    gpusPerNode: 8,
    nodePowerKW: derivedNodePower(8, 750),
    pricePerGpuUSD: serverPrice(15000, 'https://huggingface.co/hardware/mi300', 'MI300X $15K MSRP listing (weak)'),
  },
  {
    accelerator: 'gaudi3',
    name: 'Gaudi 3 8-card server',
    gpusPerNode: 8,
    nodePowerKW: derivedNodePower(8, 900),
    pricePerGpuUSD: serverPrice(
      125000 / 8,
      'https://y-ic.de/news/intel-officially-launches-gaudi3-ai-chip-slower-than-nvidia-h100,but-at-a-lower-cost.html',
      '8-card kit $125K / 8',
    ),
  },
]);

/** The system preset for an accelerator id, if the catalog has one. */
export function systemPreset(acceleratorId: string | undefined): SystemPreset | undefined {
  return SYSTEM_PRESETS.find((preset) => preset.accelerator === acceleratorId);
}
