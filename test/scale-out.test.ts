/**
 * Engine-neutral shards (issue 16): `--shard i/n` runs of `simulate`, `plan` (plan search and design search) and
 * `compare`, combined by `tokenworks merge`, print exactly what the unsharded command prints; each shard ran its
 * own share and no task twice. Bad shard flags and incomplete or mixed shard sets are usage errors (exit 2) that
 * say what is wrong. `tokenworks k8s-job` writes an Indexed Job that passes the Kubernetes Job schema (the subset
 * in test/support/k8s-job-schema.ts), and its pods' command lines, run here with `JOB_COMPLETION_INDEX` set as
 * Kubernetes sets it, give shards that merge into the unsharded result.
 */
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { parseShard } from '../src/cli/scale-out.js';
import { run } from './run-cli.js';
import { JOB_SCHEMA, schemaProblems } from './support/k8s-job-schema.js';

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'tokenworks-shards-'));
  await writeFile(
    join(dir, 'plans.yaml'),
    // 4,272 candidate plans: above SHARD_CANDIDATES, so the search splits into plan shards.
    `workload: { model: mixtral-8x7b, training: { totalTokens: 15T, sequenceLength: 8192, globalBatch: { sequences: 1024 } } }
system: { accelerator: h100-sxm, gpuCount: 512 }
`,
  );
  await writeFile(
    join(dir, 'designs.yaml'),
    `workload: { model: llama3-8b, training: { totalTokens: 1T, sequenceLength: 8192, globalBatch: { sequences: 512 } } }
constraints: { maxGpus: 256, deadlineDays: 60 }
`,
  );
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

interface ShardFile {
  readonly shard: { readonly index: number; readonly count: number };
  readonly tasks: { readonly owned: number; readonly deferred: number; readonly shared: number };
  readonly split: readonly string[];
  readonly results: Record<string, unknown>;
}

/** Runs `argv` as shards 0..n-1 into files, checks each exits 0, and returns the files and their contents. */
async function shards(argv: readonly string[], count: number, name: string) {
  const files: string[] = [];
  const contents: ShardFile[] = [];
  for (let index = 0; index < count; index++) {
    const file = join(dir, `${name}-${index}.json`);
    const shard = await run(...argv, '--shard', `${index}/${count}`, '--out', file);
    expect(shard.stderr).toContain(`wrote shard ${index} of ${count} to ${file}`);
    expect(shard.code).toBe(0);
    expect(shard.stdout).toBe('');
    files.push(file);
    contents.push(JSON.parse(await readFile(file, 'utf8')) as ShardFile);
  }
  return { files, contents };
}

/** The split tasks each shard ran: every one owned by exactly one shard, and every shard with a share. */
function expectDisjointShares(contents: readonly ShardFile[]) {
  const total = (contents[0]?.tasks.owned ?? 0) + (contents[0]?.tasks.deferred ?? 0);
  expect(contents.reduce((sum, c) => sum + c.tasks.owned, 0)).toBe(total);
  for (const c of contents) {
    expect(c.tasks.owned).toBeGreaterThan(0);
    expect(c.tasks.owned + c.tasks.deferred).toBe(total);
  }
  // Results of split tasks are disjoint; shared tasks (prerequisites) appear in every shard.
  const counts = new Map<string, number>();
  for (const c of contents) for (const key of Object.keys(c.results)) counts.set(key, (counts.get(key) ?? 0) + 1);
  const once = [...counts.values()].filter((n) => n === 1).length;
  const everywhere = [...counts.values()].filter((n) => n === contents.length).length;
  expect(once).toBe(total);
  expect(everywhere).toBe(contents.length === 1 ? total : (contents[0]?.tasks.shared ?? 0));
}

