/**
 * `tokenworks check <spec>`: loads and validates a spec and prints the size of its job (parameters, FLOPs per
 * token, weight memory, steps, total compute, and the lower bound on time at 100% of peak).
 * @module
 */
import type { Command } from '@commander-js/extra-typings';
import { systemPreset } from '../../catalog/systems.js';
import { TokenworksError } from '../../errors.js';
import { loadSpecFile } from '../../node/files.js';
import { createOutput, type OutputStreams } from '../../node/output.js';
import { estimate } from '../../perf/estimate.js';
import { type SpecSummary, summarizeSpec } from '../../perf/summary.js';
import { missedConstraints } from '../../plan/design.js';
import { designFactory, fabricRadix } from '../../plan/factory.js';
import { MAX_FABRIC_TIERS, maxFabricGpus } from '../../plan/network.js';
import {
  formatBytes,
  formatCount,
  formatDuration,
  formatFlops,
  formatInteger,
  significant,
} from '../../report/format.js';
import { renderPairs } from '../../report/table.js';
import type { SpecIssue } from '../../spec/issues.js';
import { type ResolvedSpec, resolveFacility } from '../../spec/resolve.js';

/** Adds the `check` command to `program`. */
export function registerCheck(program: Command, streams: OutputStreams): void {
  program
    .command('check')
    .description('validate a spec (YAML or JSON) and print the size of its job')
    .argument('<spec>', 'spec file, e.g. examples/llama3-70b.yaml')
    .option('--json', 'print the resolved spec and the summary as JSON')
    .action(async (file, options, command) => {
      const globals = command.optsWithGlobals() as { quiet?: boolean };
      const output = createOutput(streams, { json: options.json ?? false, quiet: globals.quiet ?? false });
      const spec = await loadSpecFile(file);
      const summary = summarizeSpec(spec);
      const verdict = checkFeasibility(spec);
      if (verdict.issues.length > 0) {
        // The spec is well formed but what it describes cannot run: an answer, with exit code 2.
        if (output.json)
          output.result('', { file, valid: true, feasible: false, issues: verdict.issues, spec, summary });
        throw new TokenworksError('SPEC_INVALID', `${file}: valid spec, plan infeasible`, {
          file,
          issues: verdict.issues.map((issue) => ({
            ...issue,
            message: `valid spec, plan infeasible: ${issue.message}`,
          })),
        });
      }
      for (const warning of verdict.warnings) output.warn(`${file}: ${warning.path}: ${warning.message}`);
      output.result(renderCheck(file, spec, summary), {
        file,
        valid: true,
        feasible: true,
        warnings: verdict.warnings,
        spec,
        summary,
      });
    });
}

/** What `check` finds beyond the schema: a fabric beyond the modelled, an infeasible plan, missed constraints. */
export interface Feasibility {
  /** Problems that stop the spec's plan from running (exit 2). */
  readonly issues: SpecIssue[];
  /** Constraints the plan misses: the spec is runnable, but not within its limits. */
  readonly warnings: SpecIssue[];
}

