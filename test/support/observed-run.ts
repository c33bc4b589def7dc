/**
 * The small run the observe tests emulate and read back: Llama 3 8B on 16 H100 (2 hosts) for half a day, with
 * failure rates × 40 so that a short run sees interruptions. `emulateRun` writes its telemetry with the CLI.
 * @module
 */
import { mkdtemp, readdir, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { run } from '../run-cli.js';

/** The spec, as a user would write it. */
export const OBSERVED_SPEC = `name: Llama 3 8B on 16 H100
workload:
  model: llama3-8b
  training: { totalTokens: 15T, sequenceLength: 8192, globalBatch: { tokens: 1048576 }, precision: fp8 }
system: { accelerator: h100-sxm, gpuCount: 16, scaleOut: { fabric: ndr-ib } }
plan: { tp: 1, pp: 1, sharding: zero1, microBatch: 1, recomputation: none }
twin: { days: 0.5, failureScale: 40 }
`;

/** Where an emulated run lies: its spec, its training log and its dcgm scrape files. */
export interface EmulatedFiles {
  readonly dir: string;
  readonly spec: string;
  readonly log: string;
  readonly dcgmDir: string;
  readonly dcgm: string[];
}

/** Writes the spec into a fresh temp folder (or `dir`) and emulates its run there with `tokenworks emulate`. */
export async function emulateObservedRun(dir?: string): Promise<EmulatedFiles> {
  const root = dir ?? (await mkdtemp(join(tmpdir(), 'tw-observed-')));
  const spec = join(root, 'spec.yaml');
  await writeFile(spec, OBSERVED_SPEC);
  const out = join(root, 'run');
  const emulated = await run('emulate', spec, '--out', out);
  if (emulated.code !== 0) throw new Error(`emulate failed: ${emulated.stderr}`);
  const dcgmDir = join(out, 'dcgm');
  const dcgm = (await readdir(dcgmDir)).map((f) => join(dcgmDir, f));
  return { dir: root, spec, log: join(out, 'training.log'), dcgmDir, dcgm };
}
