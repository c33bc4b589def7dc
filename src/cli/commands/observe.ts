/**
 * `tokenworks observe <spec> --log FILE…`: an observed training run read against the design its spec describes:
 * its KPIs, plan versus actual with the likely cause of every figure outside its band, badput by cause and the
 * estimate's step beside it. Text, JSON (`--json`) and a report (`--report out.html` or `.md`).
 * @module
 */
import { basename } from 'node:path';
import type { Command } from '@commander-js/extra-typings';
import type { DetectOutcome } from '../../app/detect.js';
import type { ObserveOutcome } from '../../app/observe.js';
import type { TelemetryStore } from '../../app/ports.js';
import { TokenworksError } from '../../errors.js';
import { loadSpecFile } from '../../node/files.js';
import { createOutput, type Output, type OutputStreams, progressPort } from '../../node/output.js';
import { escapeControls } from '../../util/text.js';
import { waitFor } from '../../util/wait.js';
import { specFailure } from '../failure.js';
import { daysOption, integerOption, replicasOption, seedOption, threadsOption } from '../options.js';
import { checkReportPath, writeReport } from '../report-file.js';
import { withRunner } from '../runner.js';

/** Most files one `--log` list takes. */
export const MAX_LOG_FILES = 1000;

/** Parses `--window FROM:TO` (iterations, both inclusive; either side may be empty). */
export function windowOption(text: string): { fromStep?: number; toStep?: number } {
  const match = /^\s*(\d*)\s*:\s*(\d*)\s*$/.exec(text);
  const from = match?.[1] ? Number(match[1]) : undefined;
  const to = match?.[2] ? Number(match[2]) : undefined;
  if (!match || (from === undefined && to === undefined) || (from !== undefined && to !== undefined && from > to)) {
    throw new TokenworksError(
      'USAGE',
      `--window must be FROM:TO in iterations (e.g. 1000:5000, or 1000: for the rest), got "${text}"`,
    );
  }
  return { ...(from !== undefined && { fromStep: from }), ...(to !== undefined && { toStep: to }) };
}

/** Parses `--from`/`--to`: ISO 8601 or Unix seconds. */
export function timeOption(name: string, text: string): number {
  // A date and time without an offset is UTC, as the log stamps are read (step-log.ts `stampSeconds`).
  const iso = /^\s*\d{4}-\d\d-\d\d[T ]\d\d:\d\d(:\d\d(\.\d+)?)?\s*$/.test(text)
    ? `${text.trim().replace(' ', 'T')}Z`
    : text;
  const seconds = /^\s*\d+(\.\d+)?\s*$/.test(text) ? Number(text) : Date.parse(iso) / 1000;
  if (!Number.isFinite(seconds) || seconds < 0 || seconds > 1e11) {
    throw new TokenworksError(
      'USAGE',
      `${name} must be a time: ISO 8601 (2026-01-01T00:00:00Z) or Unix seconds, got "${text}"`,
    );
  }
  return seconds;
}

