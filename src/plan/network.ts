/**
 * The scale-out network of a factory: a rail-optimized folded-Clos (fat-tree) fabric. One NIC per GPU; NIC i of
 * every node goes to a leaf of rail i; leaves form scalable units (SUs); two tiers while every leaf can reach
 * every spine, three or four beyond (a fourth, super-core tier above the cores). Counts follow hardware-catalog.md
 * sec. 2.2 and are checked against NVIDIA's DGX SuperPOD reference architectures (H100, B200, B300) in
 * network.test.ts.
 * @module
 */

/** The most switch tiers modelled: leaf, spine, core and super-core. */
export const MAX_FABRIC_TIERS = 4;

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
  /** Force a tier count (1–4); default: the fewest that reach the endpoints. */
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
  /** Fourth-tier switches above the cores; 0 below four tiers. */
  readonly superCores: number;
  readonly switches: number;
  /** NIC-to-leaf links. */
  readonly hostLinks: number;
  readonly leafSpineLinks: number;
  readonly spineCoreLinks: number;
  /** Core-to-super-core links; 0 below four tiers. */
  readonly coreSuperCoreLinks: number;
  /** Switch-to-switch links: each needs an optical transceiver at both ends. */
  readonly switchLinks: number;
}

const TIER_NAMES = ['', 'one tier', 'two tiers', 'three tiers', 'four tiers'] as const;

/** Leaf downlinks and uplinks for oversubscription r:1: k·r/(r+1) down, the rest up (hardware-catalog.md 2.2). */
function leafPorts(radix: number, oversubscription: number): { downlinks: number; uplinks: number } {
  // Leaf ports split r:1 between downlinks and uplinks (hardware-catalog.md 2.2); only the leaves are tapered.
  const downlinks = Math.floor((radix * oversubscription) / (oversubscription + 1));
  return { downlinks, uplinks: radix - downlinks };
}

/**
 * Leaves a folded Clos of `tiers` tiers of radix-k switches can hold: the top tier spends all k ports down and every
 * tier between spends ⌊k/2⌋ down and up, so t ≥ 2 tiers hold k·⌊k/2⌋^(t−2) leaves, 2(k/2)^(t−1) for even k.
 */
function maxLeaves(radix: number, tiers: number): number {
  // k-ary fat tree: k pods of k/2 leaves under (k/2)² cores, k³/4 hosts at 3 tiers (Al-Fares et al., SIGCOMM 2008);
  // each further tier multiplies the reach by k/2: 2(k/2)^L endpoints at L tiers (hardware-catalog.md 2.2).
  if (tiers <= 1) return 1;
  return radix * Math.floor(radix / 2) ** (tiers - 2);
}

/** GPUs a fabric of exactly `tiers` tiers reaches: whole scalable units of `rails` leaves within its leaf count. */
function tierCapacity(radix: number, rails: number, downlinks: number, tiers: number): number {
  if (tiers <= 1) return radix; // one switch: every port to a NIC
  // Rail-optimized: a unit is one leaf per rail with `downlinks` nodes of `rails` GPUs (hardware-catalog.md 2.2).
  return Math.floor(maxLeaves(radix, tiers) / rails) * rails * downlinks;
}

/**
 * The largest GPU count a modelled fabric of at most `maxTiers` tiers (1–4) connects with these switches, rails and
 * leaf oversubscription: 2·(k/2)^t for r = 1 and even k when the rails divide the leaf count, fewer otherwise (whole
 * scalable units only); never less than one switch's `radix` GPUs.
 */
export function maxFabricGpus(input: Omit<FabricInput, 'gpus' | 'tiers'>, maxTiers: number = MAX_FABRIC_TIERS): number {
  const { radix, gpusPerNode: rails, oversubscription } = input;
  const { downlinks } = leafPorts(radix, oversubscription);
  const top = Math.min(Math.max(Math.floor(maxTiers), 1), MAX_FABRIC_TIERS);
  let best = 0;
  for (let tiers = 1; tiers <= top; tiers++) best = Math.max(best, tierCapacity(radix, rails, downlinks, tiers));
  return best;
}

/** Smallest count ≥ `minimum` that divides `uplinks`, so each leaf spreads its uplinks evenly over all spines. */
function evenSpread(uplinks: number, minimum: number): number {
  for (let count = Math.max(1, Math.ceil(minimum)); count <= uplinks; count++) {
    if (uplinks % count === 0) return count;
  }
  return Math.ceil(minimum);
}

