/**
 * `tokenworks k8s-job [options] -- <command…>`: the Kubernetes Indexed Job that runs a fan-out command's shards,
 * one pod per completion index (`completionMode: Indexed`, stable since Kubernetes 1.24; `backoffLimitPerIndex`,
 * GA in 1.33): each pod runs `tokenworks <command…> --shard $(JOB_COMPLETION_INDEX)/N --out
 * /results/shard-$(JOB_COMPLETION_INDEX).json` on a shared results volume, and `tokenworks merge` combines the
 * files once every index has completed. Kubernetes documents the index as the pod annotation
 * `batch.kubernetes.io/job-completion-index`, passed here to the container through the downward API
 * (https://kubernetes.io/docs/concepts/workloads/controllers/job/#completion-mode). YAML, or JSON with `--json`.
 * @module
 */
import type { Command } from '@commander-js/extra-typings';
import { stringify } from 'yaml';
import { TokenworksError } from '../../errors.js';
import { createOutput, type OutputStreams } from '../../node/output.js';
import { VERSION } from '../../version.js';
import { integerOption } from '../options.js';
import { COMPLETION_INDEX, SHARD_COUNT, SHARDED_COMMANDS } from '../scale-out.js';

/** Most completions (shards), as `--shard` allows. */
const MAX_COMPLETIONS = 10_000;

/** Where the pods write their shard files. */
export const RESULTS_PATH = '/results';

/** The downward-API field that holds a pod's completion index (Kubernetes Job docs, "Completion mode"). */
export const COMPLETION_INDEX_FIELD = "metadata.annotations['batch.kubernetes.io/job-completion-index']";

/** What the Job is built from. */
export interface IndexedJobSettings {
  /** The tokenworks command line each pod runs, without `--shard` and `--out`. */
  readonly command: readonly string[];
  readonly name: string;
  readonly image: string;
  readonly completions: number;
  readonly parallelism: number;
  readonly backoffLimitPerIndex: number;
  readonly maxFailedIndexes: number;
  /** The PersistentVolumeClaim (ReadWriteMany) the pods write their shards to. */
  readonly claim: string;
}

/** The batch/v1 Job manifest of {@link IndexedJobSettings}. */
export function indexedJob(settings: IndexedJobSettings) {
  const labels = { 'app.kubernetes.io/name': 'tokenworks', 'app.kubernetes.io/instance': settings.name };
  const index = `$(${COMPLETION_INDEX})`;
  return {
    apiVersion: 'batch/v1',
    kind: 'Job',
    metadata: { name: settings.name, labels },
    spec: {
      completionMode: 'Indexed',
      completions: settings.completions,
      parallelism: settings.parallelism,
      // Per-index retries need restartPolicy Never; one index failed for good fails the Job (merge needs them all).
      backoffLimitPerIndex: settings.backoffLimitPerIndex,
      maxFailedIndexes: settings.maxFailedIndexes,
      template: {
        metadata: { labels },
        spec: {
          restartPolicy: 'Never',
          containers: [
            {
              name: 'tokenworks',
              image: settings.image,
              command: ['tokenworks'],
              args: [
                ...settings.command,
                '--shard',
                `${index}/${settings.completions}`,
                '--out',
                `${RESULTS_PATH}/shard-${index}.json`,
              ],
              env: [
                { name: COMPLETION_INDEX, valueFrom: { fieldRef: { fieldPath: COMPLETION_INDEX_FIELD } } },
                { name: SHARD_COUNT, value: String(settings.completions) },
              ],
              volumeMounts: [{ name: 'results', mountPath: RESULTS_PATH }],
            },
          ],
          volumes: [{ name: 'results', persistentVolumeClaim: { claimName: settings.claim } }],
        },
      },
    },
  };
}

/** A DNS-1123 label (what a Job name must be) of at most `max` characters. */
function checkName(name: string, option: string, max: number): void {
  if (name.length > max || !/^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/.test(name)) {
    throw new TokenworksError(
      'USAGE',
      `${option} must be lower-case letters, digits and "-", starting and ending with a letter or digit, at most ${max} characters (pod host names add the index), got "${name}"`,
    );
  }
}