describe('--shard i/n and tokenworks merge', () => {
  it('a simulate study in 3 shards merges into the unsharded JSON, byte for byte', async () => {
    const argv = ['simulate', 'examples/gpt3-weekly-h100.yaml', '--replicas', '300', '--seed', '4', '--threads', '1'];
    const whole = await run(...argv, '--json');
    expect(whole.code).toBe(0);
    const { files, contents } = await shards(argv, 3, 'simulate');
    expect(contents.map((c) => c.split)).toEqual([['twin'], ['twin'], ['twin']]);
    expectDisjointShares(contents);
    // The shard files in any order.
    const merged = await run('merge', files[2] as string, files[0] as string, files[1] as string, '--json');
    expect(merged.stderr).toContain('merging 3 shards of `tokenworks simulate examples/gpt3-weekly-h100.yaml');
    expect(merged.code).toBe(0);
    expect(merged.stdout).toBe(whole.stdout);
    expect(JSON.parse(merged.stdout).replicas).toBe(300);
    // The text report too, and --out writes the same into a file.
    const text = await run('merge', ...files);
    expect(text.stdout).toBe((await run(...argv)).stdout);
    const out = join(dir, 'merged.json');
    expect((await run('merge', ...files, '--json', '--out', out)).code).toBe(0);
    expect(await readFile(out, 'utf8')).toBe(whole.stdout);
  }, 120_000);

  it('a plan search in 3 shards merges into the unsharded plan', async () => {
    const argv = ['plan', join(dir, 'plans.yaml'), '--top', '5', '--threads', '1'];
    const whole = await run(...argv, '--json');
    expect(whole.code).toBe(0);
    const { files, contents } = await shards(argv, 3, 'plans');
    expect(contents[0]?.split).toEqual(['plans', 'design']);
    expectDisjointShares(contents);
    const merged = await run('merge', ...files, '--json');
    expect(merged.code).toBe(0);
    expect(merged.stdout).toBe(whole.stdout);
  }, 120_000);

  it('a design search (no system) in 2 shards merges into the unsharded recommendation', async () => {
    const argv = ['plan', join(dir, 'designs.yaml'), '--threads', '1'];
    const whole = await run(...argv, '--json');
    expect(whole.code).toBe(0);
    const { files, contents } = await shards(argv, 2, 'designs');
    expectDisjointShares(contents);
    const merged = await run('merge', ...files, '--json');
    expect(merged.stdout).toBe(whole.stdout);
    expect(JSON.parse(merged.stdout).mode).toBe(JSON.parse(whole.stdout).mode);
  }, 120_000);

  it('a comparison in 3 shards merges into the unsharded one (sizes prepared in every shard, replicas split)', async () => {
    const argv = ['compare', 'examples/breakpoint.yaml', '--sweep', '64,512', '--replicas', '4', '--threads', '1'];
    const whole = await run(...argv, '--json');
    expect(whole.code).toBe(0);
    const { files, contents } = await shards(argv, 3, 'compare');
    expectDisjointShares(contents);
    // The two sizes' preparations run in every shard: the replicas wait on them.
    expect(contents.map((c) => c.tasks.shared)).toEqual([2, 2, 2]);
    const merged = await run('merge', ...files, '--json');
    expect(merged.code).toBe(0);
    expect(merged.stdout).toBe(whole.stdout);
  }, 300_000);

  it('detect-eval in 2 shards (its design search split) merges into the unsharded evaluation', async () => {
    const faults = join(dir, 'faults.yaml');
    await writeFile(
      faults,
      'stragglers: { sizes: [64], perRun: 3, runSeconds: 300 }\nfailSlow: { runs: 4, iterations: 1000 }\nfailures: { runs: 1, hosts: 64, days: 2 }\n',
    );
    const noise =
      '../shared/data/telemetry/megatron-ci/gpt3_weekly_mcore_tp2_pp2_current_scaling_native_fp8_tp_pp_sp_tp_overlap/golden_values_dev_dgx_h100.json';
    const argv = ['detect-eval', join(dir, 'designs.yaml'), '--noise', noise, '--faults', faults, '--replicas', '2'];
    const whole = await run(...argv, '--json');
    expect(whole.code, whole.stderr).toBe(0);
    const { files, contents } = await shards(argv, 2, 'detect-eval');
    expectDisjointShares(contents);
    const merged = await run('merge', ...files, '--json');
    expect(merged.code).toBe(0);
    expect(merged.stdout).toBe(whole.stdout);
  }, 120_000);

  it('an incomplete, doubled or mixed set of shards, or a file that is no shard, is a usage error', async () => {
    const argv = ['simulate', 'examples/gpt3-weekly-h100.yaml', '--replicas', '40', '--threads', '1'];
    const { files } = await shards(argv, 3, 'small');
    const [a, b, c] = files as [string, string, string];
    const missing = await run('merge', a, c);
    expect(missing.code).toBe(2);
    expect(missing.stderr).toContain(
      '1 of the 3 shards of `simulate examples/gpt3-weekly-h100.yaml --replicas=40` are missing (index 1)',
    );
    const twice = await run('merge', a, b, b);
    expect(twice.code).toBe(2);
    expect(twice.stderr).toContain(`shard 1/3 is given twice: ${b} and ${b}`);
    const other = await shards([...argv.slice(0, 3), '41', '--threads', '1'], 1, 'other');
    const mixed = await run('merge', a, b, c, other.files[0] as string);
    expect(mixed.code).toBe(2);
    expect(mixed.stderr).toMatch(
      /shard 0\/1 of `simulate examples\/gpt3-weekly-h100.yaml --replicas=41`, but .* in 3 shards/,
    );
    const bogus = join(dir, 'bogus.json');
    await writeFile(bogus, '{"format":"something else"}');
    const notShard = await run('merge', bogus);
    expect(notShard.code).toBe(2);
    expect(notShard.stderr).toContain(`${bogus}: not a tokenworks shard file (format:`);
  }, 120_000);

  it('bad --shard values, --shard without --out and --out without --shard are usage errors naming the flag', async () => {
    const spec = 'examples/gpt3-weekly-h100.yaml';
    const out = join(dir, 'x.json');
    for (const [args, message] of [
      [['--shard', '3/3', '--out', out], '--shard 3/3: i = 3 is not below n = 3'],
      [['--shard', '0/10001', '--out', out], '--shard 0/10001: n = 10001 is out of range'],
      [['--shard', '0/0', '--out', out], '--shard 0/0: n = 0 is out of range'],
      [['--shard', '-1/3', '--out', out], '--shard -1/3: i "-1" is not a whole number'],
      [['--shard', 'half', '--out', out], '--shard half: no "/"'],
      [['--shard', '1/2'], '--shard 1/2: give --out FILE'],
      [['--out', out], `--out ${out}: --out is where a shard goes; give --shard i/n too`],
      [['--runner', 'http://localhost'], '--runner must be a Redis URL such as redis://127.0.0.1:6379'],
    ] as const) {
      const result = await run('simulate', spec, ...args);
      expect(result.code, args.join(' ')).toBe(2);
      expect(result.stderr).toContain(message);
    }
    for (const command of ['plan', 'compare', 'detect-eval']) {
      const result = await run(
        command,
        spec,
        '--shard',
        '2/2',
        '--out',
        out,
        ...(command === 'detect-eval' ? ['--noise', 'x'] : []),
      );
      expect(result.code).toBe(2);
      expect(result.stderr).toContain('--shard 2/2: i = 2 is not below n = 2; give i/n with 0 ≤ i < n ≤ 10,000');
    }
  });

  it('--shard env and env/n take the index from JOB_COMPLETION_INDEX (and n from TOKENWORKS_SHARD_COUNT)', () => {
    expect(parseShard('env/4', { JOB_COMPLETION_INDEX: '3' })).toEqual({ index: 3, count: 4 });
    expect(parseShard('env', { JOB_COMPLETION_INDEX: '0', TOKENWORKS_SHARD_COUNT: '7' })).toEqual({
      index: 0,
      count: 7,
    });
    expect(parseShard('2/5', {})).toEqual({ index: 2, count: 5 });
    expect(() => parseShard('env/4', { JOB_COMPLETION_INDEX: '4' })).toThrow('--shard env/4: i = 4 is not below n = 4');
    expect(() => parseShard('env', { JOB_COMPLETION_INDEX: '1' })).toThrow(
      'give n after "env/", or set TOKENWORKS_SHARD_COUNT',
    );
    expect(() => parseShard('env/2', {})).toThrow('--shard env/2: JOB_COMPLETION_INDEX is not set');
  });
});

