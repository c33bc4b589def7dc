/**
 * The report of `tokenworks check`: the size of the job (parameters, FLOPs per token, weight memory, steps, total
 * compute) and of the system, plan, facility and constraints, as aligned pairs.
 * @module
 */
import type { SpecSummary } from '../perf/summary.js';
import type { ResolvedSpec } from '../spec/resolve.js';
import { formatBytes, formatCount, formatDuration, formatFlops, formatInteger, significant } from './format.js';
import { renderPairs } from './table.js';

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
            `sharding ${plan.sharding}, recomputation ${plan.recomputation}, sequence parallel ${plan.sequenceParallel ? 'on' : 'off'}${plan.activationOffloadLayers ? `, ${plan.activationOffloadLayers} layers' activations offloaded to host memory` : ''}`,
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
