/**
 * Accelerators: dense peak throughput per precision, HBM, scale-up link and domain, scale-out NIC, power and the
 * best measured GEMM rate, each a sourced {@link Figure}.
 *
 * Copied from ../shared/data/catalog/hardware-catalog.json (compiled 2026-11-25) with its sources. Peaks are
 * dense: never the 2:4-sparse figures that datasheets headline (hardware-catalog.md section 5). Where a figure
 * is derived (a bidirectional figure halved, GiB converted to GB) the note says so.
 * @module
 */
import { type Figure, fig } from './figure.js';

/** Numeric precisions the catalog carries peaks for. */
export type PeakPrecision = 'bf16' | 'fp16' | 'fp8' | 'fp4' | 'tf32';

/** One accelerator model as published. */
export interface AcceleratorEntry {
  /** Stable catalog id used in specs (`system.accelerator`). */
  readonly id: string;
  /** Other names a spec may use for the same part. */
  readonly aliases: readonly string[];
  readonly vendor: string;
  readonly name: string;
  readonly arch: string;
  readonly released: number;
  /** Dense peak matrix throughput per precision, TFLOP/s. */
  readonly peakTflops: Readonly<Partial<Record<PeakPrecision, Figure>>> & { readonly bf16: Figure };
  /** HBM capacity in GiB: vendors' "80 GB" is 80 GiB (an H100 shows 81,559 MiB in nvidia-smi). */
  readonly hbmCapacityGiB: Figure;
  readonly hbmBandwidthGBps: Figure;
  readonly scaleUp: {
    readonly technology: string;
    /** Scale-up bandwidth per GPU per direction, GB/s. */
    readonly bandwidthGBps: Figure;
    /** GPUs in one scale-up (NVLink-class) domain as usually deployed. */
    readonly domainSize: Figure;
  };
  /** Scale-out NIC bandwidth per accelerator in the reference system, Gb/s. */
  readonly scaleOutGbps?: Figure;
  /** Board power; null where the vendor does not publish it (TPUs, Trainium). */
  readonly tdpW: Figure | null;
  /** Best measured GEMM throughput (maximum achievable matmul FLOP/s) per precision. */
  readonly measuredGemmTflops: Readonly<Partial<Record<'bf16' | 'fp8', Figure>>>;
  /**
   * The GPU's path to host memory in the reference system, for activation offload: bandwidth per GPU per direction
   * when every GPU copies at once, and host memory per GPU. Absent where the catalog has no sourced figure (offload is
   * then refused).
   */
  readonly host?: {
    readonly technology: string;
    readonly bandwidthGBps: Figure;
    readonly memoryGiB: Figure;
  };
}

// PCIe x16 per direction: 16 GT/s (Gen4) or 32 GT/s (Gen5) × 16 lanes / 8 bits less 128b/130b coding: 31.5 and 63
// GB/s (PCI-SIG specifications as summarised on https://en.wikipedia.org/wiki/PCI_Express). On a DGX the GPUs sit in
// pairs behind PCIe switches whose x16 uplink to the CPU both share (DGX A100 user guide, system topology: four
// switches, each with two GPUs and their NICs); the same pairing is taken for DGX H100, B200 and B300 (an assumption),
// so each GPU gets half an x16 link when all offload at once. The NICs reach their GPUs inside the switch and do not
// use the uplink. DGX B300's Xeon 6776P host ports are PCIe 5.0, so its Gen6 GPUs still meet the host at Gen5.
const PCIE_GEN4_X16_PAIR = fig(
  15.75,
  'GB/s per GPU per direction',
  'https://en.wikipedia.org/wiki/PCI_Express',
  'PCIe 4.0 x16 (31.5 GB/s) shared by 2 GPUs (derived)',
);
const PCIE_GEN5_X16_PAIR = fig(
  31.5,
  'GB/s per GPU per direction',
  'https://en.wikipedia.org/wiki/PCI_Express',
  'PCIe 5.0 x16 (63 GB/s) shared by 2 GPUs (derived)',
);
const DGX_A100_HOST = {
  technology: 'PCIe Gen4 x16 switch uplink, 2 GPUs (DGX A100)',
  bandwidthGBps: PCIE_GEN4_X16_PAIR,
  memoryGiB: fig(
    128,
    'GiB per GPU',
    'https://docs.nvidia.com/dgx/dgxa100-user-guide/introduction-to-dgxa100.html',
    'DGX A100: 1 TB system memory (2 TB optional) over 8 GPUs',
  ),
};
const DGX_H100_HOST = {
  technology: 'PCIe Gen5 x16 switch uplink, 2 GPUs (DGX H100/H200)',
  bandwidthGBps: PCIE_GEN5_X16_PAIR,
  memoryGiB: fig(
    256,
    'GiB per GPU',
    'https://docs.nvidia.com/dgx/dgxh100-user-guide/introduction-to-dgxh100.html',
    'DGX H100: 2 TB system memory over 8 GPUs',
  ),
};
// Grace-Blackwell superchip: one Grace, two GPUs, NVLink-C2C 900 GB/s bidirectional and up to 480 GB LPDDR5X per
// superchip (hardware-catalog.md, GB200 row; NVIDIA GB200 NVL72 page): taken as shared by its two GPUs, so 450 GB/s
// per direction over 2 and 480 GB over 2 (a conservative reading; each GPU's own C2C share is not published apart).
const GRACE_HOST = {
  technology: 'NVLink-C2C to Grace (LPDDR5X)',
  bandwidthGBps: fig(
    225,
    'GB/s per GPU per direction',
    'https://www.nvidia.com/en-us/data-center/gb200-nvl72/',
    '900 GB/s bidirectional per superchip, halved per direction, shared by 2 GPUs (derived)',
  ),
  memoryGiB: fig(
    223.5,
    'GiB per GPU',
    'https://www.nvidia.com/en-us/data-center/gb200-nvl72/',
    'up to 480 GB (10^9 B) LPDDR5X per Grace, shared by 2 GPUs: 240 GB, 223.5 GiB (derived)',
  ),
};

const STAS00_COMPUTE =
  'github stas00/ml-engineering compute/accelerator/README.md (TFLOPS, MAMF, memory, clock, power tables; cites vendor spec pages)';
