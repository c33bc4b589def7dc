/**
 * Validation against published runs: predicts every row, compares what the row measured (tokens/s/GPU, else step
 * time, else model TFLOP/s/GPU converted from the row's basis), and summarises the errors by group; where a row
 * states its peak memory per GPU, compares the modelled memory of the busiest GPU with it.
 * @module
 */

import { type EstimateOptions, type EstimateResult, estimate } from '../perf/estimate.js';
import { flopsPerToken } from '../perf/model-size.js';
import { offloadInstead } from '../perf/offload.js';
import { fromZodIssues, shorten } from '../spec/issues.js';
import type { ResolvedPlan } from '../spec/resolve.js';
import { type MemoryOption, type PublishedRun, PublishedRunSchema, scenarioFromRun } from './runs.js';

/** What a row measured and is compared on. */
export type Metric = 'tokens_per_sec_per_gpu' | 'step_time_s' | 'model_tflops_per_gpu';

/** One predicted row. */
export interface ValidationRow {
  readonly id: string;
  /** The set (runs file) the row comes from. */
  readonly set: string;
  readonly source: string;
  /** The software stack as the row names it ("Megatron-Core r0.8.0", "Composer + PyTorch FSDP (llm-foundry)"). */
  readonly framework: string;
  /** The stack profile the framework maps to (src/catalog/stacks.ts); `stackMapped` false when none matched. */
  readonly stack: string;
  readonly stackMapped: boolean;
  readonly model: string;
  readonly gpu: string;
  readonly gpus: number;
  readonly arch: 'dense' | 'moe';
  readonly precision: string;
  readonly metric: Metric;
  readonly measured: number;
  readonly predicted: number;
  /** predicted / measured − 1. */
  readonly error: number;
  readonly absPctError: number;
  /** Fields the row left unknown, filled with framework defaults (empty: fully specified). */
  readonly filled: readonly string[];
  readonly mfu: number;
  readonly memoryGiB: number;
  /** The row's stated peak memory per GPU against the model's, where the row states it. */
  readonly peakMemory?: PeakMemory;
}

/** Peak memory per GPU: what the row states, what the model gives for the busiest GPU, predicted / stated − 1. */
export interface PeakMemory {
  readonly statedGiB: number;
  readonly predictedGiB: number;
  readonly error: number;
}

/** A row the model could not predict, and why. */
export interface SkippedRow {
  readonly id: string;
  /** The set (runs file) the row comes from. */
  readonly set?: string;
  readonly model: string;
  readonly reason: string;
  /** `unsupported`: the model cannot express the row; `infeasible`: it predicts the run cannot happen. */
  readonly kind: 'unsupported' | 'infeasible' | 'invalid';
  /** For a row predicted out of memory that states its peak memory: the stated and the modelled memory. */
  readonly peakMemory?: PeakMemory;
}

/** Error statistics of a set of rows, in percent. */
export interface ErrorSummary {
  readonly rows: number;
  readonly medianPct: number;
  readonly meanPct: number;
  readonly p90Pct: number;
}

/** The whole validation. */
export interface ValidationReport {
  readonly rows: readonly ValidationRow[];
  readonly skipped: readonly SkippedRow[];
  readonly summary: ErrorSummary;
  readonly groups: Readonly<
    Record<
      'set' | 'framework' | 'stack' | 'source' | 'gpu' | 'arch' | 'precision' | 'specified',
      Readonly<Record<string, ErrorSummary>>
    >
  >;
  readonly worst: readonly ValidationRow[];
  /**
   * Error of the modelled peak memory per GPU on the rows that state theirs (predicted rows and rows predicted out
   * of memory alike); absent when no row states it.
   */
  readonly peakMemory?: ErrorSummary;
}

/**
 * The peak memory per GPU a row states, GiB: torchtitan's notes say "Peak memory 82.4 GiB" (the maximum over GPUs,
 * torchtitan benchmarks/llama3_h100_202412_torchtitan.md footnote 1); "GB" is read as 10^9 bytes.
 */
export function statedPeakMemoryGiB(run: Pick<PublishedRun, 'notes'>): number | undefined {
  const match = /peak memory\s*(?:of\s*)?(\d+(?:\.\d+)?)\s*(GiB|GB)\b/i.exec(run.notes ?? '');
  if (!match) return undefined;
  const value = Number(match[1]);
  return match[2]?.toLowerCase() === 'gib' ? value : (value * 1e9) / 2 ** 30;
}

function peakMemoryOf(run: PublishedRun, predictedBytes: number | undefined): { peakMemory?: PeakMemory } {
  const statedGiB = statedPeakMemoryGiB(run);
  if (statedGiB === undefined || predictedBytes === undefined) return {};
  const predictedGiB = predictedBytes / 2 ** 30;
  return { peakMemory: { statedGiB, predictedGiB, error: predictedGiB / statedGiB - 1 } };
}

