/**
 * Scale-out fabrics: the switch, NIC and optics of each, with the bandwidth NCCL achieves per NIC where measured.
 * Copied from ../shared/data/catalog/hardware-catalog.json with its sources; switch system power is not published
 * for the NVIDIA switches (hardware-catalog.md section 5, item 11), so it is null there. The Broadcom Tomahawk 5
 * entry, a 128-port 400G Ethernet alternative, was added from the sources named in its figures.
 * @module
 */
import { type Figure, fig } from './figure.js';

/** A scale-out fabric family. */
export interface FabricEntry {
  readonly id: string;
  readonly aliases: readonly string[];
  readonly name: string;
  readonly protocol: string;
  /** Endpoint (NIC) link speed. */
  readonly linkGbps: Figure;
  readonly switch: {
    readonly name: string;
    /** Ports at the endpoint link speed. */
    readonly radix: Figure;
    readonly capacityTbps: Figure;
    /** System power without optics; null where not published. */
    readonly powerW: Figure | null;
    readonly inNetworkReduction: string | null;
  };
  readonly nic: { readonly name: string; readonly gbps: Figure };
  /** Transceiver power per link end at the switch and at the NIC. */
  readonly optics: { readonly switchSideW: Figure; readonly nicSideW: Figure };
  /** Bus bandwidth NCCL reaches per NIC, where measured. */
  readonly achievedGBpsPerNic?: Figure;
}

/** 400G links: the switch end shares an 800G twin-port OSFP, the NIC end is a single-port OSFP SR4. */
const OPTICS_400G: FabricEntry['optics'] = {
  switchSideW: fig(
    8.5,
    'W per 400G link end',
    'https://docs.nvidia.com/networking/display/800gmms4x00nst/overview',
    'derived: 17 W per 800G twin-port OSFP carrying two 400G links',
  ),
  nicSideW: fig(
    8,
    'W per 400G link end',
    'https://docs.nvidia.com/networking/display/MMA4Z00NS400T/Connectivity+Scenarios',
    'OSFP SR4 typical; 9 W max',
  ),
};