/** Designs a rail-optimized fat-tree for `input`, or says why it cannot (beyond four tiers, or too few tiers forced). */
export function designFabric(input: FabricInput): FabricDesign | FabricIssue {
  const { gpus, gpusPerNode, radix, oversubscription } = input;
  if (
    input.tiers !== undefined &&
    !(Number.isInteger(input.tiers) && input.tiers >= 1 && input.tiers <= MAX_FABRIC_TIERS)
  )
    return { ok: false, message: `a fabric has 1 to ${MAX_FABRIC_TIERS} tiers, not ${input.tiers}` };
  const rails = gpusPerNode;
  const { downlinks, uplinks } = leafPorts(radix, oversubscription);
  const nodes = Math.ceil(gpus / gpusPerNode);
  const nodesPerUnit = downlinks; // one leaf per rail serves `downlinks` nodes
  const units = Math.ceil(nodes / nodesPerUnit);
  // A leaf per rail per unit; a partly filled unit still needs its leaves.
  const leaves = units * rails;
  if (input.tiers === 1 || (input.tiers === undefined && gpus <= downlinks && rails === 1)) {
    if (gpus > radix)
      return { ok: false, message: `one tier of ${radix}-port switches connects at most ${radix} GPUs, not ${gpus}` };
    return finish(1, nodesPerUnit, 1, Math.ceil(gpus / radix), 0, 0, 0, gpus, 0, 0, 0);
  }
  // Two tiers while each spine can take a link from every leaf: leaves ≤ radix (k²/2 endpoints when non-blocking).
  if (input.tiers === 2 || (input.tiers === undefined && leaves <= maxLeaves(radix, 2))) {
    if (leaves > maxLeaves(radix, 2)) {
      return {
        ok: false,
        message: `two tiers of ${radix}-port switches reach ${radix} leaves, this fabric needs ${leaves}: use three tiers`,
      };
    }
    const spines = evenSpread(uplinks, (leaves * uplinks) / radix);
    return finish(2, nodesPerUnit, units, leaves, spines, 0, 0, gpus, leaves * uplinks, 0, 0);
  }
  // Three or four tiers: the fewest whose leaf count reaches this fabric's leaves, unless forced.
  const tiers = input.tiers ?? (leaves <= maxLeaves(radix, 3) ? 3 : MAX_FABRIC_TIERS);
  if (leaves > maxLeaves(radix, tiers)) {
    const reach = `${TIER_NAMES[tiers]} of ${radix}-port switches reach ${maxLeaves(radix, tiers)} leaves, at most ${maxFabricGpus(input, tiers)} GPUs of ${gpusPerNode} per node at ${oversubscription}:1; this fabric needs ${leaves} leaves for ${gpus} GPUs`;
    return {
      ok: false,
      message:
        tiers < MAX_FABRIC_TIERS ? `${reach}: add a fourth tier` : `${reach}: more than four tiers are not modelled`,
    };
  }
  // Above the leaves every tier is non-blocking: a middle switch spends ⌊k/2⌋ ports down and as many up, the top
  // tier all k down. Three tiers: 2N/k leaves, 2N/k spines, N/k cores (hardware-catalog.md 2.2; Al-Fares et al.
  // 2008); four tiers add a super-core tier: 2N/k cores and N/k super-cores, (2L−1)·N/k switches at L tiers.
  const half = Math.floor(radix / 2);
  const leafSpineLinks = leaves * uplinks;
  const spines = Math.ceil(leafSpineLinks / half);
  // Each tier above the leaves carries every leaf uplink once more (hardware-catalog.md 2.2: each tier adds N links).
  if (tiers === 3) {
    const cores = Math.ceil(leafSpineLinks / radix);
    return finish(3, nodesPerUnit, units, leaves, spines, cores, 0, gpus, leafSpineLinks, leafSpineLinks, 0);
  }
  const cores = Math.ceil(leafSpineLinks / half);
  const superCores = Math.ceil(leafSpineLinks / radix);
  return finish(
    4,
    nodesPerUnit,
    units,
    leaves,
    spines,
    cores,
    superCores,
    gpus,
    leafSpineLinks,
    leafSpineLinks,
    leafSpineLinks,
  );
}

function finish(
  tiers: number,
  nodesPerUnit: number,
  units: number,
  leaves: number,
  spines: number,
  cores: number,
  superCores: number,
  hostLinks: number,
  leafSpineLinks: number,
  spineCoreLinks: number,
  coreSuperCoreLinks: number,
): FabricDesign {
  return {
    ok: true,
    tiers,
    nodesPerUnit,
    units,
    leaves,
    spines,
    cores,
    superCores,
    switches: leaves + spines + cores + superCores,
    hostLinks,
    leafSpineLinks,
    spineCoreLinks,
    coreSuperCoreLinks,
    switchLinks: leafSpineLinks + spineCoreLinks + coreSuperCoreLinks,
  };
}
