import { describe, expect, it } from 'vitest';
import { FABRICS } from '../catalog/fabrics.js';
import { designFabric as design, type FabricDesign, type FabricInput, maxFabricGpus } from './network.js';

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

  it('three tiers forced beyond their reach (k³/4 = 65,536 GPUs at k = 64) say so instead of clamping', () => {
    const fabric = design({ gpus: 131072, gpusPerNode: 8, radix: 64, oversubscription: 1, tiers: 3 });
    expect(fabric.ok).toBe(false);
    if (!fabric.ok) expect(fabric.message).toMatch(/fourth tier/);
  });

  it('two tiers forced on too many leaves is refused', () => {
    const fabric = design({ gpus: 4096, gpusPerNode: 8, radix: 64, oversubscription: 1, tiers: 2 });
    expect(fabric.ok).toBe(false);
  });
});

/** Every switch port a design uses fits its switches: leaves carry hosts and uplinks, each middle tier down- and
 * uplinks, the top tier only downlinks. */
function expectPortsFit(fabric: FabricDesign, radix: number): void {
  const tiers = [
    [fabric.leaves, fabric.hostLinks + fabric.leafSpineLinks],
    [fabric.spines, fabric.leafSpineLinks + fabric.spineCoreLinks],
    [fabric.cores, fabric.spineCoreLinks + fabric.coreSuperCoreLinks],
    [fabric.superCores, fabric.coreSuperCoreLinks],
  ] as const;
  for (const [switches, ports] of tiers) expect(ports).toBeLessThanOrEqual(switches * radix);
}

describe('four tiers: a super-core tier above the cores', () => {
  it('k = 4, one rail, non-blocking: 32 GPUs counted by hand', () => {
    // 2(k/2)^4 = 32 endpoints. Leaves: 32 hosts / 2 downlinks = 16, each with 2 uplinks: 32 leaf-spine links.
    // Spines: 32 / (k/2) = 16, cores 32 / 2 = 16, super-cores 32 / k = 8; 32 links at every tier; 56 = 7N/k switches.
    // Every port is used: 16 leaves × 4 = 32 host + 32 up; spines and cores 16 × 4 = 32 down + 32 up; 8 × 4 = 32 down.
    const fabric = designFabric({ gpus: 32, gpusPerNode: 1, radix: 4, oversubscription: 1 });
    expect(fabric.tiers).toBe(4);
    expect([fabric.leaves, fabric.spines, fabric.cores, fabric.superCores]).toEqual([16, 16, 16, 8]);
    expect([fabric.hostLinks, fabric.leafSpineLinks, fabric.spineCoreLinks, fabric.coreSuperCoreLinks]).toEqual([
      32, 32, 32, 32,
    ]);
    expect(fabric.switches).toBe(56);
    expect(fabric.switchLinks).toBe(96);
    expect(4 * fabric.switches).toBe(fabric.hostLinks + 2 * fabric.switchLinks); // no port left idle
    // Three tiers reach k³/4 = 16 endpoints (8 leaves): 17 GPUs already need the fourth tier.
    expect(designFabric({ gpus: 16, gpusPerNode: 1, radix: 4, oversubscription: 1 }).tiers).toBe(3);
    expect(designFabric({ gpus: 17, gpusPerNode: 1, radix: 4, oversubscription: 1 }).tiers).toBe(4);
  });

  it('k = 8, two rails: 512 GPUs in 64 units of 4 nodes, 128 / 128 / 128 / 64 switches', () => {
    // 256 nodes / 4 per unit = 64 units × 2 rails = 128 leaves = k·(k/2)² (the four-tier limit); 512 uplinks.
    const fabric = designFabric({ gpus: 512, gpusPerNode: 2, radix: 8, oversubscription: 1 });
    expect(fabric.tiers).toBe(4);
    expect([fabric.nodesPerUnit, fabric.units]).toEqual([4, 64]);
    expect([fabric.leaves, fabric.spines, fabric.cores, fabric.superCores]).toEqual([128, 128, 128, 64]);
    expect(fabric.switches).toBe((7 * 512) / 8);
    expect(fabric.switchLinks).toBe(3 * 512);
    // One more node needs a 65th unit: 130 leaves, beyond four tiers.
    const beyond = design({ gpus: 514, gpusPerNode: 2, radix: 8, oversubscription: 1 });
    expect(beyond.ok).toBe(false);
    if (!beyond.ok) expect(beyond.message).toMatch(/four tiers of 8-port switches reach 128 leaves.*not modelled/);
  });

  it('oversubscribed leaves (3:1 at k = 8: 6 down, 2 up) reach 1.5× the GPUs; the tiers above stay non-blocking', () => {
    const fabric = designFabric({ gpus: 768, gpusPerNode: 1, radix: 8, oversubscription: 3 });
    expect(fabric.tiers).toBe(4);
    // 128 leaves × 2 uplinks = 256 links; spines and cores 256 / 4 = 64, super-cores 256 / 8 = 32.
    expect([fabric.leaves, fabric.spines, fabric.cores, fabric.superCores]).toEqual([128, 64, 64, 32]);
    expect(fabric.coreSuperCoreLinks).toBe(256);
    expect(maxFabricGpus({ gpusPerNode: 1, radix: 8, oversubscription: 3 })).toBe(768);
  });

  it('four tiers can be forced on a small fabric, and five are refused', () => {
    const fabric = designFabric({ gpus: 1024, gpusPerNode: 8, radix: 64, oversubscription: 1, tiers: 4 });
    expect(fabric.tiers).toBe(4);
    expect([fabric.leaves, fabric.spines, fabric.cores, fabric.superCores]).toEqual([32, 32, 32, 16]);
    expect(design({ gpus: 1024, gpusPerNode: 8, radix: 64, oversubscription: 1, tiers: 5 }).ok).toBe(false);
  });

  it('the DGX rail layout at 131,072 GPUs on NDR (k = 64): 2N/k leaves, spines and cores, N/k super-cores', () => {
    const fabric = designFabric({ gpus: 131072, gpusPerNode: 8, radix: 64, oversubscription: 1 });
    expect(fabric.tiers).toBe(4);
    expect([fabric.leaves, fabric.spines, fabric.cores, fabric.superCores]).toEqual([4096, 4096, 4096, 2048]);
    expect(fabric.switches).toBe((7 * 131072) / 64); // (2L − 1)·N/k, hardware-catalog.md 2.2
    expect([fabric.leafSpineLinks, fabric.spineCoreLinks, fabric.coreSuperCoreLinks]).toEqual([131072, 131072, 131072]);
  });

  it('three tiers keep no super-cores; the two-tier SuperPOD designs neither cores nor super-cores', () => {
    const three = designFabric({ gpus: 4096, gpusPerNode: 8, radix: 64, oversubscription: 1 });
    expect([three.tiers, three.superCores, three.coreSuperCoreLinks]).toEqual([3, 0, 0]);
    expect(three.switchLinks).toBe(three.leafSpineLinks + three.spineCoreLinks);
    const two = designFabric({ gpus: 1024, gpusPerNode: 8, radix: 64, oversubscription: 1 });
    expect([two.cores, two.superCores, two.spineCoreLinks, two.coreSuperCoreLinks]).toEqual([0, 0, 0, 0]);
  });
});