/** Adds the `observe` command to `program`. */
export function registerObserve(program: Command, streams: OutputStreams): void {
  program
    .command('observe')
    .description('read a training run against its plan: KPIs, plan versus actual, badput by cause, GPUs')
    .argument('<spec>', 'the run’s spec, or the JSON output of `tokenworks plan --json`')
    .option('--log <files...>', 'training logs or Megatron CI golden-values files (a run’s job segments, in order)')
    .option(
      '--dcgm <sources...>',
      'dcgm-exporter scrape files or folders of them, or exporter endpoints (http://…/metrics) scraped once',
    )
    .option(
      '--prometheus <url>',
      'a Prometheus or VictoriaMetrics that scraped the run’s GPUs: KPIs computed in PromQL',
    )
    .option('--match <selector>', 'with --prometheus: the run’s series, e.g. {Hostname=~"node-0[0-7]"}')
    .option(
      '--from <time>',
      'with --prometheus: window start (ISO 8601, UTC unless it says otherwise, or Unix s; default the log’s first stamp)',
    )
    .option('--to <time>', 'with --prometheus: window end (default the log’s last stamp)')
    .option('--fleet', 'with --prometheus: KPIs aggregated per host by the server (default above 512 GPUs)')
    .option('--no-fleet', 'with --prometheus: per-GPU aggregates, whatever the GPU count')
    .option('--store <file>', 'keep what was read in this DuckDB file: observing again resumes, nothing read twice')
    .option('--run <name>', 'the run’s name in the store (default: the spec file name)')
    .option('--follow', 'keep reading the logs as they grow, with a KPI line every --interval, until Ctrl-C')
    .option('--interval <s>', 'with --follow: seconds between KPI lines', '30')
    .option('--scrape-interval <s>', 'with --follow: seconds between scrapes of a --dcgm endpoint', '15')
    .option('--idle-exit <s>', 'with --follow: stop once the logs have not grown for this many seconds')
    .option('--window <from:to>', 'also report the KPIs of these iterations')
    .option('--replicas <n>', 'replicas of the twin band and of the forecast; 0 for neither', '100')
    .option('--deadline-days <d>', 'the deadline the forecast is held against (default: the spec’s constraints)')
    .option('--no-forecast', 'leave out the forecast of the time to train')
    .option('--seed <s>', 'seed of the twin band', '1')
    .option('--threads <n>', 'worker threads (default: the cores available)')
    .option('--detect', 'run the detectors (stalls, fail-slow, stragglers, failure risk) and propose actions')
    .option('--webhook <url>', 'with --detect: POST each action as JSON to this URL')
    .option('--alertmanager <url>', 'with --detect: post the detections to this Alertmanager (api/v2/alerts)')
    .option('--json', 'print the outcome as JSON')
    .option('--report <file>', 'write a self-contained report: .html or .md')
    .action(async (file, options, command) => {
      const globals = command.optsWithGlobals() as { quiet?: boolean };
      const output = createOutput(streams, { json: options.json ?? false, quiet: globals.quiet ?? false });
      const logs = options.log ?? [];
      if (logs.length === 0) {
        throw new TokenworksError('USAGE', 'observe needs at least one --log FILE (a training log or golden values)');
      }
      const inputsModule = await import('../../node/observe-inputs.js');
      const dcgm = await inputsModule.expandDcgmSources(options.dcgm ?? []);
      for (const [name, list, most] of [
        ['--log', logs, MAX_LOG_FILES],
        ['--dcgm', dcgm, inputsModule.MAX_DCGM_FILES],
      ] as const) {
        if (list.length > most) {
          throw new TokenworksError(
            'USAGE',
            `${name} takes at most ${most.toLocaleString('en-US')} sources, got ${list.length}`,
          );
        }
      }
      if (options.prometheus !== undefined && dcgm.length > 0) {
        throw new TokenworksError('USAGE', 'give --dcgm or --prometheus for the GPU samples, not both');
      }
      if (options.fleet !== undefined && options.prometheus === undefined) {
        throw new TokenworksError(
          'USAGE',
          '--fleet and --no-fleet choose how --prometheus is read: add --prometheus URL',
        );
      }
      if (options.prometheus !== undefined && !/^https?:\/\//i.test(options.prometheus)) {
        throw new TokenworksError('USAGE', `--prometheus must be an http(s) URL, got "${options.prometheus}"`);
      }
      const replicas = options.replicas === '0' ? 0 : replicasOption('--replicas', options.replicas);
      const seed = seedOption(options.seed);
      const threads = threadsOption(options.threads, output);
      const window = options.window === undefined ? undefined : windowOption(options.window);
      const deadlineDays = options.deadlineDays === undefined ? undefined : daysOption(options.deadlineDays);
      const interval = integerOption('--interval', options.interval, 1, 86_400);
      const scrapeSeconds = Number(options.scrapeInterval);
      if (!(scrapeSeconds >= 0.1 && scrapeSeconds <= 86_400)) {
        throw new TokenworksError(
          'USAGE',
          `--scrape-interval must be seconds from 0.1 to 86,400, got "${options.scrapeInterval}"`,
        );
      }
      const idleExit =
        options.idleExit === undefined ? undefined : integerOption('--idle-exit', options.idleExit, 1, 864_000);
      const from = options.from === undefined ? undefined : timeOption('--from', options.from);
      const to = options.to === undefined ? undefined : timeOption('--to', options.to);
      await checkReportPath(options.report);
      const spec = await loadSpecFile(file);
      const sources = {
        run: options.run ?? basename(file),
        logs,
        gpu:
          options.prometheus !== undefined
            ? {
                kind: 'prometheus' as const,
                url: options.prometheus,
                ...(options.match !== undefined && { match: options.match }),
                ...(from !== undefined && { from }),
                ...(to !== undefined && { to }),
                ...(options.fleet !== undefined && { fleet: options.fleet }),
              }
            : dcgm.length > 0
              ? { kind: 'dcgm' as const, sources: dcgm }
              : { kind: 'none' as const },
        ...(options.store !== undefined && { store: options.store }),
      };
      const store = await inputsModule.openObserveStore(options.store);
      try {
        let ingested: Awaited<ReturnType<typeof inputsModule.ingestObserveSources>>;
        if (options.follow) {
          ingested = await follow(store, sources, {
            interval,
            idleExit,
            scrapeIntervalMs: scrapeSeconds * 1000,
            output,
            inputs: inputsModule,
          });
        } else {
          ingested = await inputsModule.ingestObserveSources(store, sources);
        }
        const inputs = await inputsModule.readObserveInputs(store, sources, ingested);
        if (inputs.malformedCount > 0) {
          // Reasons quote the line: control characters escaped and long ones cut, so that a binary file cannot
          // drive the terminal.
          const first = inputs.malformed
            .slice(0, 3)
            .map((m) => escapeControls(`${m.file}:${m.line}: ${m.reason}`).slice(0, 300))
            .join('; ');
          const n = inputs.malformedCount;
          output.warn(`${n} malformed line${n === 1 ? '' : 's'} skipped (${first})`);
        }
        const [{ runObserve }, report] = await Promise.all([
          import('../../app/observe.js'),
          import('../../report/observe-report.js'),
        ]);
        const result = await withRunner(threads, (runner) =>
          runObserve(
            {
              spec,
              steps: inputs.steps,
              replicas,
              seed,
              ...(window && { window }),
              ...(options.forecast !== false && { forecastReplicas: replicas }),
              ...(deadlineDays !== undefined && { deadlineDays }),
              ...(inputs.gpu && { gpu: inputs.gpu }),
              ...(inputs.stragglers && { stragglers: inputs.stragglers }),
            },
            { runner, progress: progressPort(output) },
          ),
        );
        if (!result.ok) throw specFailure(file, result.issues);
        let outcome: ObserveOutcome = { ...result.value, notes: [...inputs.notes, ...result.value.notes] };
        if (options.detect) {
          const { detectStored } = await import('../../node/observe-detect.js');
          // The detectors and the paired twin studies run in this thread; the runner only resolves the design.
          const detect = await withRunner(1, (runner) =>
            detectStored(
              store,
              {
                run: sources.run,
                logs: sources.logs,
                spec,
                steps: inputs.steps,
                kpis: outcome.kpis.run,
                gpuFromStore: dcgm.length > 0,
                replicas: Math.min(replicas, DETECT_REPLICAS),
                seed,
                ...(inputs.fleet && { detections: inputs.fleet.stragglers.detections }),
              },
              { runner, progress: progressPort(output) },
            ),
          );
          if (!detect.ok) throw specFailure(file, detect.issues);
          outcome = { ...outcome, detect: detect.value };
          if (options.prometheus !== undefined) {
            outcome = {
              ...outcome,
              notes: [
                ...outcome.notes,
                inputs.fleet
                  ? 'with --prometheus in fleet mode the GPU detectors are the per-host SM-clock straggler signal the server aggregated; the per-GPU ones read dcgm samples from --dcgm'
                  : 'the GPU detectors read dcgm samples from --dcgm; with --prometheus only the step and straggler-line detectors ran',
              ],
            };
          }
          await deliverActions(detect.value, { webhook: options.webhook, alertmanager: options.alertmanager, output });
        } else if (options.webhook !== undefined || options.alertmanager !== undefined) {
          throw new TokenworksError('USAGE', '--webhook and --alertmanager deliver what --detect finds: add --detect');
        }
        if (options.report !== undefined) {
          await writeReport(options.report, {
            markdown: () => report.renderObserveMarkdown(outcome),
            html: () => report.renderObserveHtml(outcome),
          });
          output.info(`wrote ${options.report}`);
        }
        const summary = {
          logs,
          ...(dcgm.length > 0 && { dcgm }),
          ...(options.store !== undefined && { store: options.store, run: sources.run }),
          malformedLines: inputs.malformedCount,
          malformed: inputs.malformed.slice(0, 20),
          ignoredLines: inputs.ignoredLines,
          skippedGpuSamples: inputs.skippedGpuSamples,
          ...(inputs.transfer && { prometheus: inputs.transfer }),
          ...(inputs.fleet && { fleet: inputs.fleet }),
        };
        output.result(report.renderObserveText(outcome), {
          ...(report.observeJson(outcome) as object),
          inputs: summary,
        });
      } finally {
        await store.close();
      }
    });
}