/** Statistics of absolute percentage errors. */
export function summarize(errors: readonly number[]): ErrorSummary {
  const sorted = errors.map((e) => Math.abs(e) * 100).sort((a, b) => a - b);
  const n = sorted.length;
  if (n === 0) return { rows: 0, medianPct: Number.NaN, meanPct: Number.NaN, p90Pct: Number.NaN };
  const quantile = (q: number) => {
    // Linear interpolation between closest ranks (Hyndman and Fan type 7, numpy's default).
    const position = (n - 1) * q;
    const lower = Math.floor(position);
    const upper = Math.ceil(position);
    return (sorted[lower] ?? 0) + ((sorted[upper] ?? 0) - (sorted[lower] ?? 0)) * (position - lower);
  };
  return { rows: n, medianPct: quantile(0.5), meanPct: sorted.reduce((a, b) => a + b, 0) / n, p90Pct: quantile(0.9) };
}

const HFU_LIKE = /includes activation-recompute|incl\. recompute|HFU-like/i;

function shortSource(source: string): string {
  return source
    .replace(/\s*\(.*$/, '')
    .replace(/\s+(Table|Fig\.?).*$/i, '')
    .trim();
}

/** One set of published runs: a name and the parsed content of its file (an array of rows). */
export interface RunSet {
  readonly name: string;
  readonly data: unknown;
}

/** Parses and predicts every row of a published-runs file (already parsed from JSON). */
export function validateRuns(data: unknown, options: EstimateOptions = {}, set = 'runs'): ValidationReport {
  return validateSets([{ name: set, data }], options);
}

/** Predicts every row of several sets and reports them together, with a summary per set and per framework. */
export function validateSets(sets: readonly RunSet[], options: EstimateOptions = {}): ValidationReport {
  const rows: ValidationRow[] = [];
  const skipped: SkippedRow[] = [];
  for (const set of sets) predictSet(set, options, rows, skipped);
  const memoryErrors = [...rows, ...skipped].flatMap((row) => (row.peakMemory ? [row.peakMemory.error] : []));
  const group = (key: (row: ValidationRow) => string) => {
    const buckets = new Map<string, number[]>();
    for (const row of rows) {
      const k = key(row);
      buckets.set(k, [...(buckets.get(k) ?? []), row.error]);
    }
    return Object.fromEntries(
      [...buckets.entries()].sort(([a], [b]) => a.localeCompare(b)).map(([k, v]) => [k, summarize(v)]),
    );
  };
  return {
    rows,
    skipped,
    summary: summarize(rows.map((r) => r.error)),
    groups: {
      set: group((r) => r.set),
      framework: group((r) => r.framework),
      stack: group((r) => r.stack),
      source: group((r) => shortSource(r.source)),
      gpu: group((r) => r.gpu),
      arch: group((r) => r.arch),
      precision: group((r) => r.precision),
      specified: group((r) => (r.filled.length === 0 ? 'fully specified' : 'defaults filled')),
    },
    worst: [...rows].sort((a, b) => b.absPctError - a.absPctError).slice(0, 10),
    ...(memoryErrors.length > 0 && { peakMemory: summarize(memoryErrors) }),
  };
}

function predictSet(set: RunSet, options: EstimateOptions, rows: ValidationRow[], skipped: SkippedRow[]): void {
  const list = Array.isArray(set.data) ? set.data : [];
  list.forEach((raw, index) => {
    const parsed = PublishedRunSchema.safeParse(raw, { reportInput: true });
    if (!parsed.success) {
      const rawId = (raw as { id?: unknown })?.id;
      const id = typeof rawId === 'string' ? shorten(rawId) : `row ${index}`;
      // The same messages as a spec's: the field, what was found and what would be valid.
      const issue = fromZodIssues(parsed.error.issues)[0];
      skipped.push({
        id,
        set: set.name,
        model: '',
        kind: 'invalid',
        reason: issue ? `${issue.path}: ${issue.message}` : 'invalid row',
      });
      return;
    }
    const row = predictRun(parsed.data, options, set.name);
    if ('reason' in row) skipped.push({ ...row, set: set.name });
    else rows.push(row);
  });
}

/** What a memory option fills, e.g. "recompute=full (4 layers per chunk), lowPrecisionWeights=true (FP8 weights)". */
function memoryOptionText(option: MemoryOption, statedRecomputation: ResolvedPlan['recomputation'] | undefined) {
  const parts: string[] = [];
  if (option.activationOffloadLayers) {
    parts.push(`activationOffloadLayers=${option.activationOffloadLayers} (activations in host memory)`);
  } else if (statedRecomputation === undefined || option.recomputation !== statedRecomputation) {
    const layers = option.recomputeLayers === undefined ? '' : ` (${option.recomputeLayers} layers per chunk)`;
    parts.push(`recompute=${option.recomputation}${layers}`);
  }
  if (option.lowPrecisionWeights) parts.push('lowPrecisionWeights=true (FP8 weights)');
  return parts.join(', ');
}

/** Predicts one row, or says why it cannot be predicted. */
export function predictRun(
  run: PublishedRun,
  options: EstimateOptions = {},
  set = 'runs',
  planPatch: Partial<ResolvedPlan> = {},
): ValidationRow | SkippedRow {
  const translated = scenarioFromRun(run);
  if (!translated.ok) return { id: run.id, model: run.model_name, kind: 'unsupported', reason: translated.reason };
  // A patch (scripts/fit-stack-efficiency.ts tries GEMM efficiencies) applies over the row's plan.
  const scenario = { ...translated, spec: { ...translated.spec, plan: { ...translated.spec.plan, ...planPatch } } };
  const { workload, system } = scenario.spec;
  // Take the first memory option with which the run fits (the row ran, so one of them did).
  const plan = scenario.spec.plan;
  const first = estimate(workload, system, { ...plan, ...scenario.memoryOptions[0] }, options);
  const filled = [...scenario.filled];
  const outOfMemory = (r: EstimateResult) => !r.ok && r.issues.every((issue) => issue.code === 'out_of_memory');
  // The first later option that fits, with the text of what it fills.
  let result = first;
  let text = '';
  for (const option of scenario.memoryOptions.slice(1)) {
    if (!outOfMemory(result)) break;
    result = estimate(workload, system, { ...plan, ...option }, options);
    if (result.ok) text = memoryOptionText(option, run.recompute ? plan.recomputation : undefined);
  }
  if (outOfMemory(first) && scenario.offload) {
    // Activation offload instead of recomputation, the fewest layers that fit, where it is faster than what was found.
    const offloaded = offloadInstead(
      workload.model.layers,
      scenario.offload.lowPrecisionWeights,
      (activationOffloadLayers, lowPrecisionWeights) => {
        const option: MemoryOption = { recomputation: 'none', lowPrecisionWeights, activationOffloadLayers };
        return { plan: option, result: estimate(workload, system, { ...plan, ...option }, options) };
      },
      result,
    );
    if (offloaded) {
      const offloadText = memoryOptionText(offloaded.plan, undefined);
      text = result.ok ? `${offloadText}, faster than ${text}` : offloadText;
      result = offloaded.result;
    }
  }
  if (result.ok && text) filled.push(`${text}: least that fits`);
  if (!result.ok) {
    return {
      id: run.id,
      model: run.model_name,
      kind: 'infeasible',
      reason: result.issues.map((i) => i.message).join('; '),
      ...peakMemoryOf(run, result.memory?.reported ?? result.memory?.total),
    };
  }
  let metric: Metric;
  let measured: number;
  let predicted: number;
  if (run.tokens_per_sec_per_gpu) {
    metric = 'tokens_per_sec_per_gpu';
    measured = run.tokens_per_sec_per_gpu;
    predicted = result.tokensPerSecondPerGpu;
  } else if (run.step_time_s) {
    metric = 'step_time_s';
    measured = run.step_time_s;
    predicted = result.step.seconds;
  } else if (run.tflops_per_gpu) {
    metric = 'model_tflops_per_gpu';
    // Megatron 2021's formula counts the recomputed forward too (4 passes for 3): model FLOPs are 3/4 of it.
    measured = run.tflops_per_gpu * (HFU_LIKE.test(run.tflops_basis ?? '') ? 3 / 4 : 1);
    predicted =
      (result.tokensPerSecondPerGpu * flopsPerToken(workload.model, workload.training.sequenceLength).total) / 1e12;
  } else {
    return {
      id: run.id,
      model: run.model_name,
      kind: 'unsupported',
      reason: 'the row measured no throughput, step time or TFLOP/s',
    };
  }
  const error = predicted / measured - 1;
  return {
    id: run.id,
    set,
    source: run.source,
    framework: run.framework ?? 'not stated',
    stack: scenario.stack,
    stackMapped: scenario.stackMapped,
    model: run.model_name,
    gpu: system.accelerator.id ?? system.accelerator.name,
    gpus: system.gpuCount,
    arch: workload.model.moe ? 'moe' : 'dense',
    precision: workload.training.precision,
    metric,
    measured,
    predicted,
    error,
    absPctError: Math.abs(error) * 100,
    filled,
    mfu: result.mfu,
    memoryGiB: result.memory.total / 2 ** 30,
    ...peakMemoryOf(run, result.memory.reported ?? result.memory.total),
  };
}