describe('fabric capacity: the largest GPU count that fits', () => {
  const radixes = [8, 16, 64, 128, 144];
  const rails = [1, 2, 4, 8];

  it('is 2·(k/2)^t for t tiers at 1:1 when the rails divide the leaves (hardware-catalog.md 2.2)', () => {
    for (const radix of radixes) {
      for (const gpusPerNode of rails) {
        for (let tiers = 1; tiers <= 4; tiers++) {
          const input = { gpusPerNode, radix, oversubscription: 1 };
          const capacity = maxFabricGpus(input, tiers);
          const label = `k=${radix}, ${gpusPerNode} rails, ${tiers} tiers`;
          expect(capacity, label).toBe(2 * (radix / 2) ** tiers);
          // That many GPUs fit forced to t tiers, one more node does not.
          expect(design({ ...input, gpus: capacity, tiers }).ok, label).toBe(true);
          expect(design({ ...input, gpus: capacity + gpusPerNode, tiers }).ok, label).toBe(false);
        }
        // Left to choose, the planner builds up to the four-tier capacity and refuses beyond it.
        const input = { gpusPerNode, radix, oversubscription: 1 };
        const most = maxFabricGpus(input);
        expect(most).toBe(2 * (radix / 2) ** 4);
        expect(designFabric({ ...input, gpus: most }).tiers).toBe(4);
        expect(design({ ...input, gpus: most + 1 }).ok).toBe(false);
      }
    }
  });

  it('counts whole scalable units: rails that do not divide the leaves leave ports unused', () => {
    // k = 12, 5 rails: two tiers hold 12 leaves = 2 units of 5 leaves × 6 nodes × 5 GPUs = 60 GPUs, not 72.
    const input = { gpusPerNode: 5, radix: 12, oversubscription: 1 };
    expect(maxFabricGpus(input, 2)).toBe(60);
    expect(maxFabricGpus(input, 3)).toBe(Math.floor(72 / 5) * 5 * 6); // 72 leaves: 14 units
    expect(maxFabricGpus(input, 4)).toBe(Math.floor(432 / 5) * 5 * 6); // 432 leaves: 86 units
    expect(designFabric({ ...input, gpus: 60 }).tiers).toBe(2);
    expect(designFabric({ ...input, gpus: 61 }).tiers).toBe(3);
    expect(design({ ...input, gpus: 61, tiers: 2 }).ok).toBe(false);
  });

  it('tapered leaves (r:1) serve ⌊k·r/(r+1)⌋ nodes each, so the reach grows with r', () => {
    for (const oversubscription of [1, 2, 3, 7]) {
      for (let tiers = 2; tiers <= 4; tiers++) {
        const input = { gpusPerNode: 8, radix: 64, oversubscription };
        const downlinks = Math.floor((64 * oversubscription) / (oversubscription + 1));
        const capacity = maxFabricGpus(input, tiers);
        expect(capacity).toBe(64 * 32 ** (tiers - 2) * downlinks);
        expect(design({ ...input, gpus: capacity, tiers }).ok).toBe(true);
        expect(design({ ...input, gpus: capacity + 1, tiers }).ok).toBe(false);
      }
    }
  });

  it("matches the catalog's table for its fabrics: NDR 65,536 / XDR 746,496 / SN5600 524,288 on three tiers", () => {
    const capacity = (id: string, tiers: number) => {
      const entry = FABRICS.find((fabric) => fabric.id === id);
      if (!entry) throw new Error(id);
      return maxFabricGpus({ gpusPerNode: 8, radix: entry.switch.radix.value, oversubscription: 1 }, tiers);
    };
    expect([capacity('ndr-ib', 2), capacity('ndr-ib', 3), capacity('ndr-ib', 4)]).toEqual([2048, 65536, 2097152]);
    expect([capacity('xdr-ib', 2), capacity('xdr-ib', 3)]).toEqual([10368, 746496]);
    expect([capacity('spectrum-x', 2), capacity('spectrum-x', 3)]).toEqual([8192, 524288]);
    expect(capacity('xdr-ib', 4)).toBe(2 * 72 ** 4);
  });

  it('is at least one switch of GPUs, and clamps the tier count to 1–4', () => {
    // 8 rails on 4-port switches: two tiers hold 4 leaves, not one unit of 8; one switch still takes 4 NICs.
    expect(maxFabricGpus({ gpusPerNode: 8, radix: 4, oversubscription: 1 }, 2)).toBe(4);
    expect(maxFabricGpus({ gpusPerNode: 8, radix: 64, oversubscription: 1 }, 9)).toBe(2 * 32 ** 4);
    expect(maxFabricGpus({ gpusPerNode: 8, radix: 64, oversubscription: 1 }, 0)).toBe(64);
  });
});

