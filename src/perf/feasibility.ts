/**
 * Whether a plan can be laid out at all (degrees, divisibility, GPU count, layers per chunk, batch split, experts,
 * context chunks), and the out-of-memory reason. Every reason is plain data with a code, the field at fault and
 * a message; {@link estimate} returns them instead of throwing.
 * @module
 */
import { DEFAULT_STACK, STACKS } from '../catalog/stacks.js';
import type { ResolvedPlan, ResolvedSystem, ResolvedWorkload } from '../spec/resolve.js';
import type { MemoryBreakdown } from './memory.js';

/** Why a plan cannot run. */
export interface Infeasibility {
  readonly code:
    | 'invalid_degree'
    | 'tp_divides_heads'
    | 'gpu_count'
    | 'pipeline_layers'
    | 'global_batch'
    | 'expert_parallel'
    | 'context_parallel'
    | 'activation_offload'
    | 'out_of_memory';
  /** The plan or spec field at fault. */
  readonly path: string;
  readonly message: string;
}

/**
 * Checks that the plan can be laid out at all. A degree or micro-batch that is not a positive integer is reported
 * alone (`invalid_degree`), since the other checks would divide by it; the rest are all reported.
 */
export function checkPlan(workload: ResolvedWorkload, system: ResolvedSystem, plan: ResolvedPlan): Infeasibility[] {
  const { model, training } = workload;
  const issues: Infeasibility[] = [];
  for (const field of ['tp', 'pp', 'dp', 'cp', 'ep', 'virtualStages', 'microBatch'] as const) {
    if (!Number.isInteger(plan[field]) || plan[field] < 1) {
      return [
        {
          code: 'invalid_degree',
          path: `plan.${field}`,
          message: `${field} must be a positive integer, got ${plan[field]}`,
        },
      ];
    }
  }
  const kvHeads = model.mla ? model.heads : model.kvHeads;
  if (model.heads % plan.tp !== 0 || (kvHeads % plan.tp !== 0 && plan.tp % kvHeads !== 0)) {
    issues.push({
      code: 'tp_divides_heads',
      path: 'plan.tp',
      message: `tp ${plan.tp} must divide the ${model.heads} attention heads and the ${kvHeads} key/value heads (or be a multiple of them)`,
    });
  }
  const used = plan.tp * plan.pp * plan.cp * plan.dp;
  if (used !== system.gpuCount) {
    issues.push({
      code: 'gpu_count',
      path: 'plan.dp',
      message: `tp·pp·cp·dp = ${plan.tp}·${plan.pp}·${plan.cp}·${plan.dp} = ${used} GPUs, but the system has ${system.gpuCount}`,
    });
  }
  // Megatron-Core pipeline layouts may count the embedding and the loss as one layer each.
  if (model.layers + 2 < plan.pp * plan.virtualStages) {
    issues.push({
      code: 'pipeline_layers',
      path: 'plan.pp',
      message: `${model.layers} layers (plus embedding and loss) cannot fill pp·virtualStages = ${plan.pp * plan.virtualStages} model chunks`,
    });
  }
  const sequencesPerReplica = training.globalBatchSequences / plan.dp;
  if (!Number.isInteger(sequencesPerReplica / plan.microBatch)) {
    issues.push({
      code: 'global_batch',
      path: 'plan.microBatch',
      message: `the global batch of ${training.globalBatchSequences} sequences does not split into micro-batches of ${plan.microBatch} over dp ${plan.dp}`,
    });
  }
  if (plan.ep > 1) {
    if (!model.moe) {
      issues.push({
        code: 'expert_parallel',
        path: 'plan.ep',
        message: 'expert parallelism needs an MoE model: set ep: 1',
      });
    } else if (model.moe.experts % plan.ep !== 0 || (plan.tp * plan.cp * plan.dp) % plan.ep !== 0) {
      issues.push({
        code: 'expert_parallel',
        path: 'plan.ep',
        message: `ep ${plan.ep} must divide the ${model.moe.experts} experts and tp·cp·dp = ${plan.tp * plan.cp * plan.dp}`,
      });
    }
  }
  if (model.moe && plan.tp > 1 && !plan.sequenceParallel) {
    issues.push({
      code: 'expert_parallel',
      path: 'plan.sequenceParallel',
      message:
        'MoE layers with tensor parallelism need sequence parallelism (Megatron-Core): set sequenceParallel: true',
    });
  }
  const offload = plan.activationOffloadLayers ?? 0;
  if (offload > 0) issues.push(...offloadIssues(workload, system, plan, offload));
  if (plan.cp > 1 && training.sequenceLength % (2 * plan.cp) !== 0) {
    issues.push({
      code: 'context_parallel',
      path: 'plan.cp',
      message: `sequence length ${training.sequenceLength} must split into 2·cp = ${2 * plan.cp} chunks for load-balanced context parallelism`,
    });
  }
  return issues;
}

