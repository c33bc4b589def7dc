/**
 * The mitigation policy at scale (issue 13 item 3): ETTR of the Llama 3 405B plan without and with a mitigation
 * policy at 1k to 100k GPUs, on the same seeds (`compareMitigation`, common random numbers), with the gain split by
 * cause. Writes docs/results/mitigation-study.json (atomically) and prints Markdown tables; progress on stderr.
 *
 *   npx tsx scripts/mitigation-study.ts [--replicas N] [--seed S] [--days D] [--gpus 1024,4096,...]
 *     [--sweep-gpus G] [--sweep-replicas N] [--out FILE]
 *
 * What is held fixed and what scales (docs/twin.md, "Mitigation at scale"):
 * - The spec is examples/llama3-405b-54d-mitigation.yaml: Llama 3 405B on H100 at TP 8, PP 16, CP 1, Meta's lemon
 *   share (2% of hosts at 5×), Tectonic's 2 TB/s checkpoint storage, census failure rates, a 54-day window.
 * - Only data parallelism scales: DP = GPUs / 128, the global batch keeps Llama 3's 16 sequences per replica
 *   (2,048 over DP 128), so a replica's step is Llama 3's and the fleet's size is what changes. The token budget
 *   scales with DP too (15.6T at DP 128), so that no size trains it within the window and every replica runs the
 *   whole window: ETTR over the same days at every size.
 * - Policies: the example's (`twin.mitigation` of the spec), the detectors measured in docs/operate.md § Detect,
 *   and, as a control, the example's lemon exclusion alone (what remains of a policy without its prediction).
 * - A sweep of the example's prediction alone at leads spread over one checkpoint cycle around its 10 minutes, at
 *   one size: a check that what a lead saves does not depend on where it falls in the cycle (a checkpoint on a
 *   prediction leaves the periodic schedule where it was, Job.checkpointNow).
 * @module
 */
import { readFileSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { dirname, join, relative, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { parse } from 'yaml';
import { defaultFacility, designOfPlan } from '../src/app/design.js';
import { writeFileAtomic } from '../src/node/files.js';
import { isEventBudgetError } from '../src/sim/index.js';
import { validateSpec } from '../src/spec/load.js';
import type { TwinInput } from '../src/spec/twin.js';
import { withoutMitigation } from '../src/spec/twin.js';
import { ETTR_CAUSES } from '../src/twin/run.js';
import { type TwinConfig, type TwinDesign, twinConfig } from '../src/twin/setup.js';
import { compareMitigation, type MitigationComparison } from '../src/twin/study.js';

const ROOT = join(import.meta.dirname, '..');
export const SPEC = 'examples/llama3-405b-54d-mitigation.yaml';

/** The sizes studied: 1k, 4k, 16k (Llama 3's), 64k and 98,304 ≈ 100k GPUs (32 of Llama 3's 3,072-GPU pods). */
export const DEFAULT_GPUS = [1024, 4096, 16_384, 65_536, 98_304] as const;

/** Sequences per data-parallel replica in a global batch: Llama 3's 2,048 over DP 128. */
export const SEQUENCES_PER_REPLICA = 16;

/**
 * The detectors of docs/operate.md § Detect as a policy: stragglers found within about 30 s (P90 31 s), failure
 * prediction at 95.6% precision and 41.2% recall with a 5.3 h median lead (taken as 5 h), lemons excluded at
 * their second failure.
 */
export const DETECTOR_POLICY = {
  prediction: { recall: 0.41, precision: 0.956, leadMinutes: 300 },
  lemons: { excludeAfter: 2 },
  stragglers: { detectMinutes: 0.5 },
} as const;

/** Leads in the sweep: spread evenly over one checkpoint cycle around the example's lead. */
export const LEAD_SWEEP_STEPS = 8;

/**
 * `steps` leads (seconds) centred on `leadSeconds`, one cycle (interval + write) wide, at the midpoints of equal
 * parts: their phases in the cycle are evenly spread, so the mean of their gains is the gain of a lead whose phase
 * is uniform (a lead known only to within a checkpoint cycle).
 */
export function leadsOverCycle(leadSeconds: number, cycleSeconds: number, steps: number): number[] {
  if (!(cycleSeconds > 0) || !Number.isInteger(steps) || steps < 1) {
    throw new RangeError(`a cycle > 0 s and steps ≥ 1, got ${cycleSeconds} s and ${steps}`);
  }
  if (leadSeconds - cycleSeconds / 2 <= 0) {
    throw new RangeError(`a lead of ${leadSeconds} s is shorter than half the ${cycleSeconds} s checkpoint cycle`);
  }
  return Array.from({ length: steps }, (_, k) => leadSeconds + ((k + 0.5) / steps - 0.5) * cycleSeconds);
}

/** One size of the study: how the plan lays out `gpus`. */
export interface Layout {
  readonly gpus: number;
  readonly hosts: number;
  readonly dp: number;
  readonly globalBatchSequences: number;
  /** Tokens to train: the spec's per replica times DP, so that each size's ideal time is about Llama 3's. */
  readonly totalTokens: number;
}

/** The parallel layout a size keeps: model parallel degrees, host size and sequences per replica. */
export interface LayoutRule {
  readonly tp: number;
  readonly pp: number;
  readonly cp: number;
  readonly gpusPerNode: number;
  readonly sequencesPerReplica: number;
  /** The spec's token budget over its DP. */
  readonly tokensPerReplica: number;
}

/**
 * Lays `gpus` out with the rule's TP × PP × CP and data parallelism for the rest. A model replica must fill whole
 * hosts and `gpus` must hold whole replicas; otherwise the error names the nearest valid counts on either side.
 */
export function layoutAt(gpus: number, rule: LayoutRule): Layout {
  const replicaGpus = rule.tp * rule.pp * rule.cp;
  if (!Number.isInteger(gpus) || gpus < 1) throw new RangeError(`GPU count must be a positive integer, got ${gpus}`);
  if (replicaGpus % rule.gpusPerNode !== 0) {
    throw new RangeError(
      `a replica of TP ${rule.tp} × PP ${rule.pp} × CP ${rule.cp} = ${replicaGpus} GPUs does not fill hosts of ${rule.gpusPerNode}`,
    );
  }
  if (gpus % replicaGpus !== 0) {
    const below = Math.floor(gpus / replicaGpus) * replicaGpus;
    const above = below + replicaGpus;
    const nearest = below > 0 ? `${below} or ${above}` : `${above}`;
    throw new RangeError(
      `${gpus} GPUs is not a multiple of TP ${rule.tp} × PP ${rule.pp} × CP ${rule.cp} = ${replicaGpus}: nearest ${nearest}`,
    );
  }
  const dp = gpus / replicaGpus;
  return {
    gpus,
    hosts: gpus / rule.gpusPerNode,
    dp,
    globalBatchSequences: dp * rule.sequencesPerReplica,
    totalTokens: dp * rule.tokensPerReplica,
  };
}

/** Parses `--gpus 1024,4096`: a comma-separated list of positive integers (no digit separators). */
export function parseGpuList(text: string): number[] {
  const parts = text.split(',').map((part) => part.trim());
  return parts.map((part) => {
    if (!/^\d+$/.test(part)) throw new RangeError(`--gpus: "${part}" is not a positive integer`);
    return Number(part);
  });
}

/**
 * An approximate standard error of a mean from its P10 and P90 (a normal's P90 − P10 is 2.563 σ): the
 * comparison keeps percentiles, not each replica's gain.
 */
export function approxStandardError(p10: number, p90: number, n: number): number {
  return (p90 - p10) / 2.5631031310892007 / Math.sqrt(n);
}

// biome-ignore lint/suspicious/noExplicitAny: the study edits a parsed YAML document
type Doc = Record<string, any>;

/** The result of one size and policy: the comparison, or why the twin refused it. */
type Outcome =
  | { readonly ok: true; readonly seconds: number; readonly comparison: MitigationComparison }
  | { readonly ok: false; readonly refused: string };

interface SizeResult {
  readonly layout: Layout;
  readonly design?: {
    readonly stepSeconds: number;
    /** Days to train the tokens with nothing lost: above the window, so that every replica runs the whole window. */
    readonly idealDays: number;
    readonly checkpointIntervalMinutes: number;
    readonly checkpointWriteSeconds: number;
    readonly mtbfHours: number;
    readonly meanRecoveryMinutes: number;
    readonly spareNodes: number;
    readonly lemonHosts: number;
    /** Each predicting policy's lead as a share of the checkpoint cycle ({@link leadPhase}). */
    readonly leadPhase: Record<string, number>;
  };
  readonly refused?: string;
  readonly policies: Record<string, Outcome>;
}

const issuesText = (issues: readonly { path: string; message: string }[]) =>
  issues.map((issue) => `${issue.path}: ${issue.message}`).join('; ');

/** The spec document at `layout`, `days` long. */
function docAt(base: Doc, layout: Layout, days: number): Doc {
  const doc = structuredClone(base);
  doc.system.gpuCount = layout.gpus;
  doc.plan.dp = layout.dp;
  doc.workload.training.globalBatch = { sequences: layout.globalBatchSequences };
  doc.workload.training.totalTokens = layout.totalTokens;
  doc.twin.days = days;
  return doc;
}

/** A size ready to run: its design, its twin section and the baseline config; or why it cannot run. */
type Prepared =
  | { readonly ok: true; readonly design: TwinDesign; readonly twin: TwinInput; readonly baseline: TwinConfig }
  | { readonly ok: false; readonly refused: string };

/** Builds the design of `layout` and its baseline (the spec's twin section without its mitigation policy). */
function prepare(base: Doc, layout: Layout, days: number): Prepared {
  const valid = validateSpec(docAt(base, layout, days));
  if (!valid.ok) return { ok: false, refused: issuesText(valid.issues) };
  const spec = valid.value;
  const { system, plan } = spec;
  if (!system || !plan || !spec.twin) throw new Error(`${SPEC} names its system, plan and twin settings`);
  const design = designOfPlan(spec.name ?? 'study', spec.workload, system, plan, defaultFacility(spec));
  if (!design.ok) return { ok: false, refused: issuesText(design.issues) };
  const baseline = twinConfig(design.value, withoutMitigation(spec.twin));
  if (!baseline.ok) return { ok: false, refused: issuesText(baseline.issues) };
  const { idealSeconds, windowSeconds } = baseline.value;
  if (windowSeconds === undefined || !(idealSeconds > windowSeconds)) {
    // A replica that trains its tokens before the window's end stops early: its ETTR would be over fewer days.
    throw new Error(
      `${layout.gpus} GPUs trains its tokens in ${(idealSeconds / 86_400).toFixed(1)} days, within the window`,
    );
  }
  return { ok: true, design: design.value, twin: spec.twin, baseline: baseline.value };
}

/** Compares the baseline with `policy` on the same seeds; a refusal (setup or the kernel's event budget) as text. */
function compare(prepared: Prepared & { ok: true }, policy: Doc, replicas: number, seed: number): Outcome {
  const config = twinConfig(prepared.design, { ...prepared.twin, mitigation: policy } as TwinInput);
  if (!config.ok) return { ok: false, refused: issuesText(config.issues) };
  const started = performance.now();
  try {
    const comparison = compareMitigation(prepared.baseline, config.value, { replicas, seed });
    return { ok: true, seconds: (performance.now() - started) / 1000, comparison };
  } catch (error) {
    if (!isEventBudgetError(error)) throw error;
    return { ok: false, refused: `the kernel: ${error.message}` };
  }
}

/** Runs one size: the baseline and each policy on the same seeds and replicas. */
function runSize(
  base: Doc,
  layout: Layout,
  policies: Record<string, Doc>,
  options: { replicas: number; seed: number; days: number },
  log: (line: string) => void,
): SizeResult {
  const prepared = prepare(base, layout, options.days);
  if (!prepared.ok) {
    log(`  refused: ${prepared.refused}`);
    return { layout, refused: prepared.refused, policies: {} };
  }
  const b = prepared.baseline;
  const results: Record<string, Outcome> = {};
  for (const [name, policy] of Object.entries(policies)) {
    const outcome = compare(prepared, policy, options.replicas, options.seed);
    results[name] = outcome;
    log(
      outcome.ok
        ? `  ${name}: ${options.replicas} replicas × 2 configs in ${outcome.seconds.toFixed(1)} s, gain ${signed(outcome.comparison.ettrGain.mean)}`
        : `  ${name}: refused: ${outcome.refused}`,
    );
  }
  return {
    layout,
    design: {
      stepSeconds: prepared.design.estimate.step.seconds,
      idealDays: b.idealSeconds / 86_400,
      checkpointIntervalMinutes: b.checkpoint.intervalSeconds / 60,
      checkpointWriteSeconds: b.checkpoint.writeSeconds,
      mtbfHours: b.mtbfSeconds / 3600,
      meanRecoveryMinutes: b.meanRecoverySeconds / 60,
      spareNodes: b.spares.nodes,
      lemonHosts: Math.round((b.lemons?.fraction ?? 0) * layout.hosts),
      leadPhase: Object.fromEntries(
        Object.entries(policies)
          .filter(([, policy]) => policy.prediction !== undefined)
          .map(([name, policy]) => [
            name,
            leadPhase(policy.prediction.leadMinutes * 60, b.checkpoint.intervalSeconds, b.checkpoint.writeSeconds),
          ]),
      ),
    },
    policies: results,
  };
}

/**
 * Where a prediction's checkpoint falls in the periodic cycle: (lead mod (interval + write)) / (interval + write).
 * Were the periodic timer restarted by it, a failure `lead` later would lose about this share of a cycle's work;
 * the schedule is held instead (Job.checkpointNow), so the gain should not depend on it (the sweep checks).
 */
export function leadPhase(leadSeconds: number, intervalSeconds: number, writeSeconds: number): number {
  const cycle = intervalSeconds + writeSeconds;
  return (leadSeconds % cycle) / cycle;
}

/** One lead of the sweep: prediction alone (the example's recall and precision) at that lead. */
interface SweepRow {
  readonly leadMinutes: number;
  readonly phase: number;
  readonly ettrGain: number;
  readonly lostWork: number;
  readonly checkpoint: number;
  readonly predictedCheckpoints: number;
}

/**
 * The example's prediction alone at leads spread over one checkpoint cycle around its own: how its gain depends on
 * the lead's phase in the cycle, and (their mean) what it buys when the phase is not known.
 */
function leadSweep(
  prepared: Prepared & { ok: true },
  prediction: { recall: number; precision: number; leadMinutes: number },
  replicas: number,
  seed: number,
): SweepRow[] {
  const { intervalSeconds, writeSeconds } = prepared.baseline.checkpoint;
  const leads = leadsOverCycle(prediction.leadMinutes * 60, intervalSeconds + writeSeconds, LEAD_SWEEP_STEPS);
  return leads.map((leadSeconds) => {
    const leadMinutes = leadSeconds / 60;
    const { recall, precision } = prediction;
    const outcome = compare(prepared, { prediction: { recall, precision, leadMinutes } }, replicas, seed);
    if (!outcome.ok) throw new Error(`lead ${leadMinutes.toFixed(2)} min refused: ${outcome.refused}`);
    const c = outcome.comparison;
    return {
      leadMinutes,
      phase: leadPhase(leadMinutes * 60, intervalSeconds, writeSeconds),
      ettrGain: c.ettrGain.mean,
      lostWork: c.ettrGainByCause.lostWork,
      checkpoint: c.ettrGainByCause.checkpoint,
      predictedCheckpoints: c.actions.predictedCheckpoints,
    };
  });
}

/** A signed figure: `0` when exactly zero, `0.00000` when it rounds to zero, else with its sign (− not -). */
const signed = (value: number, digits = 5) => {
  if (value === 0) return '0';
  const text = Math.abs(value).toFixed(digits);
  return Number(text) === 0 ? text : `${value > 0 ? '+' : '−'}${text}`;
};
const fixed = (value: number, digits: number) => value.toFixed(digits);
const count = (value: number) => value.toLocaleString('en-US');

/** The Markdown tables of a study: the runs without a policy, then each policy's gain and its causes. */
export function markdownTables(sizes: readonly SizeResult[], labels: Record<string, string>, replicas: number): string {
  const context = [
    '| GPUs | hosts (DP) | tokens (ideal days) | step | MTBF | checkpoint every | spares | lemons | lead phase | ETTR without P10 / P50 / P90 |',
    '|---:|---:|---:|---:|---:|---:|---:|---:|---|---|',
  ];
  const gains = [
    '| GPUs | policy | ETTR without | ETTR with | gain (mean ± s.e.) | gain P10 / P50 / P90 | lost work | detection | restart | checkpoint | maintenance | spares | predicted ckpts / false alarms / excluded / drains |',
    '|---:|---|---:|---:|---:|---|---:|---:|---:|---:|---:|---:|---|',
  ];
  for (const size of sizes) {
    const { layout, design } = size;
    const first = Object.values(size.policies).find((o) => o.ok);
    if (!design || size.refused) {
      context.push(`| ${count(layout.gpus)} | refused: ${size.refused} | | | | | | | | |`);
      continue;
    }
    const w = first?.ok ? first.comparison.without.ettr : undefined;
    context.push(
      `| ${count(layout.gpus)} | ${count(layout.hosts)} (${layout.dp}) | ${fixed(layout.totalTokens / 1e12, 2)}T (${fixed(design.idealDays, 0)}) | ${fixed(design.stepSeconds, 2)} s | ${fixed(design.mtbfHours, 2)} h | ${fixed(design.checkpointIntervalMinutes, 1)} min | ${design.spareNodes} | ${design.lemonHosts} | ${Object.entries(
        design.leadPhase,
      )
        .map(([name, phase]) => `${labels[name] ?? name} ${fixed(phase, 2)}`)
        .join(', ')} | ${w ? `${fixed(w.p10, 4)} / ${fixed(w.p50, 4)} / ${fixed(w.p90, 4)}` : ''} |`,
    );
    for (const [name, outcome] of Object.entries(size.policies)) {
      if (!outcome.ok) {
        gains.push(
          `| ${count(layout.gpus)} | ${labels[name] ?? name} | refused: ${outcome.refused} | | | | | | | | | | |`,
        );
        continue;
      }
      const c = outcome.comparison;
      const g = c.ettrGain;
      const se = approxStandardError(g.p10, g.p90, replicas);
      const causes = ETTR_CAUSES.map((cause) => signed(c.ettrGainByCause[cause]));
      const a = c.actions;
      gains.push(
        `| ${count(layout.gpus)} | ${labels[name] ?? name} | ${fixed(c.without.ettr.mean, 5)} | ${fixed(c.with.ettr.mean, 5)} | ${signed(g.mean)} ± ${fixed(se, 5)} | ${signed(g.p10)} / ${signed(g.p50)} / ${signed(g.p90)} | ${causes.join(' | ')} | ${fixed(a.predictedCheckpoints, 1)} / ${fixed(a.falseAlarms, 1)} / ${fixed(a.excluded, 1)} / ${fixed(a.drains, 1)} |`,
      );
    }
  }
  return `${context.join('\n')}\n\n${gains.join('\n')}\n`;
}

/** The mean of the sweep's rows: prediction with its phase in the checkpoint cycle uniform. */
export function sweepMean(rows: readonly SweepRow[]): Omit<SweepRow, 'leadMinutes' | 'phase'> {
  const mean = (read: (r: SweepRow) => number) => rows.reduce((sum, r) => sum + read(r), 0) / rows.length;
  return {
    ettrGain: mean((r) => r.ettrGain),
    lostWork: mean((r) => r.lostWork),
    checkpoint: mean((r) => r.checkpoint),
    predictedCheckpoints: mean((r) => r.predictedCheckpoints),
  };
}

/** The sweep's table: the example's prediction alone at leads over one cycle around its own, and their mean. */
export function sweepTable(rows: readonly SweepRow[]): string {
  const m = sweepMean(rows);
  return [
    '| lead | phase in the checkpoint cycle | gain | lost work | checkpoint | predicted ckpts |',
    '|---:|---:|---:|---:|---:|---:|',
    ...rows.map(
      (r) =>
        `| ${fixed(r.leadMinutes, 2)} min | ${fixed(r.phase, 3)} | ${signed(r.ettrGain)} | ${signed(r.lostWork)} | ${signed(r.checkpoint)} | ${fixed(r.predictedCheckpoints, 1)} |`,
    ),
    `| mean (phase uniform) | | ${signed(m.ettrGain)} | ${signed(m.lostWork)} | ${signed(m.checkpoint)} | ${fixed(m.predictedCheckpoints, 1)} |`,
  ].join('\n');
}

/** A positive integer option. */
function positiveInteger(name: string, text: string): number {
  const value = Number(text);
  if (!Number.isInteger(value) || value < 1) throw new RangeError(`--${name}: a positive integer, got ${text}`);
  return value;
}

/** Runs the study from the command line. */
async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      replicas: { type: 'string', default: '500' },
      seed: { type: 'string', default: '1' },
      days: { type: 'string', default: '54' },
      gpus: { type: 'string', default: DEFAULT_GPUS.join(',') },
      'sweep-gpus': { type: 'string', default: '16384' },
      'sweep-replicas': { type: 'string', default: '100' },
      out: { type: 'string', default: 'docs/results/mitigation-study.json' },
    },
  });
  const replicas = positiveInteger('replicas', values.replicas);
  const sweepReplicas = positiveInteger('sweep-replicas', values['sweep-replicas']);
  const seed = Number(values.seed);
  const days = Number(values.days);
  if (!Number.isInteger(seed) || seed < -(2 ** 31) || seed >= 2 ** 31) {
    throw new RangeError(`--seed: an integer from −2^31 to 2^31 − 1, got ${values.seed}`);
  }
  if (!(days > 0)) throw new RangeError(`--days: a positive number, got ${values.days}`);
  const out = resolve(ROOT, values.out);

  const base = parse(readFileSync(join(ROOT, SPEC), 'utf8')) as Doc;
  const resolved = validateSpec(base);
  if (!resolved.ok || !resolved.value.plan)
    throw new Error(`${SPEC}: ${resolved.ok ? 'no plan' : issuesText(resolved.issues)}`);
  const rule: LayoutRule = {
    tp: resolved.value.plan.tp,
    pp: resolved.value.plan.pp,
    cp: resolved.value.plan.cp,
    gpusPerNode: base.system.gpusPerNode,
    sequencesPerReplica: SEQUENCES_PER_REPLICA,
    tokensPerReplica: resolved.value.workload.training.totalTokens / resolved.value.plan.dp,
  };
  const layouts = parseGpuList(values.gpus).map((gpus) => layoutAt(gpus, rule));
  const sweepLayout = layoutAt(positiveInteger('sweep-gpus', values['sweep-gpus']), rule);
  const example = base.twin.mitigation as Doc;
  const policies: Record<string, Doc> = {
    example,
    detectors: DETECTOR_POLICY,
    lemonsOnly: { lemons: example.lemons },
  };
  const labels = { example: 'example', detectors: 'our detectors', lemonsOnly: 'lemon exclusion alone' };

  const log = (line: string) => process.stderr.write(`${line}\n`);
  const started = performance.now();
  const sizes: SizeResult[] = [];
  for (const [i, layout] of layouts.entries()) {
    log(
      `[${i + 1}/${layouts.length}] ${count(layout.gpus)} GPUs (DP ${layout.dp}), ${days} days, ${replicas} replicas`,
    );
    sizes.push(runSize(base, layout, policies, { replicas, seed, days }, log));
  }
  log(`lead sweep: ${count(sweepLayout.gpus)} GPUs, ${LEAD_SWEEP_STEPS} leads, ${sweepReplicas} replicas`);
  const prepared = prepare(base, sweepLayout, days);
  if (!prepared.ok) throw new Error(`the sweep's size is refused: ${prepared.refused}`);
  const sweep = leadSweep(prepared, example.prediction, sweepReplicas, seed);
  const seconds = (performance.now() - started) / 1000;
  log(`done in ${seconds.toFixed(1)} s`);

  const flags = [
    `--replicas ${replicas} --seed ${seed} --days ${days} --gpus ${layouts.map((l) => l.gpus).join(',')}`,
    `--sweep-gpus ${sweepLayout.gpus} --sweep-replicas ${sweepReplicas}`,
  ].join(' ');
  const result = {
    generatedBy: `npx tsx scripts/mitigation-study.ts ${flags}`,
    spec: SPEC,
    replicas,
    seed,
    days,
    scaling: `TP ${rule.tp}, PP ${rule.pp}, CP ${rule.cp}; DP = GPUs / ${rule.tp * rule.pp * rule.cp}; global batch ${SEQUENCES_PER_REPLICA} sequences and ${rule.tokensPerReplica / 1e9}B tokens to train per DP replica (the spec's over its DP, so no size trains them within the window); the spec's twin settings otherwise (its lemons and checkpoint storage); a fixed window of ${days} days`,
    policies,
    standardError: 'approximate: (P90 − P10) / 2.563 / √replicas of the paired gain',
    sizes: sizes.map((size) => ({
      ...size.layout,
      ...(size.refused !== undefined && { refused: size.refused }),
      ...(size.design && { design: size.design }),
      policies: Object.fromEntries(
        Object.entries(size.policies).map(([name, o]) => [
          name,
          o.ok
            ? {
                ...o.comparison,
                ettrGainStandardError: approxStandardError(
                  o.comparison.ettrGain.p10,
                  o.comparison.ettrGain.p90,
                  replicas,
                ),
              }
            : { refused: o.refused },
        ]),
      ),
    })),
    leadSweep: {
      gpus: sweepLayout.gpus,
      replicas: sweepReplicas,
      prediction: { recall: example.prediction.recall, precision: example.prediction.precision },
      checkpointIntervalSeconds: prepared.baseline.checkpoint.intervalSeconds,
      checkpointWriteSeconds: prepared.baseline.checkpoint.writeSeconds,
      rows: sweep,
      mean: sweepMean(sweep),
    },
  };
  await mkdir(dirname(out), { recursive: true });
  await writeFileAtomic(out, `${JSON.stringify(result, null, 2)}\n`);
  log(`wrote ${relative(ROOT, out)}`);
  process.stdout.write(
    [
      `Llama 3 405B (${SPEC}), ${days} days, ${replicas} replicas, seed ${seed}`,
      '',
      markdownTables(sizes, labels, replicas),
      `Prediction alone (recall ${example.prediction.recall}, precision ${example.prediction.precision}) at ${count(sweepLayout.gpus)} GPUs, ${sweepReplicas} replicas, checkpoint every ${fixed(prepared.baseline.checkpoint.intervalSeconds, 1)} s + ${fixed(prepared.baseline.checkpoint.writeSeconds, 2)} s write:`,
      '',
      sweepTable(sweep),
      '',
    ].join('\n'),
  );
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(resolve(process.argv[1])).href) {
  await main();
}