describe("the catalog's fabrics at 131,072 and 1,048,576 GPUs", () => {
  const cases = FABRICS.flatMap((fabric) =>
    [131072, 1048576].flatMap((gpus) => [4, 8].map((gpusPerNode) => ({ id: fabric.id, fabric, gpus, gpusPerNode }))),
  );
  it.each(cases)('$id: $gpus GPUs, $gpusPerNode per node', ({ fabric, gpus, gpusPerNode }) => {
    const radix = fabric.switch.radix.value;
    const design = designFabric({ gpus, gpusPerNode, radix, oversubscription: 1 });
    expect(design.tiers).toBeGreaterThanOrEqual(3);
    expect(design.tiers).toBeLessThanOrEqual(4);
    const counts = [design.leaves, design.spines, design.cores, design.hostLinks, design.leafSpineLinks];
    counts.push(design.spineCoreLinks, design.switches, design.switchLinks);
    if (design.tiers === 4) counts.push(design.superCores, design.coreSuperCoreLinks);
    for (const count of counts) {
      expect(Number.isFinite(count)).toBe(true);
      expect(count).toBeGreaterThan(0);
    }
    expect(design.hostLinks).toBe(gpus);
    expectPortsFit(design, radix);
    expect(gpus).toBeLessThanOrEqual(maxFabricGpus({ gpusPerNode, radix, oversubscription: 1 }, design.tiers));
  });

  it('1,048,576 GPUs take four tiers on every catalog fabric (three reach at most 746,496)', () => {
    for (const fabric of FABRICS) {
      const design = designFabric({
        gpus: 1048576,
        gpusPerNode: 8,
        radix: fabric.switch.radix.value,
        oversubscription: 1,
      });
      expect(design.tiers, fabric.id).toBe(4);
    }
  });
});

describe('every design fits its switch ports', () => {
  it('from one node to the four-tier limit, for several radixes, rails and tapers', () => {
    for (const radix of [8, 36, 63, 64, 144]) {
      for (const gpusPerNode of [1, 4, 8]) {
        for (const oversubscription of [1, 3]) {
          const input = { gpusPerNode, radix, oversubscription };
          const most = maxFabricGpus(input);
          for (let step = 0; step <= 12; step++) {
            const gpus = Math.max(gpusPerNode, Math.round(most * (step / 12) ** 3));
            expectPortsFit(designFabric({ ...input, gpus }), radix);
          }
        }
      }
    }
  });
});