/**
 * Why a plan cannot offload `layers` layers' activations: Megatron-Core's own checks (TransformerConfig
 * __post_init__, megatron/core/transformer/transformer_config.py: fewer layers than the model, no pipeline
 * parallelism, no recomputation), a stack without it, or a GPU without a host link in the catalog.
 */
function offloadIssues(
  workload: ResolvedWorkload,
  system: ResolvedSystem,
  plan: ResolvedPlan,
  layers: number,
): Infeasibility[] {
  const path = 'plan.activationOffloadLayers';
  const issues: Infeasibility[] = [];
  const add = (message: string) => issues.push({ code: 'activation_offload', path, message });
  const stack = STACKS[plan.stack ?? DEFAULT_STACK];
  if (!stack.activationOffload) add(`${stack.name} has no activation offload: set activationOffloadLayers: 0`);
  if (layers >= workload.model.layers)
    add(`offload ${layers} layers of ${workload.model.layers}: Megatron-Core offloads fewer than the model's layers`);
  if (plan.pp > 1)
    add(`activation offload needs pp 1 (Megatron-Core has none with pipeline parallelism), got pp ${plan.pp}`);
  if (plan.recomputation !== 'none')
    add(`activation offload does not combine with recomputation: set recomputation: none (got ${plan.recomputation})`);
  if (system.accelerator.hostLinkGBps === undefined)
    add(
      `the catalog has no host link for ${system.accelerator.name}: describe the accelerator inline with hostLinkGBps`,
    );
  return issues;
}

const GiB = 2 ** 30;

/** The message of an out-of-memory reason: the busiest stage's need against HBM, with the breakdown. */
export function outOfMemoryMessage(memory: MemoryBreakdown, pp: number): string {
  const m = memory;
  const gib = (bytes: number) => (bytes / GiB).toFixed(1);
  return `needs ${gib(m.total)} GiB per GPU on pipeline stage ${m.stage + 1} of ${pp}, the GPU has ${gib(m.capacity)} GiB (weights ${gib(m.weights)}, gradients ${gib(m.gradients)}, optimizer ${gib(m.optimizer)}, activations ${gib(m.activations)}, buffers and reserve ${gib(m.buffers + m.reserve)})`;
}

/**
 * The out-of-memory reason for `memory` (the busiest stage of `pp`); its message is written only when read, since
 * plan search discards most of them. It stays a small class: a plain object with an own `message` getter, or one
 * with the message written at once, costs about 3 µs to create (V8 defines literal accessors at run time; the
 * message formats seven numbers), more than a whole estimate, and half of a search's estimates run out of memory.
 * Structured clone would drop the prototype getter: send {@link plainIssue} of it across workers; JSON calls its
 * `toJSON` by itself.
 */
export function outOfMemory(memory: MemoryBreakdown, pp: number): Infeasibility {
  return new OutOfMemory(memory, pp);
}

class OutOfMemory implements Infeasibility {
  readonly code = 'out_of_memory' as const;
  readonly path = 'plan';
  constructor(
    private readonly memory: MemoryBreakdown,
    private readonly pp: number,
  ) {}

  get message(): string {
    return outOfMemoryMessage(this.memory, this.pp);
  }

  /** Plain data for JSON (the getter is not copied otherwise). */
  toJSON(): Infeasibility {
    return plainIssue(this);
  }
}

/** A reason as plain data, its message read: safe for structured clone (worker messages) and spreading. */
export function plainIssue(issue: Infeasibility): Infeasibility {
  return { code: issue.code, path: issue.path, message: issue.message };
}
