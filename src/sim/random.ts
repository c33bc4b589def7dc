/**
 * Seeded random streams for the simulation kernel. Every replica of a study gets its own generator, seeded from
 * (seed, replica) through a SplitMix32 hash; inside a replica every process draws from its own stream, the
 * replica's xoroshiro128+ jumped 2^64 steps per stream index (pure-rand `jump`), so adding draws to one process
 * never shifts another's numbers. Distributions come from d3-random fed by these uniforms.
 * @module
 */
import { randomExponential, randomLogNormal, randomNormal } from 'd3-random';
import { uniformFloat64 } from 'pure-rand/distribution/uniformFloat64';
import { xoroshiro128plusFromState } from 'pure-rand/generator/xoroshiro128plus';
import type { JumpableRandomGenerator } from 'pure-rand/types/JumpableRandomGenerator';

/** One independent stream of random numbers. */
export interface RandomStream {
  /** Uniform on (0, 1): never exactly 0, so logarithms stay finite. */
  uniform(): number;
  /** Exponential with the given mean. */
  exponential(mean: number): number;
  /** Standard normal. */
  normal(): number;
  /** Log-normal whose logarithm has the given median's log and standard deviation `sigma`. */
  logNormal(median: number, sigma: number): number;
  /** True with probability `p`. */
  bernoulli(p: number): boolean;
}

/** SplitMix32 finaliser (Steele, Lea and Flood 2014, 32-bit variant): a well-mixed hash of one 32-bit word. */
function mix32(value: number): number {
  let z = (value + 0x9e3779b9) | 0;
  z = Math.imul(z ^ (z >>> 16), 0x85ebca6b);
  z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35);
  return (z ^ (z >>> 16)) | 0;
}

/** The generator of one replica: its 128-bit state hashed from (seed, replica); never all zero. */
function replicaGenerator(seed: number, replica: number): JumpableRandomGenerator {
  const a = mix32(seed ^ mix32(replica));
  const b = mix32(a ^ 0x5bd1e995);
  const c = mix32(b ^ replica);
  const d = mix32(c ^ seed);
  return xoroshiro128plusFromState([a, b, c, d === 0 && a === 0 && b === 0 && c === 0 ? 1 : d]);
}

const TINY = 2 ** -54;

function streamFrom(generator: JumpableRandomGenerator): RandomStream {
  const uniform = () => {
    const u = uniformFloat64(generator);
    return u === 0 ? TINY : u;
  };
  const exponential1 = randomExponential.source(uniform)(1);
  const normal = randomNormal.source(uniform)(0, 1);
  const logNormal1 = randomLogNormal.source(uniform);
  const logNormals = new Map<string, () => number>();
  return {
    uniform,
    exponential: (mean) => mean * exponential1(),
    normal,
    logNormal(median, sigma) {
      const key = `${median}:${sigma}`;
      let sampler = logNormals.get(key);
      if (!sampler) {
        sampler = logNormal1(Math.log(median), sigma);
        logNormals.set(key, sampler);
      }
      return sampler();
    },
    bernoulli: (p) => uniform() < p,
  };
}

/** The streams of one replica: `stream(i)` is the replica generator jumped `i + 1` times. */
export class ReplicaStreams {
  private readonly base: JumpableRandomGenerator;
  private readonly made = new Map<number, RandomStream>();

  constructor(
    readonly seed: number,
    readonly replica: number,
  ) {
    if (!Number.isInteger(seed) || !Number.isInteger(replica) || replica < 0) {
      throw new RangeError(`seed and replica must be integers (replica ≥ 0), got ${seed} and ${replica}`);
    }
    this.base = replicaGenerator(seed | 0, replica);
  }

  /** The stream with this index; the same index always returns the same stream object. */
  stream(index: number): RandomStream {
    let stream = this.made.get(index);
    if (!stream) {
      const generator = this.base.clone();
      for (let jump = 0; jump <= index; jump++) generator.jump();
      stream = streamFrom(generator);
      this.made.set(index, stream);
    }
    return stream;
  }
}
