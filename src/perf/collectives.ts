/**
 * Collective communication costed on the part of the hierarchy a group spans: inside one scale-up (NVLink)
 * domain, or across domains over the scale-out NICs, tapered by oversubscription outside a pod. Costs follow
 * the NCCL bus-bandwidth model: time = latency + bytes · volume factor / bus bandwidth (nccl-tests
 * PERFORMANCE.md: all-reduce moves 2(n−1)/n of the buffer per rank, all-gather and reduce-scatter (n−1)/n).
 * @module
 */
import type { ResolvedSystem } from '../spec/resolve.js';

/** Share of scale-up line rate NCCL reaches on H100 NVLink: 370 of 450 GB/s (nccl-tests#212). */
export const SCALE_UP_EFFICIENCY = 370 / 450;
/** Share of NIC line rate NCCL reaches: 47 of 50 GB/s on 400G NDR (nccl-tests#290). */
export const SCALE_OUT_EFFICIENCY = 47 / 50;
/** Per-collective latency inside a scale-up domain, seconds (Calculon's A100 system file: 10 µs). */
export const SCALE_UP_LATENCY_S = 10e-6;
/** Per-collective latency across the scale-out fabric, seconds (Calculon's A100 system file: 20 µs). */
export const SCALE_OUT_LATENCY_S = 20e-6;
/**
 * Latency of one ring step (one hop), seconds: about 1 µs over NVLink and 5 µs over the network, the order of
 * NCCL's per-step hardware latencies for its LL128 protocol (NCCL src/graph/tuning.cc). A ring over n ranks
 * pays n − 1 of them per pass, so collectives over thousands of ranks are latency-bound.
 */
export const SCALE_UP_HOP_S = 1e-6;
export const SCALE_OUT_HOP_S = 5e-6;

/** Where a communication group sits: its size and the bandwidth and latency it gets. */
export interface GroupLink {
  readonly size: number;
  /** Members of the group inside one scale-up domain. */
  readonly perDomain: number;
  /** Scale-up domains the group spans. */
  readonly domains: number;
  /** Bus bandwidth of a ring over the group, bytes/s per GPU. */
  readonly busBytesPerSecond: number;
  /** Scale-up bandwidth per GPU (achieved), bytes/s. */
  readonly scaleUpBytesPerSecond: number;
  /** Scale-out bandwidth per GPU (achieved, after taper), bytes/s. */
  readonly scaleOutBytesPerSecond: number;
  /** Fixed latency of one collective, seconds. */
  readonly latencySeconds: number;
  /** Latency of one ring step, seconds. */
  readonly hopSeconds: number;
}

/**
 * Places a group of `size` ranks whose consecutive members are `stride` ranks apart (Megatron orders ranks
 * tp, cp, ep/dp, pp from innermost; a TP group has stride 1, a DP group stride tp·cp). Ranks fill scale-up
 * domains in order.
 */
export function placeGroup(system: ResolvedSystem, size: number, stride: number): GroupLink {
  const domain = system.scaleUp.domainSize;
  const perDomain = size <= 1 ? 1 : Math.max(1, Math.min(size, Math.floor(domain / stride)));
  const domains = Math.ceil(size / perDomain);
  const scaleUp = system.scaleUp.bandwidthGBps * 1e9 * SCALE_UP_EFFICIENCY;
  // Traffic beyond a pod crosses the tapered tier (Llama 3: 7:1 between pods of 3,072 GPUs).
  const span = size * stride;
  const taper = span > system.scaleOut.podSize ? system.scaleOut.oversubscription : 1;
  const scaleOut = (((system.scaleOut.nicBandwidthGbps * 1e9) / 8) * SCALE_OUT_EFFICIENCY) / taper;
  // Across domains NCCL runs one ring per NIC rail: each GPU's share of inter-domain traffic leaves through its
  // own NIC, so the ring's bus bandwidth is perDomain NICs' worth, capped by the scale-up links
  // (hardware-catalog.md 2.4: 8x400G DGX H100 ≈ 8 × 47 GB/s, capped near 370 GB/s).
  const busBytesPerSecond = domains <= 1 ? scaleUp : Math.min(scaleUp, perDomain * scaleOut);
  const latencySeconds =
    domains <= 1
      ? (system.scaleUp.latencyUs ?? SCALE_UP_LATENCY_S * 1e6) * 1e-6
      : (system.scaleOut.latencyUs ?? SCALE_OUT_LATENCY_S * 1e6) * 1e-6;
  return {
    size,
    perDomain,
    domains,
    busBytesPerSecond,
    scaleUpBytesPerSecond: scaleUp,
    scaleOutBytesPerSecond: scaleOut,
    latencySeconds,
    hopSeconds: domains <= 1 ? SCALE_UP_HOP_S : SCALE_OUT_HOP_S,
  };
}

/**
 * All-reduce of a `bytes` buffer: each rank sends and receives 2(n−1)/n of it; the latency is the smaller of a
 * ring's 2(n−1) steps and a double binary tree's 2·⌈log2 n⌉ (NCCL picks the tree for large groups).
 */
export function allReduceSeconds(link: GroupLink, bytes: number): number {
  if (link.size <= 1 || bytes <= 0) return 0;
  const steps = Math.min(2 * (link.size - 1), 2 * Math.ceil(Math.log2(link.size)));
  return (
    link.latencySeconds + steps * link.hopSeconds + (bytes * 2 * (link.size - 1)) / link.size / link.busBytesPerSecond
  );
}

/** All-gather into (or reduce-scatter from) a `bytes` buffer: each rank moves (n−1)/n of it over n − 1 ring steps. */
export function allGatherSeconds(link: GroupLink, bytes: number): number {
  if (link.size <= 1 || bytes <= 0) return 0;
  return (
    link.latencySeconds +
    (link.size - 1) * link.hopSeconds +
    (bytes * (link.size - 1)) / link.size / link.busBytesPerSecond
  );
}

/** Reduce-scatter costs what all-gather costs (the same ring in reverse). */
export const reduceScatterSeconds = allGatherSeconds;

/**
 * All-to-all where each rank sends `bytes` spread evenly over the group: the share for peers in its own domain
 * goes over scale-up links, the rest over its NIC.
 */
export function allToAllSeconds(link: GroupLink, bytes: number): number {
  if (link.size <= 1 || bytes <= 0) return 0;
  const local = (bytes * (link.perDomain - 1)) / link.size;
  const remote = (bytes * (link.size - link.perDomain)) / link.size;
  return link.latencySeconds + local / link.scaleUpBytesPerSecond + remote / link.scaleOutBytesPerSecond;
}

/** Point-to-point send of `bytes` to a neighbour in or out of the domain. */
export function sendSeconds(link: GroupLink, bytes: number): number {
  if (bytes <= 0) return 0;
  const bandwidth = link.domains <= 1 ? link.scaleUpBytesPerSecond : link.scaleOutBytesPerSecond;
  return link.latencySeconds + bytes / bandwidth;
}