/** Runs what `estimate` and `plan` would check first: the fabric's reach, the plan's layout and memory, the limits. */
export function checkFeasibility(spec: ResolvedSpec): Feasibility {
  const issues: SpecIssue[] = [];
  const warnings: SpecIssue[] = [];
  const system = spec.system;
  if (!system) return { issues, warnings };
  const radix = fabricRadix(system);
  const reach = maxFabricGpus({
    gpusPerNode: system.gpusPerNode,
    radix,
    oversubscription: system.scaleOut.oversubscription,
  });
  if (system.gpuCount > reach) {
    issues.push({
      code: 'too_big',
      path: 'system.gpuCount',
      value: system.gpuCount,
      message: `${system.gpuCount.toLocaleString('en-US')} GPUs is beyond the largest fabric modelled: ${MAX_FABRIC_TIERS} tiers of ${radix}-port switches with ${system.gpusPerNode} rails reach ${reach.toLocaleString('en-US')} GPUs; use at most that many, or switches with more ports (system.scaleOut.switchRadix or fabric)`,
    });
    return { issues, warnings };
  }
  const plan = spec.plan;
  if (!plan) return { issues, warnings };
  const result = estimate(spec.workload, system, plan);
  if (!result.ok) {
    issues.push(...result.issues.map((issue) => ({ code: issue.code, path: issue.path, message: issue.message })));
    return { issues, warnings };
  }
  if (spec.constraints && Object.keys(spec.constraints).length > 0) {
    const facility =
      spec.facility ??
      resolveFacility({ cooling: systemPreset(system.accelerator.id)?.rack ? 'direct-liquid' : 'air' });
    const factory = designFactory(spec.workload, system, facility, result, plan);
    if (factory.ok) {
      for (const missed of missedConstraints({ gpus: system.gpuCount, factory }, spec.constraints)) {
        warnings.push({ code: 'constraint', path: `constraints.${missed.constraint}`, message: missed.message });
      }
    }
  }
  return { issues, warnings };
}

