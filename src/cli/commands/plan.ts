/**
 * `tokenworks plan <spec>`: with a system in the spec, search every plan on it and design its factory; without
 * one, search accelerators and cluster sizes under the spec's constraints and recommend a factory. Text, JSON
 * (`--json`, which carries the chosen design as a spec document under `spec`) and a self-contained report
 * (`--report out.html` or `out.md`); `--simulate` runs the digital twin on the chosen design.
 * @module
 */
import type { Command } from '@commander-js/extra-typings';
import { systemPreset } from '../../catalog/systems.js';
import { TokenworksError } from '../../errors.js';
import { loadSpecFile, writeUserFile } from '../../node/files.js';
import { createOutput, type OutputStreams } from '../../node/output.js';
import { createSearchPool, type SearchPool } from '../../node/pool.js';
import type { MatmulPrecision } from '../../perf/compute-rates.js';
import { missedConstraints, searchDesigns } from '../../plan/design.js';
import { explainPlan, whyNoPlan } from '../../plan/explain.js';
import { designFactory } from '../../plan/factory.js';
import { enumeratePlans, searchPlans, withPrecision } from '../../plan/search.js';
import { type PlanOutcome, renderPlanHtml, renderPlanMarkdown, renderPlanText } from '../../report/plan-report.js';
import { renderSimulateText, simulateJson } from '../../report/twin-report.js';
import { specDocument } from '../../spec/document.js';
import { type ResolvedSpec, resolveFacility } from '../../spec/resolve.js';
import { designOfPoint } from '../../twin/design.js';
import type { TwinDesign } from '../../twin/setup.js';
import { integerOption, MAX_TOP, replicasOption, reportFormat, seedOption, threadsOption } from '../options.js';
import { checkReportPath, simulateDesign } from './simulate.js';

/** Adds the `plan` command to `program`. */
export function registerPlan(program: Command, streams: OutputStreams): void {
  program
    .command('plan')
    .description('search plans (and, without a system, accelerators and sizes) and design the factory')
    .argument('<spec>', 'spec file, e.g. examples/llama3-70b.yaml')
    .option('--top <n>', 'how many plans to list', '10')
    .option('--json', 'print the outcome as JSON')
    .option('--report <file>', 'write a self-contained report: .html or .md')
    .option('--threads <n>', 'worker threads for large searches (default: the cores available)')
    .option('--precisions <list>', 'matmul precisions to try, e.g. bf16,fp8 (default: the workload precision)')
    .option('--simulate [replicas]', 'run the digital twin on the chosen design (default 100 replicas)')
    .option('--seed <s>', 'seed of the twin with --simulate', '1')
    .option('--strict', 'exit 2 when the plan misses a constraint of the spec (deadline, power, budget, GPUs)')
    .action(async (file, options, command) => {
      const globals = command.optsWithGlobals() as { quiet?: boolean };
      const output = createOutput(streams, { json: options.json ?? false, quiet: globals.quiet ?? false });
      const top = integerOption('--top', options.top, 1, MAX_TOP);
      const report = options.report;
      await checkReportPath(report);
      const threads = threadsOption(options.threads, output);
      const precisions = parsePrecisions(options.precisions);
      const simulate =
        options.simulate === undefined ? undefined : options.simulate === true ? '100' : options.simulate;
      const replicas = simulate === undefined ? 0 : replicasOption('--simulate', simulate);
      const seed = seedOption(options.seed);
      const spec = await loadSpecFile(file);
      const pool = threads > 1 ? createSearchPool(threads) : undefined;
      let found: { outcome: PlanOutcome; design?: TwinDesign };
      try {
        found = spec.system
          ? await planOnSystem(spec, top, pool, precisions)
          : await planDesigns(spec, output, pool, precisions);
      } finally {
        await pool?.close();
      }
      const { design } = found;
      let outcome = found.outcome;
      if (design) {
        outcome = {
          ...outcome,
          spec: specDocument({
            ...(spec.name !== undefined && { name: spec.name }),
            workload: design.workload,
            system: design.system,
            plan: design.plan,
            facility: design.facility,
            ...(spec.twin && { twin: spec.twin }),
          }),
        };
      }
      if (report !== undefined) {
        const text = reportFormat(report) === 'markdown' ? renderPlanMarkdown(outcome) : renderPlanHtml(outcome);
        await writeUserFile(report, text);
        output.info(`wrote ${report}`);
      }
      if (replicas > 0 && design) {
        const simulation = await simulateDesign(design, spec.twin, { replicas, seed, threads, output, file });
        output.result(`${renderPlanText(outcome)}\n\n${renderSimulateText(simulation)}`, {
          ...outcome,
          simulation: simulateJson(simulation),
        });
      } else {
        output.result(renderPlanText(outcome), outcome);
      }
      if (!outcome.chosen) {
        const path = outcome.mode === 'plans' ? 'system' : 'constraints';
        throw new TokenworksError('NO_RESULT', `${file}: no plan or design found`, {
          file,
          issues: outcome.binding.map((message) => ({ code: 'constraint', path, message })),
        });
      }
      if (outcome.mode === 'plans' && outcome.binding.length > 0) {
        // With a system there is no design to choose: the plan is given, and the constraints it misses are a verdict.
        const issues = outcome.binding.map((message) => ({ code: 'constraint', path: 'constraints', message }));
        if (options.strict) {
          throw new TokenworksError('NO_RESULT', `${file}: the plan misses the spec's constraints`, { file, issues });
        }
        for (const issue of issues)
          output.warn(`${file}: constraints: ${issue.message} (--strict makes this an error)`);
      }
    });
}

