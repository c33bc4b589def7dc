/**
 * The detectors over an observed run as stored (GPU samples read back from the store, straggler lines from the
 * run's logs), for `tokenworks observe --detect` (src/cli/commands/observe.ts) and the API's observe route
 * (src/http/observe.ts): one reading of the store, one call of {@link runDetect}.
 * @module
 */
import type { DetectOutcome } from '../app/detect.js';
import type { Ports, TelemetryStore, UseCaseOptions } from '../app/ports.js';
import type { Detection } from '../detect/types.js';
import type { Result } from '../spec/issues.js';
import type { ResolvedSpec } from '../spec/resolve.js';
import type { ObservedKpis } from '../telemetry/kpis.js';
import type { StepPoint } from '../telemetry/megatron-ci.js';

/** What the detectors read besides the store: the run's steps and KPIs, and the twin study's size. */
export interface StoredDetectInput {
  readonly run: string;
  /** The run's log files (their straggler lines). */
  readonly logs: readonly string[];
  readonly spec: ResolvedSpec;
  readonly steps: readonly StepPoint[];
  readonly kpis: Pick<ObservedKpis, 'empty' | 'restarts' | 'wallSeconds'>;
  /** Whether the GPU detectors read the store's GPU samples (false when they came from a Prometheus). */
  readonly gpuFromStore: boolean;
  readonly replicas: number;
  readonly seed: number;
  /** Detections made on a PromQL server's aggregates (fleet mode's per-host stragglers). */
  readonly detections?: readonly Detection[];
}

/** Runs the detectors on `input.run` as `store` holds it. */
export async function detectStored(
  store: TelemetryStore,
  input: StoredDetectInput,
  ports: Ports,
  options: UseCaseOptions = {},
): Promise<Result<DetectOutcome>> {
  const [{ DETECT_FIELDS, GpuDetectors, runDetect }, { readStragglerLines }] = await Promise.all([
    import('../app/detect.js'),
    import('./observe-inputs.js'),
  ]);
  let gpu: InstanceType<typeof GpuDetectors> | undefined;
  if (input.gpuFromStore) {
    gpu = new GpuDetectors();
    for await (const batch of store.gpuPoints(input.run, { fields: DETECT_FIELDS })) {
      for (const point of batch) gpu.push(point);
    }
    gpu.flush();
  }
  const stragglerReports = await readStragglerLines(input.logs);
  const k = input.kpis;
  const observed = k.empty ? undefined : { restarts: k.restarts, hours: k.wallSeconds / 3600 };
  return runDetect(
    {
      spec: input.spec,
      steps: input.steps,
      stragglerReports,
      ...(gpu && { gpu }),
      ...(observed && { observed }),
      replicas: input.replicas,
      seed: input.seed,
      ...(input.detections !== undefined && { detections: input.detections }),
    },
    ports,
    options,
  );
}