/** Renders the human-readable report of `check`. */
export function renderCheck(file: string, spec: ResolvedSpec, summary: SpecSummary): string {
  const { model, training } = spec.workload;
  const p = summary.parameters;
  const sections: string[] = [`${file}: valid${spec.name ? ` (${spec.name})` : ''}`, ''];

  const attention = model.mla
    ? `MLA (${model.heads} heads, KV rank ${model.mla.kvLoraRank})`
    : `${model.heads} heads (${model.kvHeads} KV, head dim ${model.headDim})`;
  const mlp = model.moe
    ? `MoE ${model.moe.experts} experts top-${model.moe.topK}${model.moe.sharedExperts ? ` + ${model.moe.sharedExperts} shared` : ''}, expert FFN ${model.moe.expertFfnHiddenSize}, ${p.moeLayers} MoE + ${p.denseLayers} dense layers (FFN ${model.ffnHiddenSize})`
    : `${model.gatedMlp ? 'gated' : 'plain'} MLP ${model.ffnHiddenSize}`;
  const published = summary.published;
  const totalVsPublished = published
    ? ` (published ${formatCount(published.total)}, ${percent(p.total, published.total)})`
    : '';
  const workloadPairs: [string, string][] = [
    ['model', `${model.name}${spec.workload.modelId ? ` (catalog: ${spec.workload.modelId})` : ''}`],
    [
      'architecture',
      `${model.layers} layers, hidden ${model.hiddenSize}, ${attention}, ${mlp}, vocab ${model.vocabSize}`,
    ],
    ['parameters', `${formatCount(p.total)} total${totalVsPublished}`],
  ];
  if (model.moe) {
    const activeVsPublished =
      published?.active !== undefined
        ? ` (published ${formatCount(published.active)} counts ${published.activeConvention === 'matmul' ? 'matmul' : 'all touched'} parameters)`
        : '';
    workloadPairs.push([
      'active per token',
      `${formatCount(p.active)} touched, ${formatCount(p.activeMatmul)} in matmuls${activeVsPublished}`,
    ]);
  }
  workloadPairs.push(
    [
      'FLOPs per token',
      `${formatFlops(summary.flopsPerToken.total)} (6N ${formatFlops(summary.flopsPerToken.dense)} + attention ${formatFlops(summary.flopsPerToken.attention)} at sequence ${training.sequenceLength})`,
    ],
    ['weights (bf16)', formatBytes(summary.weightBytes)],
    ['weights + grads + Adam', `${formatBytes(summary.trainingStateBytes)} (16 B/param before sharding)`],
    [
      'training',
      `${formatCount(training.totalTokens)} tokens, batch ${formatInteger(training.globalBatchSequences)} × ${training.sequenceLength} = ${formatCount(training.globalBatchTokens)} tokens, ${formatInteger(summary.optimizerSteps)} steps, ${training.precision}, ${training.optimizer}`,
    ],
    ['training compute', `${summary.trainingFlops.toExponential(3)} FLOP (model FLOPs)`],
  );
  sections.push('Workload', renderPairs(workloadPairs, '  '));

  const system = spec.system;
  if (system && summary.system) {
    const out = system.scaleOut;
    const fabric = [
      `${formatInteger(out.nicBandwidthGbps)} Gb/s per GPU`,
      out.fabricId,
      out.topology,
      out.tiers !== undefined ? `${out.tiers} tier${out.tiers === 1 ? '' : 's'}` : undefined,
      out.oversubscription > 1 ? `${out.oversubscription}:1 oversubscribed` : undefined,
    ].filter(Boolean);
    sections.push(
      '',
      'System',
      renderPairs(
        [
          [
            'accelerators',
            `${formatInteger(system.gpuCount)} × ${system.accelerator.name} (${formatInteger(system.nodes)} nodes × ${system.gpusPerNode})`,
          ],
          [
            'scale-up',
            `domains of ${system.scaleUp.domainSize} GPUs at ${formatInteger(system.scaleUp.bandwidthGBps)} GB/s per GPU per direction`,
          ],
          ['scale-out', fabric.join(', ')],
          ['HBM', `${formatBytes(summary.system.hbmBytes)} in all (${system.accelerator.hbmGiB} GiB per GPU)`],
          ['dense peak', `${formatFlops(summary.system.peakFlopsPerSecond, true)} ${training.precision}`],
          [
            'time at 100% of peak',
            `${formatDuration(summary.system.lowerBoundSeconds)} (a lower bound, not an estimate)`,
          ],
        ],
        '  ',
      ),
    );
  }
  const plan = spec.plan;
  if (plan) {
    const degrees = `TP ${plan.tp} · PP ${plan.pp}${plan.virtualStages > 1 ? ` (×${plan.virtualStages} virtual)` : ''} · DP ${plan.dp} · CP ${plan.cp} · EP ${plan.ep}`;
    sections.push(
      '',
      'Plan',
      renderPairs(
        [
          ['parallelism', `${degrees} = ${formatInteger(plan.tp * plan.pp * plan.dp * plan.cp)} GPUs`],
          [
            'memory',
            `sharding ${plan.sharding}, recomputation ${plan.recomputation}, sequence parallel ${plan.sequenceParallel ? 'on' : 'off'}`,
          ],
          ['micro-batch', `${plan.microBatch} sequence${plan.microBatch === 1 ? '' : 's'}`],
        ],
        '  ',
      ),
    );
  }
  const facility = spec.facility;
  if (facility) {
    sections.push(
      '',
      'Facility',
      renderPairs(
        [
          [
            'cooling',
            `${facility.cooling}, PUE ${significant(facility.pue)}, racks up to ${facility.rackPowerLimitKW} kW`,
          ],
          ['electricity', `${facility.electricityPriceUSDPerKWh} USD/kWh`],
        ],
        '  ',
      ),
    );
  }
  const constraints = spec.constraints;
  if (constraints && Object.keys(constraints).length > 0) {
    const items = [
      constraints.maxGpus !== undefined ? `at most ${formatInteger(constraints.maxGpus)} GPUs` : undefined,
      constraints.deadlineDays !== undefined ? `within ${constraints.deadlineDays} days` : undefined,
      constraints.powerCapMW !== undefined ? `under ${constraints.powerCapMW} MW` : undefined,
      constraints.budgetUSD !== undefined ? `budget ${formatCount(constraints.budgetUSD)} USD` : undefined,
    ].filter(Boolean);
    sections.push('', 'Constraints', `  ${items.join(', ')}`);
  }
  return sections.join('\n');
}

function percent(value: number, reference: number): string {
  const delta = ((value - reference) / reference) * 100;
  return `${delta >= 0 ? '+' : ''}${delta.toFixed(2)}%`;
}
