/**
 * The worker-thread entry of the piscina runner: runs one task with `runTask`, resolving trace references
 * through this thread's own Node data source. Tasks are pure calls on plain data, so the answer is the inline
 * runner's.
 * @module
 */
import { runTask, type Task } from '../app/tasks.js';
import { createNodeDataSource } from './data-source.js';

const data = createNodeDataSource();

/** Runs one task. */
export default function run(task: Task): Promise<unknown> {
  return runTask(task, data);
}
