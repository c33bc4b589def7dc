/**
 * The demo factory of `tokenworks serve --demo` on Node: src/app/demo.ts's feed, with each run emulated on a worker
 * thread of its own (the emulator writes and the parsers read some hundred megabytes of text per emulated day), so
 * that the server's thread keeps answering while the next run is prepared. This module is also the worker's entry.
 * @module
 */
import { isMainThread, parentPort, Worker, workerData } from 'node:worker_threads';
import {
  type DemoOptions,
  type DemoRun,
  type DemoSettings,
  type LiveFeed,
  prepareDemoRun,
  startDemo,
} from '../app/demo.js';
import type { Ports } from '../app/ports.js';
import type { Result } from '../spec/issues.js';
import type { ResolvedSpec } from '../spec/resolve.js';

/** What the worker is given. */
interface DemoJob {
  readonly spec: ResolvedSpec;
  readonly settings: DemoSettings;
  readonly index: number;
}

/** Emulates demo run `index` on a fresh worker thread (ended once it has answered, or when `signal` aborts). */
export function prepareOnWorker(
  spec: ResolvedSpec,
  settings: DemoSettings,
  index: number,
  signal?: AbortSignal,
): Promise<Result<DemoRun>> {
  // From TypeScript sources (tests, tsx) the worker registers tsx's loader before it imports this file (Node 20
  // does not apply `--import tsx` to a worker whose entry is TypeScript); from dist it is this .js file.
  const typescript = import.meta.url.endsWith('.ts');
  const workerData = { tokenworksDemo: { spec, settings, index } satisfies DemoJob };
  const worker = typescript
    ? new Worker(
        `import('tsx/esm/api').then((tsx) => { tsx.register(); return import(${JSON.stringify(import.meta.url)}); });`,
        { eval: true, workerData },
      )
    : new Worker(new URL(import.meta.url), { workerData });
  return new Promise((resolve, reject) => {
    const stop = () => {
      void worker.terminate();
      resolve({ ok: false, issues: [{ code: 'aborted', path: '', message: 'the demo was stopped' }] });
    };
    if (signal?.aborted) stop();
    signal?.addEventListener('abort', stop, { once: true });
    worker.once('message', (result: Result<DemoRun>) => {
      resolve(result);
      void worker.terminate();
    });
    worker.once('error', reject);
    worker.once('exit', (code) => {
      signal?.removeEventListener('abort', stop);
      if (code !== 0 && !signal?.aborted) reject(new Error(`the demo's worker thread exited with code ${code}`));
    });
  });
}

/** Starts the demo feed with its runs emulated on worker threads (see src/app/demo.ts `startDemo`). */
export function startNodeDemo(options: DemoOptions, ports: Ports): LiveFeed {
  return startDemo(
    { ...options, prepare: (index, settings, signal) => prepareOnWorker(options.spec, settings, index, signal) },
    ports,
  );
}

if (!isMainThread && (workerData as { tokenworksDemo?: DemoJob } | null)?.tokenworksDemo !== undefined) {
  const { spec, settings, index } = (workerData as { tokenworksDemo: DemoJob }).tokenworksDemo;
  const [{ createInlineRunner }, { createNodeDataSource }] = await Promise.all([
    import('../app/inline-runner.js'),
    import('./data-source.js'),
  ]);
  const runner = createInlineRunner(createNodeDataSource());
  const result = await prepareDemoRun(spec, settings, index, { runner });
  parentPort?.postMessage(result);
}
