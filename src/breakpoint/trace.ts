/**
 * Cluster traces as typed data: the node list and pod list of Alibaba's openb GPU cluster trace (cluster-trace-
 * gpu-v2023, Weng et al., ATC'23 "Beware of Fragmentation"), and job run times in the format of Microsoft
 * Philly's `philly_runtime.csv` (one `runtime` column, seconds). The traces themselves are not part of Tokenworks
 * (the team's copy is ../shared/data/traces/; src/catalog/trace-figures.ts holds the figures derived from them).
 * The core takes CSV records (column name to text) so that it stays free of Node APIs; src/node/traces.ts reads
 * the files. Bad rows come back as issues naming the row, the column, the value and what is valid.
 * @module
 */
import type { Result, SpecIssue } from '../spec/issues.js';

/** A node of a cluster trace. */
export interface TraceNode {
  readonly name: string;
  readonly gpus: number;
  /** GPU model code (G1-G3 are undisclosed Alibaba codes); empty for CPU-only nodes. */
  readonly gpuModel: string;
  readonly cpuMilli: number;
  readonly memoryMiB: number;
}

/** A pod (task) of a cluster trace. Times are seconds from the trace's start. */
export interface TracePod {
  readonly name: string;
  readonly cpuMilli: number;
  readonly memoryMiB: number;
  /** Whole GPUs asked for (0 to 8); 1 with `gpuMilli` < 1000 is a share of one GPU. */
  readonly gpus: number;
  /** Thousandths of one GPU, for GPU-sharing pods (`gpus` = 1). */
  readonly gpuMilli: number;
  /** GPU models the pod may run on; empty: any. */
  readonly gpuModels: readonly string[];
  readonly qos: string;
  readonly phase: string;
  readonly created: number;
  readonly deleted: number;
  /** When the production scheduler placed it; absent for pods that never ran. */
  readonly scheduled?: number;
}

type Row = Readonly<Record<string, string | undefined>>;

function reader(file: string, issues: SpecIssue[]) {
  const number = (row: Row, index: number, column: string, options: { optional?: boolean; min?: number } = {}) => {
    const text = row[column];
    if ((text === undefined || text === '') && options.optional) return undefined;
    const value = Number(text);
    if (text === undefined || text === '' || !Number.isFinite(value) || value < (options.min ?? 0)) {
      issues.push({
        code: 'invalid_value',
        path: `${file}:${index + 2}.${column}`,
        value: text,
        message: `expected a number ≥ ${options.min ?? 0}, got "${text ?? ''}"`,
      });
      return undefined;
    }
    return value;
  };
  return { number };
}

/** Nodes from the records of an openb node list (`sn, cpu_milli, memory_mib, gpu, model`). */
export function nodesFromRecords(records: readonly Row[], file = 'nodes'): Result<TraceNode[]> {
  const issues: SpecIssue[] = [];
  const { number } = reader(file, issues);
  const nodes: TraceNode[] = [];
  records.forEach((row, index) => {
    const gpus = number(row, index, 'gpu');
    const cpuMilli = number(row, index, 'cpu_milli');
    const memoryMiB = number(row, index, 'memory_mib');
    if (gpus === undefined || cpuMilli === undefined || memoryMiB === undefined) return;
    nodes.push({ name: row.sn ?? `node-${index}`, gpus, gpuModel: row.model ?? '', cpuMilli, memoryMiB });
  });
  if (nodes.length === 0 && issues.length === 0) {
    issues.push({
      code: 'invalid_value',
      path: file,
      message: 'no nodes: expected columns sn, cpu_milli, memory_mib, gpu, model',
    });
  }
  return issues.length > 0 ? { ok: false, issues } : { ok: true, value: nodes };
}

/** Pods from the records of an openb pod list. */
export function podsFromRecords(records: readonly Row[], file = 'pods'): Result<TracePod[]> {
  const issues: SpecIssue[] = [];
  const { number } = reader(file, issues);
  const pods: TracePod[] = [];
  records.forEach((row, index) => {
    const cpuMilli = number(row, index, 'cpu_milli');
    const memoryMiB = number(row, index, 'memory_mib');
    const gpus = number(row, index, 'num_gpu');
    const gpuMilli = number(row, index, 'gpu_milli');
    const created = number(row, index, 'creation_time');
    const deleted = number(row, index, 'deletion_time');
    const scheduled = number(row, index, 'scheduled_time', { optional: true });
    if ([cpuMilli, memoryMiB, gpus, gpuMilli, created, deleted].some((v) => v === undefined)) return;
    const spec = row.gpu_spec ?? '';
    pods.push({
      name: row.name ?? `pod-${index}`,
      cpuMilli: cpuMilli as number,
      memoryMiB: memoryMiB as number,
      gpus: gpus as number,
      gpuMilli: gpuMilli as number,
      gpuModels: spec === '' ? [] : spec.split('|'),
      qos: row.qos ?? '',
      phase: row.pod_phase ?? '',
      created: created as number,
      deleted: deleted as number,
      ...(scheduled !== undefined && { scheduled }),
    });
  });
  return issues.length > 0 ? { ok: false, issues } : { ok: true, value: pods };
}

/** Run times (seconds, ≥ 0) from the records of a Philly-format run-time list (one `runtime` column). */
export function runtimesFromRecords(records: readonly Row[], file = 'runtimes'): Result<number[]> {
  const issues: SpecIssue[] = [];
  const { number } = reader(file, issues);
  const runtimes: number[] = [];
  records.forEach((row, index) => {
    const runtime = number(row, index, 'runtime');
    if (runtime !== undefined) runtimes.push(runtime);
  });
  if (issues.length === 0 && !runtimes.some((r) => r > 0)) {
    issues.push({
      code: 'invalid_value',
      path: file,
      message: 'no positive run times: expected a column "runtime" of seconds, e.g. philly_runtime.csv',
    });
  }
  return issues.length > 0 ? { ok: false, issues } : { ok: true, value: runtimes };
}
