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

/** Why a fabric cannot be built as asked. */
export interface FabricIssue {
  readonly ok: false;
  readonly message: string;
}

/** Switch and link counts of one fabric. */
export interface FabricDesign {
  readonly ok: true;
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

/** Designs a rail-optimized fat-tree for `input`, or says why it cannot (beyond three tiers, or too few tiers forced). */
export function designFabric(input: FabricInput): FabricDesign | FabricIssue {
  const { gpus, gpusPerNode, radix, oversubscription } = input;
  const rails = gpusPerNode;
  // Leaf ports split r:1 between downlinks and uplinks (hardware-catalog.md 2.2); only the leaves are tapered.
  const downlinks = Math.floor((radix * oversubscription) / (oversubscription + 1));
  const uplinks = radix - downlinks;
  const nodes = Math.ceil(gpus / gpusPerNode);
  const nodesPerUnit = downlinks; // one leaf per rail serves `downlinks` nodes
  const units = Math.ceil(nodes / nodesPerUnit);
  // A leaf per rail per unit; a partly filled unit still needs its leaves.
  const leaves = units * rails;
  if (input.tiers === 1 || (input.tiers === undefined && gpus <= downlinks && rails === 1)) {
    if (gpus > radix)
      return { ok: false, message: `one tier of ${radix}-port switches connects at most ${radix} GPUs, not ${gpus}` };
    return finish(1, nodesPerUnit, 1, Math.ceil(gpus / radix), 0, 0, gpus, 0, 0);
  }
  // Two tiers while each spine can take a link from every leaf: leaves ≤ radix (k²/2 endpoints when non-blocking).
  if (input.tiers === 2 || (input.tiers === undefined && leaves <= radix)) {
    if (leaves > radix) {
      return {
        ok: false,
        message: `two tiers of ${radix}-port switches reach ${radix} leaves, this fabric needs ${leaves}: use three tiers`,
      };
    }
    const spines = evenSpread(uplinks, (leaves * uplinks) / radix);
    return finish(2, nodesPerUnit, units, leaves, spines, 0, gpus, leaves * uplinks, 0);
  }
  // Three tiers: pods of k/2 leaves and k/2 spines, spines spending half their ports down and half up; cores take
  // every spine uplink (2N/k leaves, 2N/k spines, N/k cores when non-blocking, hardware-catalog.md 2.2).
  const leafSpineLinks = leaves * uplinks;
  const spines = Math.ceil(leafSpineLinks / (radix / 2));
  const cores = Math.ceil(leafSpineLinks / radix);
  // Three tiers reach k³/4 endpoints non-blocking (k pods of k²/4); leaves tapered r:1 serve 2r/(r+1) times more.
  const capacity = ((radix ** 3 / 4) * 2 * oversubscription) / (oversubscription + 1);
  if (gpus > capacity) {
    return {
      ok: false,
      message: `three tiers of ${radix}-port switches reach about ${Math.floor(capacity)} GPUs at ${oversubscription}:1, not ${gpus}: a fourth tier is not modelled`,
    };
  }
  return finish(3, nodesPerUnit, units, leaves, spines, cores, gpus, leafSpineLinks, leafSpineLinks);
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
    ok: true,
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