describe('tokenworks k8s-job', () => {
  const inner = ['simulate', 'examples/gpt3-weekly-h100.yaml', '--replicas', '120', '--threads', '1'];

  it('writes an Indexed Job that passes the batch/v1 Job schema, with the shard from the completion index', async () => {
    const result = await run(
      'k8s-job',
      '--parallelism',
      '2',
      '--completions',
      '3',
      '--image',
      'registry.example/tokenworks:1',
      '--',
      ...inner,
    );
    expect(result.code).toBe(0);
    expect(result.stdout.startsWith('# tokenworks ')).toBe(true);
    const manifest = parse(result.stdout);
    expect(schemaProblems(manifest, JOB_SCHEMA)).toEqual([]);
    expect(manifest).toMatchObject({
      apiVersion: 'batch/v1',
      kind: 'Job',
      metadata: { name: 'tokenworks-simulate' },
      spec: { completionMode: 'Indexed', completions: 3, parallelism: 2, backoffLimitPerIndex: 3, maxFailedIndexes: 0 },
    });
    const pod = manifest.spec.template.spec;
    // backoffLimitPerIndex needs restartPolicy Never (JobSpec.backoffLimitPerIndex in the schema's description).
    expect(pod.restartPolicy).toBe('Never');
    const [container] = pod.containers;
    expect(container.image).toBe('registry.example/tokenworks:1');
    expect([...container.command, ...container.args]).toEqual([
      'tokenworks',
      ...inner,
      '--shard',
      '$(JOB_COMPLETION_INDEX)/3',
      '--out',
      '/results/shard-$(JOB_COMPLETION_INDEX).json',
    ]);
    expect(container.env).toContainEqual({
      name: 'JOB_COMPLETION_INDEX',
      valueFrom: { fieldRef: { fieldPath: "metadata.annotations['batch.kubernetes.io/job-completion-index']" } },
    });
    expect(container.volumeMounts).toEqual([{ name: 'results', mountPath: '/results' }]);
    expect(pod.volumes).toEqual([
      { name: 'results', persistentVolumeClaim: { claimName: 'tokenworks-simulate-results' } },
    ]);
    // The JSON form is the same manifest.
    expect(
      JSON.parse(
        (
          await run(
            'k8s-job',
            '--parallelism',
            '2',
            '--completions',
            '3',
            '--image',
            'registry.example/tokenworks:1',
            '--json',
            '--',
            ...inner,
          )
        ).stdout,
      ),
    ).toEqual(manifest);
  });

  it('the schema checker finds a wrong type, a missing required field and an unknown field', async () => {
    const manifest = parse((await run('k8s-job', '--parallelism', '2', '--', ...inner)).stdout);
    const broken = structuredClone(manifest);
    broken.spec.parallelism = '2';
    delete broken.spec.template.spec.containers[0].name;
    broken.spec.template.spec.containers[0].shard = 1;
    broken.kind = 'CronJob';
    expect(schemaProblems(broken, JOB_SCHEMA)).toEqual([
      '$.kind: "CronJob" is not one of ["Job"]',
      '$.spec.parallelism: is string, the schema wants integer or null',
      '$.spec.template.spec.containers[0]: name is required',
      '$.spec.template.spec.containers[0].shard: not a field of this object',
    ]);
  });

  it("its pods' command lines, with the index Kubernetes gives each, write shards that merge into the unsharded result", async () => {
    const manifest = parse((await run('k8s-job', '--parallelism', '3', '--', ...inner)).stdout);
    const [container] = manifest.spec.template.spec.containers;
    const results = join(dir, 'results');
    await import('node:fs/promises').then((fs) => fs.mkdir(results));
    const files: string[] = [];
    for (let index = 0; index < manifest.spec.completions; index++) {
      // What the kubelet does: $(VAR) in args expands from the container's env; /results is the mounted volume.
      const env: Record<string, string> = { JOB_COMPLETION_INDEX: String(index) };
      const args = (container.args as string[]).map((arg) =>
        arg
          .replace(/\$\((\w+)\)/g, (_, name: string) => env[name] ?? `$(${name})`)
          .replace(/^\/results\//, `${results}/`),
      );
      expect(args.at(-3)).toBe(`${index}/3`);
      const shard = await run(...args);
      expect(shard.code, shard.stderr).toBe(0);
      files.push(args.at(-1) as string);
    }
    const merged = await run('merge', ...files, '--json');
    expect(merged.code).toBe(0);
    expect(merged.stdout).toBe((await run(...inner, '--json')).stdout);
  }, 120_000);

  it('a command that does not shard, --shard given by hand and a bad name are usage errors', async () => {
    const cases = [
      [['--parallelism', '2', '--', 'estimate', 'x.yaml'], 'k8s-job: "estimate" is not a command that shards'],
      [
        ['--parallelism', '2', '--', ...inner, '--shard', '0/2'],
        'k8s-job: the Job sets --shard and --out itself; drop --shard',
      ],
      [['--parallelism', '2', '--name', 'Bad_Name', '--', ...inner], '--name must be lower-case letters'],
      [['--parallelism', '0', '--', ...inner], '--parallelism must be an integer from 1 to 10,000, got "0"'],
      [
        ['--parallelism', '4', '--max-failed-indexes', '9', '--', ...inner],
        '--max-failed-indexes must be an integer from 0 to 4',
      ],
    ] as const;
    for (const [args, message] of cases) {
      const result = await run('k8s-job', ...args);
      expect(result.code, args.join(' ')).toBe(2);
      expect(result.stderr).toContain(message);
    }
  });
});