/** Plan searches smaller than this run on the calling thread: starting workers costs more. */
const PARALLEL_CANDIDATES = 3000;

const PRECISIONS = ['bf16', 'fp8', 'fp4'] as const;

function parsePrecisions(list: string | undefined): MatmulPrecision[] | undefined {
  if (list === undefined) return undefined;
  const values = list.split(',').map((value) => value.trim().toLowerCase());
  const unknown = values.filter((value) => !(PRECISIONS as readonly string[]).includes(value));
  if (unknown.length > 0 || values.length === 0) {
    throw new TokenworksError(
      'USAGE',
      `--precisions: unknown "${unknown.join(', ')}"; valid: ${PRECISIONS.join(', ')}`,
    );
  }
  return values as MatmulPrecision[];
}

async function planOnSystem(
  spec: ResolvedSpec,
  top: number,
  pool: SearchPool | undefined,
  precisions: MatmulPrecision[] | undefined,
): Promise<{ outcome: PlanOutcome; design?: TwinDesign }> {
  const system = spec.system;
  if (!system) throw new Error('internal: planOnSystem without a system');
  const options = { top, ...(precisions && { precisions }) };
  const large = enumeratePlans(spec.workload, system).length * (precisions?.length ?? 1) > PARALLEL_CANDIDATES;
  const search =
    pool && large
      ? await pool.searchPlans(spec.workload, system, options)
      : searchPlans(spec.workload, system, options);
  const best = search.best[0];
  const title = `${spec.workload.model.name} on ${system.gpuCount} × ${system.accelerator.name}`;
  if (!best) {
    return {
      outcome: { title, mode: 'plans', search, binding: [whyNoPlan(spec.workload, system, search, precisions)] },
    };
  }
  const preset = systemPreset(system.accelerator.id);
  const facility = spec.facility ?? resolveFacility({ cooling: preset?.rack ? 'direct-liquid' : 'air' });
  const workload = withPrecision(spec.workload, best.precision);
  const factory = designFactory(workload, system, facility, best.estimate, best.plan);
  const outcome: PlanOutcome = {
    title,
    mode: 'plans',
    search,
    chosen: {
      system,
      plan: best.plan,
      estimate: best.estimate,
      ...(factory.ok ? { factory } : { factoryIssues: factory.issues.map((issue) => issue.message) }),
      reasons: explainPlan(workload, system, best.plan, best.estimate),
    },
    binding:
      factory.ok && spec.constraints
        ? missedConstraints({ gpus: system.gpuCount, factory }, spec.constraints).map((b) => b.message)
        : [],
  };
  const name = spec.name ?? workload.model.name;
  return {
    outcome,
    ...(factory.ok && {
      design: { name, workload, system, plan: best.plan, facility, estimate: best.estimate, factory },
    }),
  };
}

async function planDesigns(
  spec: ResolvedSpec,
  output: ReturnType<typeof createOutput>,
  pool: SearchPool | undefined,
  precisions: MatmulPrecision[] | undefined,
): Promise<{ outcome: PlanOutcome; design?: TwinDesign }> {
  const facility = spec.facility ?? resolveFacility({ cooling: 'direct-liquid' });
  let progress: ReturnType<typeof output.progress> | undefined;
  const started = Date.now();
  const options = {
    ...(spec.constraints && { constraints: spec.constraints }),
    ...(precisions && { precisions }),
    onProgress: (done: number, total: number) => {
      // Draw a bar only for searches that run past a second.
      if (!progress && Date.now() - started > 1000) {
        progress = output.progress('designs', total);
        progress.tick(done);
      } else progress?.tick();
    },
  };
  const design = pool
    ? await pool.searchDesigns(spec.workload, facility, options)
    : searchDesigns(spec.workload, facility, options);
  progress?.done();
  const chosen = design.recommended;
  const outcome: PlanOutcome = {
    title: `${spec.workload.model.name}: ${spec.name ?? 'factory design'}`,
    mode: 'designs',
    design,
    ...(chosen && {
      chosen: {
        system: chosen.system,
        plan: chosen.plan,
        estimate: chosen.estimate,
        factory: chosen.factory,
        reasons: design.reasons,
      },
    }),
    binding: design.binding.map((b) => b.message),
    deadlineDays: spec.constraints?.deadlineDays,
  };
  return {
    outcome,
    ...(chosen && { design: designOfPoint(spec.name ?? spec.workload.model.name, spec.workload, facility, chosen) }),
  };
}