/** Every fabric in the catalog. */
export const FABRICS: readonly FabricEntry[] = Object.freeze([
  {
    id: 'ndr-ib',
    aliases: ['ndr', 'quantum-2', 'infiniband-ndr', 'ib-ndr'],
    name: 'InfiniBand NDR (Quantum-2 QM9700, ConnectX-7)',
    protocol: 'InfiniBand NDR',
    linkGbps: fig(400, 'Gb/s', 'https://docs.nvidia.com/networking/display/MMA4Z00NS400T/Connectivity+Scenarios'),
    switch: {
      name: 'NVIDIA Quantum-2 QM9700',
      radix: fig(
        64,
        'ports at 400 Gb/s',
        'https://docs.nvidia.com/dgx-superpod/reference-architecture-scalable-infrastructure-h100/latest/network-fabrics.html',
        '32 twin-port OSFP cages; or 128 x 200 Gb/s',
      ),
      capacityTbps: fig(51.2, 'Tb/s', 'https://itctshop.com/infiniband-switch-guide'),
      powerW: null,
      inNetworkReduction: 'SHARPv3',
    },
    nic: {
      name: 'ConnectX-7',
      gbps: fig(400, 'Gb/s', 'https://docs.nvidia.com/networking/display/MMA4Z00NS400T/Connectivity+Scenarios'),
    },
    optics: OPTICS_400G,
    achievedGBpsPerNic: fig(
      47,
      'GB/s per 400G NIC (NCCL ring bus bandwidth)',
      'https://github.com/NVIDIA/nccl-tests/issues/290',
      'NVIDIA maintainer: 46-48 GB/s; midpoint',
    ),
  },
  {
    id: 'xdr-ib',
    aliases: ['xdr', 'quantum-x800', 'infiniband-xdr', 'ib-xdr'],
    name: 'InfiniBand XDR (Quantum-X800 Q3400, ConnectX-8)',
    protocol: 'InfiniBand XDR',
    linkGbps: fig(
      800,
      'Gb/s',
      'https://docs.nvidia.com/networking/display/connectx8firmwarev40441036/changes+and+new+feature+history',
    ),
    switch: {
      name: 'NVIDIA Quantum-X800 Q3400-RA',
      radix: fig(
        144,
        'ports at 800 Gb/s',
        'https://ziash.github.io/nvidia-nca-aiio-study-guide/02-ai-infrastructure/09-high-speed-network-options/',
      ),
      capacityTbps: fig(
        115.2,
        'Tb/s',
        'https://ziash.github.io/nvidia-nca-aiio-study-guide/02-ai-infrastructure/09-high-speed-network-options/',
      ),
      powerW: null,
      inNetworkReduction: 'SHARPv4',
    },
    nic: {
      name: 'ConnectX-8 SuperNIC',
      gbps: fig(
        800,
        'Gb/s',
        'https://docs.nvidia.com/networking/display/connectx8firmwarev40441036/changes+and+new+feature+history',
      ),
    },
    optics: {
      switchSideW: fig(25, 'W per 800G link end', 'https://en.wedoany.com/shortnews/193917.html', 'Lambda example'),
      nicSideW: fig(
        17,
        'W per 800G link end',
        'https://docs.nvidia.com/networking/display/800gmms4x00nst/overview',
        'assumed equal to the 800G twin-port OSFP',
      ),
    },
  },
  {
    id: 'spectrum-x',
    aliases: ['spectrum-x-ethernet', 'sn5600', 'roce'],
    name: 'Spectrum-X Ethernet (Spectrum-4 SN5600, BlueField-3 SuperNIC)',
    protocol: 'Ethernet RoCEv2',
    linkGbps: fig(
      400,
      'Gb/s',
      'https://docs.nvidia.com/enterprise-reference-architectures/hgx-ai-factory-h100-h200-b200/latest/networking-physical-topologies.html',
    ),
    switch: {
      name: 'NVIDIA Spectrum-4 SN5600',
      radix: fig(
        128,
        'ports at 400 Gb/s',
        'https://docs.nvidia.com/networking/display/sn5000/data+interfaces',
        '64 x 800GbE split in two',
      ),
      capacityTbps: fig(51.2, 'Tb/s', 'https://probsee.com/p/NVIDIA_Spectrum_SN5600'),
      powerW: null,
      inNetworkReduction: null,
    },
    nic: {
      name: 'BlueField-3 B3140H SuperNIC',
      gbps: fig(
        400,
        'Gb/s',
        'https://docs.nvidia.com/enterprise-reference-architectures/hgx-ai-factory-h100-h200-b200/latest/networking-physical-topologies.html',
      ),
    },
    optics: OPTICS_400G,
  },
  {
    id: 'tomahawk5-ethernet',
    aliases: ['tomahawk5', 'tomahawk-5', 'th5', 'bcm78900'],
    name: 'RoCE Ethernet on Broadcom Tomahawk 5 (BCM78900 51.2T switches, ConnectX-7 at 400GbE)',
    protocol: 'Ethernet RoCEv2',
    linkGbps: fig(
      400,
      'Gb/s',
      'https://www.yobitel.com/knowledge-base/broadcom-tomahawk-5',
      'the 128 x 400GbE port configuration',
    ),
    switch: {
      name: 'Broadcom Tomahawk 5 BCM78900 (e.g. Arista 7060X6, Edgecore AIS800-64D, UfiSpace S9321-64E)',
      radix: fig(
        128,
        'ports at 400 Gb/s',
        'https://www.yobitel.com/knowledge-base/broadcom-tomahawk-5',
        '64 x 800GbE split in two, or 256 x 200GbE; TechInsights (Linley) lists the same three configurations',
      ),
      capacityTbps: fig(
        51.2,
        'Tb/s',
        'https://www.signalintegrityjournal.com/articles/2766-broadcom-ships-tomahawk-5-industrys-highest-bandwidth-switch-chip-to-accelerate-ai-ml-workloads',
        'Broadcom press release, August 2022',
      ),
      powerW: fig(
        913,
        'W per switch without optics',
        'https://www.ipinfusion.com/technology/tomahawk-5/',
        'UfiSpace S9321-64E (one Tomahawk 5, 2U) typical power without transceivers',
      ),
      inNetworkReduction: null,
    },
    nic: {
      name: 'ConnectX-7 (400GbE)',
      gbps: fig(400, 'Gb/s', 'https://docs.nvidia.com/networking/display/MMA4Z00NS400T/Connectivity+Scenarios'),
    },
    // Same 400G optics as the NVIDIA Ethernet fabric: 800G twin-port OSFP at the switch, OSFP SR4 at the NIC.
    optics: OPTICS_400G,
  },
]);
