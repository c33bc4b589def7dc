import { describe, expect, it } from 'vitest';
import { designFabric as design, type FabricDesign, type FabricInput } from './network.js';

function designFabric(input: FabricInput): FabricDesign {
  const fabric = design(input);
  if (!fabric.ok) throw new Error(fabric.message);
  return fabric;
}

// NVIDIA DGX SuperPOD reference architectures as tabled in ../shared/docs/research/hardware-catalog.md sec. 2.3.
describe('fat-tree counts reproduce the DGX SuperPOD reference architectures', () => {
  it.each([
    // DGX H100 (RA-11333-001): 32-node SUs (31 DGX + UFM), 8 rails of NDR 400G, 64-port Quantum-2 switches.
    { su: 1, nodes: 32, leaf: 8, spine: 4, spineLeafCables: 256 },
    { su: 2, nodes: 64, leaf: 16, spine: 8, spineLeafCables: 512 },
    { su: 3, nodes: 96, leaf: 24, spine: 16, spineLeafCables: 768 },
    { su: 4, nodes: 128, leaf: 32, spine: 16, spineLeafCables: 1024 },
  ])('DGX H100, $su SU: $leaf leaf / $spine spine switches, $spineLeafCables leaf-spine cables', (row) => {
    const fabric = designFabric({ gpus: row.nodes * 8, gpusPerNode: 8, radix: 64, oversubscription: 1 });
    expect(fabric.tiers).toBe(2);
    expect(fabric.leaves).toBe(row.leaf);
    expect(fabric.spines).toBe(row.spine);
    expect(fabric.leafSpineLinks).toBe(row.spineLeafCables);
  });

  it('DGX H100 SuperPOD of 127 nodes: 32 leaves, 16 spines, 1,016 host links', () => {
    const fabric = designFabric({ gpus: 127 * 8, gpusPerNode: 8, radix: 64, oversubscription: 1 });
    expect([fabric.leaves, fabric.spines, fabric.cores]).toEqual([32, 16, 0]);
    expect(fabric.hostLinks).toBe(1016);
    expect(fabric.nodesPerUnit).toBe(32);
  });

  it.each([
    // DGX B200: SU → nodes / GPUs / leaf / spine / core; cables at every tier equal the GPU count.
    { su: 2, gpus: 512, leaf: 16, spine: 8, core: 0 },
    { su: 4, gpus: 1024, leaf: 32, spine: 16, core: 0 },
    { su: 8, gpus: 2048, leaf: 64, spine: 32, core: 0 },
    { su: 16, gpus: 4096, leaf: 128, spine: 128, core: 64 },
    { su: 32, gpus: 8192, leaf: 256, spine: 256, core: 128 },
    { su: 64, gpus: 16384, leaf: 512, spine: 512, core: 256 },
  ])('DGX B200, $su SU ($gpus GPUs): $leaf / $spine / $core', (row) => {
    const fabric = designFabric({ gpus: row.gpus, gpusPerNode: 8, radix: 64, oversubscription: 1 });
    expect([fabric.leaves, fabric.spines, fabric.cores]).toEqual([row.leaf, row.spine, row.core]);
    expect(fabric.leafSpineLinks).toBe(row.gpus);
    if (row.core > 0) expect(fabric.spineCoreLinks).toBe(row.gpus);
  });

  it('DGX B300 on NDR: a 64-node SU of 512 GPUs has 16 leaves and 8 spines', () => {
    const fabric = designFabric({ gpus: 512, gpusPerNode: 8, radix: 64, oversubscription: 1 });
    expect([fabric.leaves, fabric.spines]).toEqual([16, 8]);
  });

  it.each([
    // DGX B300 on XDR (Quantum-X800, 144 ports at 800G): SU = 72 nodes = 576 GPUs.
    { su: 1, gpus: 576, leaf: 8, spine: 4 },
    // 18 SU = 1,296 nodes = 10,368 GPUs = 144²/2 (the catalog's sec. 2.2 check table; sec. 2.3 misprints 9,216).
    { su: 18, gpus: 10368, leaf: 144, spine: 72 },
  ])('DGX B300 on XDR, $su SU: $leaf leaf / $spine spine', (row) => {
    const fabric = designFabric({ gpus: row.gpus, gpusPerNode: 8, radix: 144, oversubscription: 1 });
    expect(fabric.tiers).toBe(2);
    expect([fabric.leaves, fabric.spines]).toEqual([row.leaf, row.spine]);
  });

  it('oversubscription r:1 gives leaves k·r/(r+1) downlinks and fewer spines', () => {
    const blocking = designFabric({ gpus: 1024, gpusPerNode: 8, radix: 64, oversubscription: 3 });
    expect(blocking.nodesPerUnit).toBe(48);
    expect(blocking.leafSpineLinks).toBe(blocking.leaves * 16);
  });
});

describe('fabric limits', () => {
  it('oversubscription tapers only the leaves: three tiers keep spines and cores non-blocking', () => {
    // 8,192 GPUs, 64-port switches, 3:1 leaves: 48 down / 16 up per leaf.
    const fabric = designFabric({ gpus: 8192, gpusPerNode: 8, radix: 64, oversubscription: 3 });
    expect(fabric.tiers).toBe(3);
    expect(fabric.leafSpineLinks).toBe(fabric.leaves * 16);
    expect(fabric.spines).toBe(Math.ceil(fabric.leafSpineLinks / 32));
    expect(fabric.cores).toBe(Math.ceil(fabric.leafSpineLinks / 64));
  });

  it('beyond three tiers (k³/4 = 65,536 GPUs at k = 64) it says so instead of clamping', () => {
    const fabric = design({ gpus: 131072, gpusPerNode: 8, radix: 64, oversubscription: 1 });
    expect(fabric.ok).toBe(false);
    if (!fabric.ok) expect(fabric.message).toMatch(/fourth tier/);
  });

  it('two tiers forced on too many leaves is refused', () => {
    const fabric = design({ gpus: 4096, gpusPerNode: 8, radix: 64, oversubscription: 1, tiers: 2 });
    expect(fabric.ok).toBe(false);
  });
});