const STAS00_NETWORK = 'github stas00/ml-engineering network/README.md';
const GPU_NETWORK_CONSTANTS =
  "public repo markdown 'GPU & Network Constants' (index file ids 32448469190, 32640403577)";
const AWS_TRN2 =
  'github aws-neuron/aws-neuron-sdk about-neuron/arch/neuron-hardware/trainium2.rst (= https://awsdocs-neuron.readthedocs-hosted.com/en/latest/about-neuron/arch/neuron-hardware/trainium2.html)';
const INTEL_HOTCHIPS_GAUDI3 =
  'https://www.sgpjbg.com/baogao/465025.html (Intel Hot Chips 2024 Gaudi 3 slides, R. Kaplan)';
const KLOCKWOOD_H100 = 'https://glennklockwood.com/garden/processors/h100';
const KLOCKWOOD_A100 = 'https://glennklockwood.com/garden/processors/A100';
const H800_BRIEF =
  'NVIDIA H800 SXM5 product brief (2023): H100 SXM5 silicon and HBM3 80 GB at 3.35 TB/s, NVLink cut to 400 GB/s bidirectional, 700 W';
const DGX_A100_SCALE_OUT = fig(
  200,
  'Gb/s per GPU',
  'https://github.com/NVIDIA/nccl/issues/1576',
  'DGX A100: 8x 200G HDR InfiniBand per node',
);
const NVIDIA_A100_DATASHEET =
  'https://www.nvidia.com/content/dam/en-zz/Solutions/Data-Center/a100/pdf/nvidia-a100-datasheet-us-nvidia-1758950-r4-web.pdf (A100 40GB SXM column)';
const NVIDIA_H100_PAGE =
  'https://www.nvidia.com/en-us/data-center/h100/ (NVIDIA H100 product page, specification table, H100 SXM | H100 NVL columns; Tensor Core rows are with sparsity)';
const NVIDIA_H100_PCIE_BRIEF =
  'NVIDIA H100 PCIe product brief PB-11133-001_v02 (Nov 2022): 80 GB HBM2e, more than 2,000 GB/s, 350 W maximum TDP, NVLink bridge for two cards';
const TORCHTITAN_H100 =
  'github pytorch/torchtitan benchmarks/llama3_h100_202412_torchtitan.md (Hardware section and footnote 2; Grand Teton hosts)';
const DEEPSEEK_V3_REPORT = 'DeepSeek-AI, DeepSeek-V3 Technical Report, arXiv:2412.19437, sec. 3.1-3.2 (H800 cluster)';