/** Twin replicas of the actions' expected gains at most (each policy is a paired study). */
const DETECT_REPLICAS = 20;

/** Delivers `--detect`'s actions to a webhook and its detections to an Alertmanager, reporting failures. */
async function deliverActions(
  found: DetectOutcome,
  targets: {
    readonly webhook?: string | undefined;
    readonly alertmanager?: string | undefined;
    readonly output: Output;
  },
): Promise<void> {
  const { createAlertmanagerActuator, createWebhookActuator } = await import('../../node/actuators.js');
  for (const [name, url, make] of [
    ['--webhook', targets.webhook, createWebhookActuator],
    ['--alertmanager', targets.alertmanager, createAlertmanagerActuator],
  ] as const) {
    if (url === undefined) continue;
    if (!/^https?:\/\//i.test(url)) throw new TokenworksError('USAGE', `${name} must be an http(s) URL, got "${url}"`);
    const report = await make({ url }).deliver(found.actions, found.detections);
    const line = `${report.actuator}: ${report.delivered} delivered, ${report.failed} failed (${report.requests} requests)`;
    if (report.failed === 0) targets.output.info(line);
    else targets.output.warn(`${line}; first failure: ${report.failures[0]?.error ?? 'unknown'}`);
  }
}

/**
 * `--follow`: ingests the logs as they grow, printing the run's KPIs every `interval` seconds, until Ctrl-C (or
 * SIGTERM) or `idleExit` seconds without a new step; what was committed stays in the store.
 */
async function follow(
  store: TelemetryStore,
  sources: Parameters<typeof import('../../node/observe-inputs.js').ingestObserveSources>[1],
  context: {
    readonly interval: number;
    readonly idleExit: number | undefined;
    readonly scrapeIntervalMs: number;
    readonly output: ReturnType<typeof createOutput>;
    readonly inputs: typeof import('../../node/observe-inputs.js');
  },
) {
  const { runKpis } = await import('../../telemetry/kpis.js');
  const { toStepPoints } = await import('../../telemetry/step-log.js');
  const controller = new AbortController();
  const stop = () => controller.abort();
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
  // An ingest that fails (a log that cannot be read, a store error) stops the follow and is reported, not left
  // to reject unhandled.
  let failure: unknown;
  const ingest = context.inputs
    .ingestObserveSources(store, sources, {
      follow: true,
      signal: controller.signal,
      scrapeIntervalMs: context.scrapeIntervalMs,
    })
    .catch((error: unknown) => {
      failure = error;
      controller.abort();
      return undefined;
    });
  let lastCount = -1;
  let idleSince = Date.now();
  const tickMs = Math.min(1000, context.interval * 1000);
  let nextLine = Date.now() + context.interval * 1000;
  try {
    while (!controller.signal.aborted) {
      await waitFor(tickMs, controller.signal).catch(() => undefined);
      const count = (await store.counts(sources.run)).steps;
      if (count !== lastCount) {
        lastCount = count;
        idleSince = Date.now();
      } else if (context.idleExit !== undefined && Date.now() - idleSince >= context.idleExit * 1000) {
        context.output.info(`no new step for ${context.idleExit} s: following stops`);
        controller.abort();
        break;
      }
      if (Date.now() >= nextLine) {
        nextLine = Date.now() + context.interval * 1000;
        const { run } = runKpis(toStepPoints(await store.steps(sources.run)));
        if (!run.empty) {
          context.output.info(
            `${count} steps · median ${run.medianSeconds.toPrecision(4)} s · ETTR ${(100 * run.ettr).toFixed(2)}% · ${run.restarts} restarts`,
          );
        }
      }
    }
  } finally {
    process.off('SIGINT', stop);
    process.off('SIGTERM', stop);
  }
  const ingested = await ingest;
  if (ingested === undefined) throw failure;
  return ingested;
}
