/**
 * The scale-out network of a factory: a rail-optimized folded-Clos (fat-tree) fabric. One NIC per GPU; NIC i of
 * every node goes to a leaf of rail i; leaves form scalable units (SUs); two tiers while every leaf can reach
 * every spine, three beyond. Counts follow hardware-catalog.md sec. 2.2 and are checked against NVIDIA's DGX
 * SuperPOD reference architectures (H100, B200, B300) in network.test.ts.
 * @module
 */

/** What the fabric must connect and with which switches. */
export interface FabricInput {
  /** Endpoints: GPUs, one NIC each. */
  readonly gpus: number;
  /** NICs (rails) per node. */
  readonly gpusPerNode: number;
  /** Switch ports at the NIC link speed. */
  readonly radix: number;
  /** Leaf downlink:uplink ratio r (r:1); 1 = non-blocking. */
  readonly oversubscription: number;
  /** Force a tier count (1–3); default: the fewest that reach the endpoints. */
  readonly tiers?: number;
}

/** Switch and link counts of one fabric. */
export interface FabricDesign {
  readonly tiers: number;
  /** Nodes per scalable unit: the nodes one leaf per rail serves. */
  readonly nodesPerUnit: number;
  readonly units: number;
  readonly leaves: number;
  readonly spines: number;
  readonly cores: number;
  readonly switches: number;
  /** NIC-to-leaf links. */
  readonly hostLinks: number;
  readonly leafSpineLinks: number;
  readonly spineCoreLinks: number;
  /** Switch-to-switch links: each needs an optical transceiver at both ends. */
  readonly switchLinks: number;
}

/** Smallest count ≥ `minimum` that divides `uplinks`, so each leaf spreads its uplinks evenly over all spines. */
function evenSpread(uplinks: number, minimum: number): number {
  for (let count = Math.max(1, Math.ceil(minimum)); count <= uplinks; count++) {
    if (uplinks % count === 0) return count;
  }
  return Math.ceil(minimum);
}

/** Designs a rail-optimized fat-tree for `input`. */
export function designFabric(input: FabricInput): FabricDesign {
  const { gpus, gpusPerNode, radix, oversubscription } = input;
  const rails = gpusPerNode;
  // Leaf ports split r:1 between downlinks and uplinks (hardware-catalog.md 2.2).
  const downlinks = Math.floor((radix * oversubscription) / (oversubscription + 1));
  const uplinks = radix - downlinks;
  const nodes = Math.ceil(gpus / gpusPerNode);
  const nodesPerUnit = downlinks; // one leaf per rail serves `downlinks` nodes
  const units = Math.ceil(nodes / nodesPerUnit);
  // A leaf per rail per unit; a partly filled unit still needs its leaves.
  const leaves = units * rails;
  if (input.tiers === 1 || (input.tiers === undefined && gpus <= downlinks && rails === 1)) {
    return finish(1, nodesPerUnit, 1, Math.ceil(gpus / radix), 0, 0, gpus, 0, 0);
  }
  // Two tiers while each spine can take one link from every leaf: leaves ≤ radix (2 tiers reach k²/2 endpoints).
  const twoTiers = input.tiers === 2 || (input.tiers === undefined && leaves <= radix);
  if (twoTiers) {
    const spines = evenSpread(uplinks, (leaves * uplinks) / radix);
    return finish(2, nodesPerUnit, units, leaves, spines, 0, gpus, leaves * uplinks, 0);
  }
  // Three tiers: pods of radix/2 leaves and radix/2 spines; spines as many as leaves, cores half the spine
  // uplinks' worth (2N/k leaves, 2N/k spines, N/k cores for a non-blocking fabric, hardware-catalog.md 2.2).
  const spines = leaves;
  const spineUplinks = spines * (radix / 2);
  const cores = Math.ceil(spineUplinks / oversubscription / radix);
  return finish(
    3,
    nodesPerUnit,
    units,
    leaves,
    spines,
    cores,
    gpus,
    leaves * uplinks,
    Math.ceil(spineUplinks / oversubscription),
  );
}

function finish(
  tiers: number,
  nodesPerUnit: number,
  units: number,
  leaves: number,
  spines: number,
  cores: number,
  hostLinks: number,
  leafSpineLinks: number,
  spineCoreLinks: number,
): FabricDesign {
  return {
    tiers,
    nodesPerUnit,
    units,
    leaves,
    spines,
    cores,
    switches: leaves + spines + cores,
    hostLinks,
    leafSpineLinks,
    spineCoreLinks,
    switchLinks: leafSpineLinks + spineCoreLinks,
  };
}