/** Every accelerator in the catalog, in release order within each vendor. */
export const ACCELERATORS: readonly AcceleratorEntry[] = Object.freeze([
  {
    id: 'a100-sxm-80gb',
    aliases: ['a100', 'a100-80gb', 'nvidia-a100-sxm4-80gb'],
    vendor: 'NVIDIA',
    name: 'A100 SXM4 80GB',
    arch: 'Ampere (GA100)',
    released: 2020,
    peakTflops: {
      bf16: fig(312, 'TFLOP/s dense', KLOCKWOOD_A100, '624 with sparsity'),
      fp16: fig(312, 'TFLOP/s dense', KLOCKWOOD_A100),
      tf32: fig(156, 'TFLOP/s dense', KLOCKWOOD_A100, '312 with 2:4 sparsity'),
    },
    hbmCapacityGiB: fig(80, 'GiB (vendors say GB)', KLOCKWOOD_A100),
    hbmBandwidthGBps: fig(2039, 'GB/s', KLOCKWOOD_A100),
    scaleUp: {
      technology: 'NVLink 3 via NVSwitch (gen2)',
      bandwidthGBps: fig(300, 'GB/s per GPU per direction', GPU_NETWORK_CONSTANTS),
      domainSize: fig(8, 'GPUs', STAS00_NETWORK),
    },
    scaleOutGbps: DGX_A100_SCALE_OUT,
    tdpW: fig(400, 'W', STAS00_COMPUTE, 'max TDP; CTS up to 500 W'),
    measuredGemmTflops: {
      bf16: fig(271.2, 'TFLOP/s (best measured GEMM, MAMF)', STAS00_COMPUTE, '86.9% of 312; torch 2.6.0+cu126'),
    },
    host: DGX_A100_HOST,
  },
  {
    id: 'a100-sxm-40gb',
    aliases: ['a100-40gb', 'nvidia-a100-sxm4-40gb'],
    vendor: 'NVIDIA',
    name: 'A100 SXM4 40GB',
    arch: 'Ampere (GA100)',
    released: 2020,
    peakTflops: {
      bf16: fig(312, 'TFLOP/s dense', NVIDIA_A100_DATASHEET, '624 with sparsity; same as the 80 GB part'),
      fp16: fig(312, 'TFLOP/s dense', NVIDIA_A100_DATASHEET),
      tf32: fig(156, 'TFLOP/s dense', NVIDIA_A100_DATASHEET, '312 with 2:4 sparsity'),
    },
    hbmCapacityGiB: fig(40, 'GiB (vendors say GB)', NVIDIA_A100_DATASHEET, 'HBM2'),
    hbmBandwidthGBps: fig(1555, 'GB/s', NVIDIA_A100_DATASHEET),
    scaleUp: {
      technology: 'NVLink 3 via NVSwitch (gen2)',
      bandwidthGBps: fig(300, 'GB/s per GPU per direction', NVIDIA_A100_DATASHEET, '600 GB/s bidirectional'),
      domainSize: fig(8, 'GPUs', STAS00_NETWORK),
    },
    scaleOutGbps: DGX_A100_SCALE_OUT,
    tdpW: fig(400, 'W', NVIDIA_A100_DATASHEET, 'max TDP'),
    measuredGemmTflops: {
      bf16: fig(
        271.2,
        'TFLOP/s (best measured GEMM, MAMF)',
        STAS00_COMPUTE,
        'measured on an A100 SXM (80 GB); the 40 GB part has the same GA100 silicon, clocks and peaks (datasheet)',
      ),
    },
    host: DGX_A100_HOST,
  },
  {
    id: 'h100-sxm',
    aliases: ['h100', 'h100-sxm5-80gb', 'nvidia-h100-sxm5-80gb'],
    vendor: 'NVIDIA',
    name: 'H100 SXM5 80GB',
    arch: 'Hopper (GH100)',
    released: 2022,
    peakTflops: {
      bf16: fig(989.4, 'TFLOP/s dense', KLOCKWOOD_H100, 'NVIDIA datasheet 1979 is WITH sparsity'),
      fp16: fig(989.4, 'TFLOP/s dense', KLOCKWOOD_H100),
      fp8: fig(1978.9, 'TFLOP/s dense', KLOCKWOOD_H100, '3958 with sparsity'),
      tf32: fig(494.7, 'TFLOP/s dense', KLOCKWOOD_H100, 'NVIDIA datasheet 989 is WITH sparsity'),
    },
    hbmCapacityGiB: fig(80, 'GiB (vendors say GB)', KLOCKWOOD_H100),
    hbmBandwidthGBps: fig(3350, 'GB/s', KLOCKWOOD_H100),
    scaleUp: {
      technology: 'NVLink 4 via 4x NVSwitch gen3 (HGX)',
      bandwidthGBps: fig(450, 'GB/s per GPU per direction', GPU_NETWORK_CONSTANTS),
      domainSize: fig(
        8,
        'GPUs',
        'https://docs.nvidia.com/dgx-superpod/reference-architecture-scalable-infrastructure-h100/latest/network-fabrics.html',
      ),
    },
    scaleOutGbps: fig(
      400,
      'Gb/s per GPU',
      'https://docs.nvidia.com/dgx-superpod/reference-architecture-scalable-infrastructure-h100/latest/network-fabrics.html',
      'DGX H100: 8x ConnectX-7 400G per node',
    ),
    tdpW: fig(700, 'W', STAS00_COMPUTE, 'max TDP'),
    measuredGemmTflops: {
      bf16: fig(794.5, 'TFLOP/s (best measured GEMM, MAMF)', STAS00_COMPUTE, '80.3% of 989; torch 2.7.0+cu126'),
      fp8: fig(1402.6, 'TFLOP/s (best measured GEMM, MAMF)', STAS00_COMPUTE, '70.9% of 1979'),
    },
    host: DGX_H100_HOST,
  },
  {
    id: 'h100-sxm-96gb',
    aliases: ['h100-96gb', 'h100-sxm-96gb-hbm2e'],
    vendor: 'NVIDIA',
    name: 'H100 SXM 96GB HBM2e',
    arch: 'Hopper (GH100), non-standard SXM part with HBM2e (Meta Grand Teton)',
    released: 2023,
    peakTflops: {
      bf16: fig(
        989.4,
        'TFLOP/s dense',
        TORCHTITAN_H100,
        'not published: "between SXM and NVL" (torchtitan footnote 2); taken as the SXM5 peak, the 500 W default cap is modelled apart',
      ),
      fp16: fig(989.4, 'TFLOP/s dense', KLOCKWOOD_H100, 'the SXM5 figure (see bf16)'),
      fp8: fig(1978.9, 'TFLOP/s dense', KLOCKWOOD_H100, 'the SXM5 figure (see bf16)'),
      tf32: fig(494.7, 'TFLOP/s dense', KLOCKWOOD_H100, 'the SXM5 figure (see bf16)'),
    },
    hbmCapacityGiB: fig(
      96,
      'GiB (vendors say GB)',
      TORCHTITAN_H100,
      '"96GB HBM2e"; arXiv:2604.11391 reports 94 GiB usable on an H100 HBM2e',
    ),
    hbmBandwidthGBps: fig(2400, 'GB/s', TORCHTITAN_H100, '"2.4 TB/sec peak memory bandwidth"'),
    scaleUp: {
      technology: 'NVLink 4, 8 GPUs fully connected (Grand Teton)',
      bandwidthGBps: fig(450, 'GB/s per GPU per direction', GPU_NETWORK_CONSTANTS, 'the H100 SXM figure'),
      domainSize: fig(8, 'GPUs', TORCHTITAN_H100, '"Each host has 8 NVIDIA H100 GPUs fully connected with NVLink"'),
    },
    scaleOutGbps: fig(400, 'Gb/s per GPU', TORCHTITAN_H100, '"backend RDMA network with 400 Gb/s per GPU"'),
    tdpW: fig(700, 'W', TORCHTITAN_H100, 'TDP 700 W; run at its default 500 W power limit (set gpuPowerLimitW: 500)'),
    measuredGemmTflops: {},
    host: DGX_H100_HOST,
  },
  {
    id: 'h100-pcie',
    aliases: ['h100-pcie-80gb', 'nvidia-h100-pcie-80gb'],
    vendor: 'NVIDIA',
    name: 'H100 PCIe 80GB',
    arch: 'Hopper (GH100), 114 SMs',
    released: 2022,
    peakTflops: {
      bf16: fig(756, 'TFLOP/s dense', STAS00_COMPUTE, '1,513 with sparsity (NVIDIA)'),
      fp16: fig(756, 'TFLOP/s dense', STAS00_COMPUTE),
      fp8: fig(1513, 'TFLOP/s dense', STAS00_COMPUTE, '3,026 with sparsity (NVIDIA)'),
      tf32: fig(378, 'TFLOP/s dense', STAS00_COMPUTE, '756 with sparsity (NVIDIA)'),
    },
    hbmCapacityGiB: fig(80, 'GiB (vendors say GB)', NVIDIA_H100_PCIE_BRIEF, 'HBM2e'),
    hbmBandwidthGBps: fig(2000, 'GB/s', NVIDIA_H100_PCIE_BRIEF, '"greater than 2,000 GBps"'),
    scaleUp: {
      technology: 'NVLink bridge between two cards (else PCIe Gen5)',
      bandwidthGBps: fig(300, 'GB/s per GPU per direction', NVIDIA_H100_PCIE_BRIEF, '600 GB/s bidirectional, halved'),
      domainSize: fig(2, 'GPUs', NVIDIA_H100_PCIE_BRIEF, 'a bridge joins a pair of cards'),
    },
    tdpW: fig(350, 'W', NVIDIA_H100_PCIE_BRIEF, 'maximum TDP; 300-350 W configurable'),
    measuredGemmTflops: {},
  },
  {
    id: 'h100-nvl',
    aliases: ['h100-nvl-94gb', 'nvidia-h100-nvl'],
    vendor: 'NVIDIA',
    name: 'H100 NVL 94GB',
    arch: 'Hopper (GH100), PCIe card with NVLink bridge',
    released: 2023,
    peakTflops: {
      bf16: fig(835.5, 'TFLOP/s dense', NVIDIA_H100_PAGE, 'derived: 1,671 with sparsity, halved'),
      fp16: fig(835.5, 'TFLOP/s dense', NVIDIA_H100_PAGE, 'derived: 1,671 with sparsity, halved'),
      fp8: fig(1670.5, 'TFLOP/s dense', NVIDIA_H100_PAGE, 'derived: 3,341 with sparsity, halved'),
      tf32: fig(417.5, 'TFLOP/s dense', NVIDIA_H100_PAGE, 'derived: 835 with sparsity, halved'),
    },
    hbmCapacityGiB: fig(94, 'GiB (vendors say GB)', NVIDIA_H100_PAGE, 'HBM3'),
    hbmBandwidthGBps: fig(3900, 'GB/s', NVIDIA_H100_PAGE, '3.9 TB/s'),
    scaleUp: {
      technology: 'NVLink bridge between two cards (else PCIe Gen5)',
      bandwidthGBps: fig(
        300,
        'GB/s per GPU per direction',
        NVIDIA_H100_PAGE,
        'NVLink 600 GB/s, read as bidirectional and halved',
      ),
      domainSize: fig(2, 'GPUs', NVIDIA_H100_PAGE, 'a bridge joins a pair of cards (the dual-GPU NVL)'),
    },
    tdpW: fig(400, 'W', NVIDIA_H100_PAGE, 'Max TDP 350-400 W (configurable)'),
    measuredGemmTflops: {},
  },
  {
    id: 'h800-sxm',
    aliases: ['h800', 'h800-sxm5-80gb'],
    vendor: 'NVIDIA',
    name: 'H800 SXM5 80GB',
    arch: 'Hopper (GH100), export variant with reduced NVLink',
    released: 2023,
    peakTflops: {
      bf16: fig(989.4, 'TFLOP/s dense', H800_BRIEF, 'tensor throughput identical to H100 SXM5'),
      fp16: fig(989.4, 'TFLOP/s dense', H800_BRIEF, 'tensor throughput identical to H100 SXM5'),
      fp8: fig(1978.9, 'TFLOP/s dense', H800_BRIEF, 'tensor throughput identical to H100 SXM5'),
      tf32: fig(494.7, 'TFLOP/s dense', H800_BRIEF, 'tensor throughput identical to H100 SXM5'),
    },
    hbmCapacityGiB: fig(80, 'GiB (vendors say GB)', H800_BRIEF),
    hbmBandwidthGBps: fig(3350, 'GB/s', H800_BRIEF),
    scaleUp: {
      technology: 'NVLink 4 (8 links) via NVSwitch',
      bandwidthGBps: fig(
        200,
        'GB/s per GPU per direction',
        H800_BRIEF,
        '400 GB/s bidirectional; DeepSeek-V3 report (arXiv:2412.19437 sec. 3.2.2) measured about 160 GB/s',
      ),
      domainSize: fig(8, 'GPUs', DEEPSEEK_V3_REPORT, '8 GPUs per node connected by NVLink and NVSwitch'),
    },
    scaleOutGbps: fig(400, 'Gb/s per GPU', DEEPSEEK_V3_REPORT, 'InfiniBand at 50 GB/s per GPU (sec. 3.2.2)'),
    tdpW: fig(700, 'W', H800_BRIEF),
    measuredGemmTflops: {},
    host: DGX_H100_HOST,
  },
  {
    id: 'h200-sxm',
    aliases: ['h200', 'nvidia-h200-sxm-141gb'],
    vendor: 'NVIDIA',
    name: 'H200 SXM 141GB',
    arch: 'Hopper (GH100)',
    released: 2024,
    peakTflops: {
      bf16: fig(989, 'TFLOP/s dense', STAS00_COMPUTE),
      fp16: fig(989, 'TFLOP/s dense', STAS00_COMPUTE),
      fp8: fig(1979, 'TFLOP/s dense', STAS00_COMPUTE),
      tf32: fig(494.5, 'TFLOP/s dense', STAS00_COMPUTE),
    },
    hbmCapacityGiB: fig(141, 'GiB (vendors say GB)', STAS00_COMPUTE),
    hbmBandwidthGBps: fig(4800, 'GB/s', STAS00_COMPUTE),
    scaleUp: {
      technology: 'NVLink 4',
      bandwidthGBps: fig(450, 'GB/s per GPU per direction', GPU_NETWORK_CONSTANTS),
      domainSize: fig(8, 'GPUs', GPU_NETWORK_CONSTANTS),
    },
    scaleOutGbps: fig(
      400,
      'Gb/s per GPU',
      'https://docs.nvidia.com/enterprise-reference-architectures/hgx-ai-factory-h100-h200-b200/latest/networking-physical-topologies.html',
      'HGX H200: one 400G SuperNIC per GPU',
    ),
    tdpW: fig(700, 'W', STAS00_COMPUTE, 'SXM max TDP; H200 NVL PCIe 600 W'),
    measuredGemmTflops: {
      bf16: fig(794.5, 'TFLOP/s (best measured GEMM, MAMF)', STAS00_COMPUTE, 'listed as same as H100'),
      fp8: fig(1453.4, 'TFLOP/s (best measured GEMM, MAMF)', STAS00_COMPUTE, '73.4% of 1979'),
    },
    host: DGX_H100_HOST,
  },
  {
    id: 'b200',
    aliases: ['b200-hgx', 'nvidia-b200-hgx'],
    vendor: 'NVIDIA',
    name: 'B200 (HGX/DGX B200, 1000 W)',
    arch: 'Blackwell (dual-die)',
    released: 2025,
    peakTflops: {
      bf16: fig(2250, 'TFLOP/s dense', STAS00_COMPUTE),
      fp16: fig(2250, 'TFLOP/s dense', STAS00_COMPUTE),
      fp8: fig(4500, 'TFLOP/s dense', STAS00_COMPUTE, '9000 with sparsity'),
      fp4: fig(9000, 'TFLOP/s dense', STAS00_COMPUTE, 'dense; stas00 lists nvfp4 10000; 18000 with sparsity'),
      tf32: fig(1100, 'TFLOP/s dense', 'https://glennklockwood.com/garden/processors/B200', 'stas00 lists 1125'),
    },
    hbmCapacityGiB: fig(180, 'GiB (vendors say GB)', STAS00_COMPUTE),
    hbmBandwidthGBps: fig(8000, 'GB/s', STAS00_COMPUTE, 'verda/const_blog list 7.7 TB/s for HGX B200'),
    scaleUp: {
      technology: 'NVLink 5 via NVSwitch (HGX 8-GPU)',
      bandwidthGBps: fig(900, 'GB/s per GPU per direction', GPU_NETWORK_CONSTANTS),
      domainSize: fig(
        8,
        'GPUs',
        'https://docs.nvidia.com/dgx-superpod/reference-architecture-scalable-infrastructure-b200/latest/dgx-superpod-architecture.html',
      ),
    },
    scaleOutGbps: fig(
      400,
      'Gb/s per GPU',
      'https://docs.nvidia.com/enterprise-reference-architectures/hgx-ai-factory-h100-h200-b200/latest/networking-physical-topologies.html',
      'HGX B200: one 400G SuperNIC per GPU',
    ),
    tdpW: fig(1000, 'W', STAS00_COMPUTE, 'max TGP; DGX B200 default set point 700 W'),
    measuredGemmTflops: {
      bf16: fig(1745.0, 'TFLOP/s (best measured GEMM, MAMF)', STAS00_COMPUTE, '77.6% of 2250'),
      fp8: fig(3432.5, 'TFLOP/s (best measured GEMM, MAMF)', STAS00_COMPUTE, '76.3% of 4500'),
    },
    host: {
      technology: 'PCIe Gen5 x16 switch uplink, 2 GPUs (DGX B200)',
      bandwidthGBps: PCIE_GEN5_X16_PAIR,
      memoryGiB: fig(
        256,
        'GiB per GPU',
        'https://docs.nvidia.com/dgx/dgxb200-user-guide/introduction-to-dgxb200.html',
        'DGX B200: 2 TB system memory (4 TB optional) over 8 GPUs',
      ),
    },
  },
  {
    id: 'gb200',
    aliases: ['gb200-nvl72', 'nvidia-gb200-nvl72-gpu'],
    vendor: 'NVIDIA',
    name: 'GB200 (per Blackwell GPU in NVL72, 1200 W)',
    arch: 'Blackwell + Grace',
    released: 2025,
    peakTflops: {
      bf16: fig(2500, 'TFLOP/s dense', STAS00_COMPUTE),
      fp16: fig(2500, 'TFLOP/s dense', STAS00_COMPUTE),
      fp8: fig(5000, 'TFLOP/s dense', STAS00_COMPUTE),
      fp4: fig(10000, 'TFLOP/s dense', STAS00_COMPUTE, 'dense; 20000 sparse'),
      tf32: fig(1250, 'TFLOP/s dense', STAS00_COMPUTE),
    },
    hbmCapacityGiB: fig(186, 'GiB (vendors say GB)', STAS00_COMPUTE, 'MLPerf GB200 system file also lists 186 GB'),
    hbmBandwidthGBps: fig(8000, 'GB/s', STAS00_COMPUTE),
    scaleUp: {
      technology: 'NVLink 5; 9 NVLink switch trays x 2 NVSwitch chips; 1 link from each GPU to each of 18 chips',
      bandwidthGBps: fig(900, 'GB/s per GPU per direction', GPU_NETWORK_CONSTANTS),
      domainSize: fig(
        72,
        'GPUs',
        'https://docs.nvidia.com/dgx-superpod/reference-architecture-scalable-infrastructure-gb200/latest/network-fabrics.html',
      ),
    },
    scaleOutGbps: fig(
      400,
      'Gb/s per GPU',
      'https://raw.githubusercontent.com/mlcommons/inference_results_v6.1/main/closed/Crusoe/systems/GB200-NVL72_GB200-186GB_aarch64x16_Dynamo.json',
      '1x ConnectX-7 400G per GPU, 4 per compute tray',
    ),
    tdpW: fig(1200, 'W', STAS00_COMPUTE, 'per-GPU max power; NVIDIA DPS GPU range 200-1200 W'),
    measuredGemmTflops: {
      bf16: fig(1822.0, 'TFLOP/s (best measured GEMM, MAMF)', STAS00_COMPUTE, '72.9% of 2500'),
      fp8: fig(3615.6, 'TFLOP/s (best measured GEMM, MAMF)', STAS00_COMPUTE, '72.3% of 5000'),
    },
    host: GRACE_HOST,
  },
  {
    id: 'b300',
    aliases: ['b300-hgx', 'nvidia-b300-hgx'],
    vendor: 'NVIDIA',
    name: 'B300 / Blackwell Ultra (HGX/DGX B300)',
    arch: 'Blackwell Ultra',
    released: 2025,
    peakTflops: {
      bf16: fig(2250, 'TFLOP/s dense', STAS00_COMPUTE),
      fp16: fig(2250, 'TFLOP/s dense', STAS00_COMPUTE),
      fp8: fig(4500, 'TFLOP/s dense', STAS00_COMPUTE),
      fp4: fig(
        13125,
        'TFLOP/s dense',
        'https://glennklockwood.com/garden/processors/B300',
        'CONFLICT: stas00 fp4 12600 / nvfp4 15000; verda 14000; treat 12.6-15 PF',
      ),
      tf32: fig(1125, 'TFLOP/s dense', STAS00_COMPUTE, 'verda lists 1.1 PF'),
    },
    hbmCapacityGiB: fig(288, 'GiB (vendors say GB)', STAS00_COMPUTE, 'verda lists 270 GB usable'),
    hbmBandwidthGBps: fig(8000, 'GB/s', STAS00_COMPUTE, 'verda lists 7.7 TB/s'),
    scaleUp: {
      technology: 'NVLink 5',
      bandwidthGBps: fig(900, 'GB/s per GPU per direction', GPU_NETWORK_CONSTANTS),
      domainSize: fig(
        8,
        'GPUs',
        'https://docs.nvidia.com/dgx-superpod/reference-architecture/scalable-infrastructure-b300/latest/dgx-superpod-architecture.html',
      ),
    },
    scaleOutGbps: fig(
      800,
      'Gb/s per GPU',
      'https://neocloud.kedios.io/full-network-topology-report/Kedios-B300-Full-Network-Topology-Report.html',
      'ConnectX-8 800G per GPU',
    ),
    tdpW: fig(
      1100,
      'W',
      'https://verda.com/blog/gb300-nvl72-architecture',
      'CONFLICT: stas00 lists 1000 W max TGP (DGX B300 power capping); klockwood 1400 W is the GB300 figure',
    ),
    measuredGemmTflops: {
      bf16: fig(1769.0, 'TFLOP/s (best measured GEMM, MAMF)', STAS00_COMPUTE, '78.6% of 2250'),
      fp8: fig(3353.3, 'TFLOP/s (best measured GEMM, MAMF)', STAS00_COMPUTE, '74.5% of 4500'),
    },
    host: {
      technology: 'PCIe Gen5 host ports (Xeon 6776P), switch uplink shared by 2 GPUs (DGX B300)',
      bandwidthGBps: PCIE_GEN5_X16_PAIR,
      memoryGiB: fig(
        256,
        'GiB per GPU',
        'https://docs.nvidia.com/dgx/dgxb300-user-guide/introduction-to-dgxb300.html',
        'DGX B300: 2 TB system memory over 8 GPUs',
      ),
    },
  },
  {
    id: 'gb300',
    aliases: ['gb300-nvl72', 'nvidia-gb300-nvl72-gpu'],
    vendor: 'NVIDIA',
    name: 'GB300 (per Blackwell Ultra GPU in NVL72, 1400 W)',
    arch: 'Blackwell Ultra + Grace',
    released: 2025,
    peakTflops: {
      bf16: fig(2500, 'TFLOP/s dense', STAS00_COMPUTE),
      fp16: fig(2500, 'TFLOP/s dense', STAS00_COMPUTE),
      fp8: fig(5000, 'TFLOP/s dense', STAS00_COMPUTE),
      fp4: fig(15000, 'TFLOP/s dense', STAS00_COMPUTE, 'dense; verda agrees 15 PF'),
      tf32: fig(1250, 'TFLOP/s dense', STAS00_COMPUTE),
    },
    hbmCapacityGiB: fig(
      288,
      'GiB (vendors say GB)',
      'https://awesomeagents.ai/hardware/nvidia-gb300-nvl72',
      'verda lists 279 GB usable',
    ),
    hbmBandwidthGBps: fig(8000, 'GB/s', 'https://verda.com/blog/gb300-nvl72-architecture'),
    scaleUp: {
      technology: 'NVLink 5',
      bandwidthGBps: fig(900, 'GB/s per GPU per direction', 'https://verda.com/blog/gb300-nvl72-architecture'),
      domainSize: fig(72, 'GPUs', 'https://glennklockwood.com/garden/processors/B300'),
    },
    scaleOutGbps: fig(
      800,
      'Gb/s per GPU',
      'https://glennklockwood.com/garden/processors/B300',
      '72x ConnectX-8 800G per rack, one per GPU',
    ),
    tdpW: fig(1400, 'W', STAS00_COMPUTE, 'per-GPU max power (NVIDIA Mission Control FAQ)'),
    measuredGemmTflops: {},
    host: GRACE_HOST,
  },
  {
    id: 'mi300x',
    aliases: ['amd-mi300x'],
    vendor: 'AMD',
    name: 'Instinct MI300X',
    arch: 'CDNA 3',
    released: 2023,
    peakTflops: {
      bf16: fig(1307.4, 'TFLOP/s dense', STAS00_COMPUTE, '2614.9 with sparsity; often rounded to 1300'),
      fp16: fig(1307.4, 'TFLOP/s dense', STAS00_COMPUTE),
      fp8: fig(
        2614.9,
        'TFLOP/s dense',
        'public code file with AMD peak table (index file id 61483748974): MI300 bf16 1307.4, fp8 2614.9; MI355 bf16 2516.6',
        '5229.8 with sparsity',
      ),
      tf32: fig(653.7, 'TFLOP/s dense', STAS00_COMPUTE),
    },
    hbmCapacityGiB: fig(192, 'GiB (vendors say GB)', STAS00_COMPUTE),
    hbmBandwidthGBps: fig(5300, 'GB/s', STAS00_COMPUTE),
    scaleUp: {
      technology: 'Infinity Fabric / xGMI, 7 links, full mesh of 8 OAMs',
      bandwidthGBps: fig(448, 'GB/s per GPU per direction', STAS00_NETWORK),
      domainSize: fig(8, 'GPUs', STAS00_NETWORK),
    },
    tdpW: fig(750, 'W', STAS00_COMPUTE, 'peak Typical Board Power'),
    measuredGemmTflops: {
      bf16: fig(668.4, 'TFLOP/s (best measured GEMM, MAMF)', STAS00_COMPUTE, '51.4% of 1300 (ROCm 6.3, TunableOp)'),
    },
  },
  {
    id: 'mi325x',
    aliases: ['amd-mi325x'],
    vendor: 'AMD',
    name: 'Instinct MI325X',
    arch: 'CDNA 3',
    released: 2024,
    peakTflops: {
      bf16: fig(1307.4, 'TFLOP/s dense', 'https://awesomeagents.ai/hardware/amd-mi325x'),
      fp16: fig(1307.4, 'TFLOP/s dense', 'https://awesomeagents.ai/hardware/amd-mi325x'),
      fp8: fig(2614.9, 'TFLOP/s dense', 'https://awesomeagents.ai/hardware/amd-mi325x', '5229.8 with sparsity'),
      tf32: fig(653.7, 'TFLOP/s dense', 'https://awesomeagents.ai/hardware/amd-mi325x'),
    },
    hbmCapacityGiB: fig(256, 'GiB (vendors say GB)', STAS00_COMPUTE),
    hbmBandwidthGBps: fig(6000, 'GB/s', STAS00_COMPUTE),
    scaleUp: {
      technology: 'Infinity Fabric, 7 links',
      bandwidthGBps: fig(448, 'GB/s per GPU per direction', STAS00_NETWORK),
      domainSize: fig(8, 'GPUs', STAS00_NETWORK),
    },
    tdpW: fig(1000, 'W', STAS00_COMPUTE, 'peak TBP'),
    measuredGemmTflops: {
      bf16: fig(784.9, 'TFLOP/s (best measured GEMM, MAMF)', STAS00_COMPUTE, '60.4% of 1300 (TunableOp, 1000 W)'),
    },
  },
  {
    id: 'mi355x',
    aliases: ['amd-mi355x'],
    vendor: 'AMD',
    name: 'Instinct MI355X',
    arch: 'CDNA 4',
    released: 2025,
    peakTflops: {
      bf16: fig(2516.6, 'TFLOP/s dense', STAS00_COMPUTE, 'AMD rounds to 2.5 PF; 5.0 PF with sparsity'),
      fp16: fig(2516.6, 'TFLOP/s dense', STAS00_COMPUTE),
      fp8: fig(5033, 'TFLOP/s dense', STAS00_COMPUTE, '~5.0 PF dense; 10.1 PF with sparsity'),
      fp4: fig(
        10066,
        'TFLOP/s dense',
        STAS00_COMPUTE,
        "~10.1 PF dense MXFP4; Tom's Hardware quotes 20.1 PF (likely sparsity/peak-marketing) ",
      ),
    },
    hbmCapacityGiB: fig(288, 'GiB (vendors say GB)', STAS00_COMPUTE),
    hbmBandwidthGBps: fig(8000, 'GB/s', STAS00_COMPUTE),
    scaleUp: {
      technology: 'Infinity Fabric 4th gen, 7 links, 8-OAM UBB',
      bandwidthGBps: fig(
        537.6,
        'GB/s per GPU per direction',
        'https://humeconsulting.co/amd-mi355x-strong-node-level-inference-but-no-rack-scale-yet',
        "derived: 7 links x 153.6 GB/s, read as bidirectional per link (as MI300X's 128 GB/s), halved; direction not stated by the source",
      ),
      domainSize: fig(
        8,
        'GPUs',
        'https://www.tomshardware.com/pc-components/gpus/amds-instinct-mi355x-accelerator-will-consume-1-400-watts',
      ),
    },
    tdpW: fig(1400, 'W', STAS00_COMPUTE, 'TBP; liquid cooled. MI350X sibling = 1000 W air cooled'),
    measuredGemmTflops: {
      bf16: fig(
        1565.0,
        'TFLOP/s (best measured GEMM, MAMF)',
        STAS00_COMPUTE,
        '68.0% vs 2300 used as theory in that table (62% vs 2516.6)',
      ),
    },
  },
  {
    id: 'tpu-v5e',
    aliases: ['google-tpu-v5e'],
    vendor: 'Google',
    name: 'TPU v5e',
    arch: 'TPU',
    released: 2023,
    peakTflops: {
      bf16: fig(197, 'TFLOP/s dense', 'https://docs.cloud.google.com/tpu/docs/v5e'),
    },
    hbmCapacityGiB: fig(16, 'GiB (vendors say GB)', 'https://docs.cloud.google.com/tpu/docs/v5e'),
    hbmBandwidthGBps: fig(819, 'GB/s', 'https://docs.cloud.google.com/tpu/docs/v5e', 'another doc version: 800 GiB/s'),
    scaleUp: {
      technology: 'ICI, 4 ports/chip, 2D torus',
      bandwidthGBps: fig(
        200.0,
        'GB/s per GPU per direction',
        'https://docs.cloud.google.com/tpu/docs/v5e',
        'older doc: 1600 Gbps (likely per-direction); half of the bidirectional figure',
      ),
      domainSize: fig(256, 'GPUs', 'https://docs.cloud.google.com/tpu/docs/v5e'),
    },
    scaleOutGbps: fig(
      25,
      'Gb/s per chip',
      'https://docs.cloud.google.com/tpu/docs/v5e',
      'derived: 2x 100 Gb/s NIC per 8-chip host',
    ),
    tdpW: null,
    measuredGemmTflops: {},
  },
  {
    id: 'tpu-v5p',
    aliases: ['google-tpu-v5p'],
    vendor: 'Google',
    name: 'TPU v5p',
    arch: 'TPU',
    released: 2023,
    peakTflops: {
      bf16: fig(459, 'TFLOP/s dense', 'https://docs.cloud.google.com/tpu/docs/v5p-training'),
      fp8: fig(
        459,
        'TFLOP/s dense',
        'https://docs.cloud.google.com/tpu/docs/v5p-training',
        'no FP8 speed-up over BF16',
      ),
    },
    hbmCapacityGiB: fig(95, 'GiB', 'https://docs.cloud.google.com/tpu/docs/v5p-training'),
    hbmBandwidthGBps: fig(2765, 'GB/s', 'https://docs.cloud.google.com/tpu/docs/v5p-training'),
    scaleUp: {
      technology: 'ICI 3D torus (optical reconfigurable)',
      bandwidthGBps: fig(
        600.0,
        'GB/s per GPU per direction',
        'https://docs.cloud.google.com/tpu/docs/v5p-training',
        'older doc: 4800 Gbps; half of the bidirectional figure',
      ),
      domainSize: fig(8960, 'GPUs', 'https://docs.cloud.google.com/tpu/docs/v5p-training'),
    },
    scaleOutGbps: fig(
      50,
      'Gb/s per chip',
      'https://docs.cloud.google.com/tpu/docs/v5p-training',
      'data-center network (DCN) per chip',
    ),
    tdpW: null,
    measuredGemmTflops: {},
  },
  {
    id: 'tpu-v6e',
    aliases: ['trillium', 'google-tpu-v6e'],
    vendor: 'Google',
    name: 'TPU v6e (Trillium)',
    arch: 'TPU',
    released: 2024,
    peakTflops: {
      bf16: fig(918, 'TFLOP/s dense', 'https://docs.cloud.google.com/tpu/docs/v6e.md.txt'),
      fp8: fig(918, 'TFLOP/s dense', 'https://docs.cloud.google.com/tpu/docs/tpu7x'),
    },
    hbmCapacityGiB: fig(32, 'GiB (vendors say GB)', 'https://docs.cloud.google.com/tpu/docs/v6e.md.txt'),
    hbmBandwidthGBps: fig(1638, 'GB/s', 'https://docs.cloud.google.com/tpu/docs/v6e.md.txt'),
    scaleUp: {
      technology: 'ICI, 4 ports/chip, 2D torus',
      bandwidthGBps: fig(
        400.0,
        'GB/s per GPU per direction',
        'https://docs.cloud.google.com/tpu/docs/v6e.md.txt',
        'half of the bidirectional figure',
      ),
      domainSize: fig(256, 'GPUs', 'https://docs.cloud.google.com/tpu/docs/v6e.md.txt'),
    },
    scaleOutGbps: fig(
      100,
      'Gb/s per chip',
      'https://docs.cloud.google.com/tpu/docs/tpu7x',
      'data-center network (DCN) per chip',
    ),
    tdpW: null,
    measuredGemmTflops: {},
  },
  {
    id: 'tpu7x',
    aliases: ['ironwood', 'google-tpu7x-ironwood'],
    vendor: 'Google',
    name: 'TPU7x (Ironwood)',
    arch: 'TPU (dual chiplet)',
    released: 2025,
    peakTflops: {
      bf16: fig(2307, 'TFLOP/s dense', 'https://docs.cloud.google.com/tpu/docs/tpu7x'),
      fp8: fig(4614, 'TFLOP/s dense', 'https://docs.cloud.google.com/tpu/docs/tpu7x'),
    },
    hbmCapacityGiB: fig(192, 'GiB', 'https://docs.cloud.google.com/tpu/docs/tpu7x'),
    hbmBandwidthGBps: fig(7380, 'GB/s', 'https://docs.cloud.google.com/tpu/docs/tpu7x', 'press: 7.2-7.37 TB/s'),
    scaleUp: {
      technology: 'ICI (3D torus, like v5p)',
      bandwidthGBps: fig(
        600.0,
        'GB/s per GPU per direction',
        'https://docs.cloud.google.com/tpu/docs/tpu7x',
        'half of the bidirectional figure',
      ),
      domainSize: fig(9216, 'GPUs', 'https://docs.cloud.google.com/tpu/docs/tpu7x'),
    },
    scaleOutGbps: fig(
      100,
      'Gb/s per chip',
      'https://docs.cloud.google.com/tpu/docs/tpu7x',
      'data-center network (DCN) per chip',
    ),
    tdpW: null,
    measuredGemmTflops: {},
  },
  {
    id: 'gaudi3',
    aliases: ['gaudi-3', 'intel-gaudi3'],
    vendor: 'Intel',
    name: 'Gaudi 3 (OAM)',
    arch: 'Gaudi (2 dies, 8 MME, 64 TPC)',
    released: 2024,
    peakTflops: {
      bf16: fig(
        1835,
        'TFLOP/s dense',
        INTEL_HOTCHIPS_GAUDI3,
        'MME spec at 1750 MHz; shipping parts run MME at 1600 MHz => 1677 (stas00)',
      ),
      fp16: fig(459, 'TFLOP/s dense', STAS00_COMPUTE, 'stas00 table; low-confidence'),
      fp8: fig(1835, 'TFLOP/s dense', INTEL_HOTCHIPS_GAUDI3, 'same rate as BF16 (no 2x); 1677 at 1600 MHz'),
      tf32: fig(459, 'TFLOP/s dense', STAS00_COMPUTE, 'low-confidence'),
    },
    hbmCapacityGiB: fig(128, 'GiB (vendors say GB)', INTEL_HOTCHIPS_GAUDI3),
    hbmBandwidthGBps: fig(3670, 'GB/s', INTEL_HOTCHIPS_GAUDI3, 'marketing 3.7 TB/s'),
    scaleUp: {
      technology:
        '24x 200GbE RoCE v2 integrated NICs (48x 112G PAM4 SerDes); in 8-card node 21 ports all-to-all (3 per peer), 3 ports scale-out',
      bandwidthGBps: fig(
        600.0,
        'GB/s per GPU per direction',
        INTEL_HOTCHIPS_GAUDI3,
        'half of the bidirectional figure',
      ),
      domainSize: fig(8, 'GPUs', STAS00_NETWORK),
    },
    scaleOutGbps: fig(600, 'Gb/s per card', STAS00_NETWORK, '3x 200GbE per card; 4.8 Tb/s per 8-card node'),
    tdpW: fig(900, 'W', INTEL_HOTCHIPS_GAUDI3, 'air cooled; up to 1200 W liquid cooled'),
    measuredGemmTflops: {
      bf16: fig(1243.0, 'TFLOP/s (best measured GEMM, MAMF)', STAS00_COMPUTE, '74.1% of 1677'),
      fp8: fig(1289.5, 'TFLOP/s (best measured GEMM, MAMF)', STAS00_COMPUTE, '76.9% of 1677'),
    },
  },
  {
    id: 'trainium2',
    aliases: ['trn2', 'aws-trainium2'],
    vendor: 'AWS',
    name: 'Trainium2',
    arch: '8x NeuronCore-v3',
    released: 2024,
    peakTflops: {
      bf16: fig(667, 'TFLOP/s dense', AWS_TRN2, 'BF16/FP16/TF32 same rate'),
      fp16: fig(667, 'TFLOP/s dense', AWS_TRN2),
      fp8: fig(1299, 'TFLOP/s dense', AWS_TRN2),
      tf32: fig(667, 'TFLOP/s dense', AWS_TRN2),
    },
    hbmCapacityGiB: fig(96, 'GiB', AWS_TRN2),
    hbmBandwidthGBps: fig(2900, 'GB/s', AWS_TRN2, 'NKI guide v2.29 says 3 TB/s'),
    scaleUp: {
      technology:
        'NeuronLink-v3 (4 links/chip); 16 chips per trn2.48xlarge in 4x4 2D torus; UltraServer pools up to 64 chips',
      bandwidthGBps: fig(
        640,
        'GB/s per chip per direction',
        AWS_TRN2,
        'derived: 1280 GB/s per chip, direction not stated, read as bidirectional and halved',
      ),
      domainSize: fig(64, 'GPUs', AWS_TRN2),
    },
    tdpW: null,
    measuredGemmTflops: {},
  },
]);