/** Adds the `k8s-job` command to `program`. */
export function registerK8sJob(program: Command, streams: OutputStreams): void {
  program
    .command('k8s-job')
    .description('print the Kubernetes Indexed Job that runs a command in shards (then `tokenworks merge` them)')
    .argument(
      '<command...>',
      `the command each pod runs, after "--": ${SHARDED_COMMANDS.join(', ')} (e.g. -- simulate examples/llama3-405b-54d.yaml --replicas 100000)`,
    )
    .requiredOption('--parallelism <n>', 'pods at once')
    .option('--completions <n>', 'shards, one pod each to complete (default: the parallelism)')
    .option('--image <image>', `the container image with tokenworks installed (default: tokenworks:${VERSION})`)
    .option('--name <name>', 'the Job name (default: tokenworks-<command>)')
    .option('--backoff-limit-per-index <n>', 'retries of a failed pod per index', '3')
    .option('--max-failed-indexes <n>', 'indexes that may fail for good before the Job fails', '0')
    .option('--results-claim <pvc>', 'the ReadWriteMany PersistentVolumeClaim for /results (default: <name>-results)')
    .option('--json', 'print the manifest as JSON instead of YAML')
    .allowUnknownOption()
    .action((words, options) => {
      const output = createOutput(streams, { json: options.json ?? false });
      const [verb = ''] = words;
      if (!(SHARDED_COMMANDS as readonly string[]).includes(verb)) {
        throw new TokenworksError(
          'USAGE',
          `k8s-job: "${verb}" is not a command that shards; give one of ${SHARDED_COMMANDS.join(', ')} after "--", e.g. tokenworks k8s-job --parallelism 8 -- simulate spec.yaml --replicas 100000`,
        );
      }
      const clash = words.find((word) => /^--(shard|out)(=|$)/.test(word));
      if (clash !== undefined) {
        throw new TokenworksError('USAGE', `k8s-job: the Job sets --shard and --out itself; drop ${clash}`);
      }
      const parallelism = integerOption('--parallelism', options.parallelism, 1, MAX_COMPLETIONS);
      const completions =
        options.completions === undefined
          ? parallelism
          : integerOption('--completions', options.completions, 1, MAX_COMPLETIONS);
      const backoffLimitPerIndex = integerOption('--backoff-limit-per-index', options.backoffLimitPerIndex, 0, 100);
      const maxFailedIndexes = integerOption('--max-failed-indexes', options.maxFailedIndexes, 0, completions);
      const name = options.name ?? `tokenworks-${verb}`;
      // Pods of an Indexed Job are named $(job-name)-$(index): keep that within the 63 characters of a label.
      checkName(name, '--name', 63 - 1 - String(completions - 1).length);
      const claim = options.resultsClaim ?? `${name}-results`;
      checkName(claim, '--results-claim', 253);
      const image = options.image ?? `tokenworks:${VERSION}`;
      if (image.trim() === '' || /\s/.test(image)) {
        throw new TokenworksError('USAGE', `--image must be an image reference without spaces, got "${image}"`);
      }
      const manifest = indexedJob({
        command: words,
        name,
        image,
        completions,
        parallelism,
        backoffLimitPerIndex,
        maxFailedIndexes,
        claim,
      });
      const header = [
        `# tokenworks ${VERSION}: ${completions} shards of \`tokenworks ${words.join(' ')}\`, ${parallelism} pods at once.`,
        `# The pods write ${RESULTS_PATH}/shard-<index>.json to the claim "${claim}" (ReadWriteMany, create it first);`,
        `# when the Job completes: tokenworks merge ${RESULTS_PATH}/shard-*.json`,
      ].join('\n');
      output.result(`${header}\n${stringify(manifest, { lineWidth: 0 })}`, manifest);
    });
}
