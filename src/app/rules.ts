/**
 * The `rules` use case: what the plan expects of the running job, written as Prometheus recording and alerting
 * rules (docs/act.md), so that the cluster's own Prometheus watches the plan:
 * - **throughput under plan**: the job's trained tokens per second below the plan's lower band (the model's
 *   held-out P90 error, as plan versus actual uses it);
 * - **stragglers**: a per-GPU score, this GPU's SM clock over the job's fastest GPU's, flagged below the NVIDIA
 *   resiliency extension's threshold;
 * - **XID bursts**: new XID codes on a host's GPUs, counted over dcgm-exporter's XID window;
 * - **GPU power** outside the band around the plan's training power per GPU.
 *
 * The GPU rules read dcgm-exporter's series (either spelling of its host label, `Hostname` before PR #655 and
 * `hostname` after: operate.md §1.1); the throughput rule reads a counter of trained tokens that the training job
 * exports (by default `tokenworks_trained_tokens_total`; any counter or gauge may be named instead).
 *
 * Pure: no Node APIs. The YAML is written by the `yaml` package.
 * @module
 */
import { Document } from 'yaml';
import { planLayout } from '../plan/layout.js';
import type { Result, SpecIssue } from '../spec/issues.js';
import type { ResolvedSpec } from '../spec/resolve.js';
import { twinConfig } from '../twin/setup.js';
import { formatCount, significant } from '../util/number.js';
import { designOf } from './design.js';
import type { ObserveOutcome } from './observe.js';
import { MODEL_ERROR_P90, POWER_TOLERANCE } from './plan-vs-actual.js';
import type { Ports, UseCaseOptions } from './ports.js';

/** The counter of trained tokens the throughput rule reads when none is named (exported by the training job). */
export const DEFAULT_TOKENS_METRIC = 'tokenworks_trained_tokens_total';

/** NVRx `identify_stragglers(gpu_rel_threshold=0.75)`: a GPU below 0.75 of the best is a straggler (operate.md §2, §2.1). */
export const STRAGGLER_THRESHOLD = 0.75;
/** NeMo's `StragglerDetectionCallback(report_time_interval=300)`: one score per 5 minutes (operate.md §2.1). */
export const STRAGGLER_WINDOW_MINUTES = 5;
/** One more report interval before paging, so one slow window is not an alert (assumed). */
export const STRAGGLER_FOR_MINUTES = 5;

/** dcgm-exporter's XID count window default, 5 min (`-x`, operate.md §1.1). */
export const XID_WINDOW_MINUTES = 5;
/** ByteRobust tolerates an alarm unless it comes twice in 5 min (operate.md §2 table): two new XIDs are a burst. */
export const XID_BURST_EVENTS = 2;
/**
 * The step at which the last-XID gauge is compared with its value one step earlier: dcgm-exporter collects every
 * 30 s by default (operate.md §1.1), so a step of 1 min sees each change of the gauge once.
 */
export const XID_STEP_MINUTES = 1;

/** Window of the throughput rate and of the power average (assumed: ten 1-minute evaluations smooth a step's swing). */
export const SIGNAL_WINDOW_MINUTES = 10;
/**
 * How long throughput or power must stay outside its band before the alert fires (assumed: longer than one restart
 * with checkpoint reload, which the twin's defaults put at 5 to 10 minutes, docs/twin.md).
 */
export const PLAN_FOR_MINUTES = 15;

/** A recording rule. */
export interface RecordingRule {
  readonly record: string;
  readonly expr: string;
}

/** An alerting rule: labels `severity` (and `kind` where a detection kind fits), annotations in plain words. */
export interface AlertingRule {
  readonly alert: string;
  readonly expr: string;
  readonly for?: string;
  readonly labels: Readonly<Record<string, string>>;
  readonly annotations: { readonly summary: string; readonly description: string };
}

/** One rule group: evaluated in order, so its recording rules feed its alerts at the same evaluation. */
export interface RuleGroup {
  readonly name: string;
  readonly rules: readonly (RecordingRule | AlertingRule)[];
}

/** A Prometheus rules file (`rule_files:`), as data. */
export interface RulesDocument {
  readonly groups: readonly RuleGroup[];
}

/** What the rules are given besides the spec. */
export interface RulesSettings {
  /**
   * The training job's trained-token series: a metric name with optional label matchers, such as
   * `tokenworks_trained_tokens_total{job="train"}`. A name ending in `_total` is a counter (rate); any other is a
   * gauge of tokens per second (averaged). Default {@link DEFAULT_TOKENS_METRIC}.
   */
  readonly tokensMetric?: string;
  /** Label matchers of the job's dcgm-exporter series, in braces, such as `{job="dcgm",cluster="a"}`. */
  readonly match?: string;
  /** Add {@link fleetRecordingGroup}: per-host 1-minute aggregates for fleet-scale reads (docs/fleet.md). */
  readonly fleet?: boolean;
}

/** The input of {@link runRules}. */
export interface RulesInput extends RulesSettings {
  readonly spec: ResolvedSpec;
  /** The file the spec came from, for the header. */
  readonly file?: string;
}

/** A metric the rules read, and who exports it. */
export interface ExpectedMetric {
  readonly metric: string;
  readonly exporter: string;
  readonly use: string;
}

/** What `tokenworks rules` wrote: the plan's figures, the metrics the rules expect, the rules. */
export interface RulesOutcome {
  readonly title: string;
  /** The design the rules are for, as `observe` names it. */
  readonly design: Omit<ObserveOutcome['design'], 'siteEfficiency'>;
  readonly thresholds: {
    readonly tokensPerSecond: {
      readonly planned: number;
      readonly low: number;
      /** The model's held-out P90 error the band comes from. */
      readonly modelError: number;
    };
    /** Absent when the twin's settings of the spec give no training power (a note says why). */
    readonly gpuPowerW?: { readonly planned: number; readonly low: number; readonly high: number };
    readonly stragglerScore: number;
    readonly xidBurst: { readonly events: number; readonly windowMinutes: number };
  };
  readonly metrics: readonly ExpectedMetric[];
  readonly document: RulesDocument;
  readonly notes: readonly string[];
}

const NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/;
const MATCHER = String.raw`[a-zA-Z_][a-zA-Z0-9_]*\s*(?:=~|!~|!=|=)\s*"(?:[^"\\]|\\.)*"`;
const MATCHERS = new RegExp(String.raw`^\{\s*(?:${MATCHER}(?:\s*,\s*${MATCHER})*\s*,?)?\s*\}$`);

/** The problems of the settings, each naming the flag, the value and what would be valid. */
export function rulesSettingsIssues(settings: RulesSettings): SpecIssue[] {
  const issues: SpecIssue[] = [];
  if (settings.tokensMetric !== undefined) {
    const { name, matchers } = splitSelector(settings.tokensMetric);
    if (!NAME.test(name) || (matchers !== '' && !MATCHERS.test(matchers))) {
      issues.push({
        code: 'invalid_value',
        path: 'tokensMetric',
        value: settings.tokensMetric,
        message: `--tokens-metric must be a Prometheus metric name with optional label matchers, such as ${DEFAULT_TOKENS_METRIC}{job="train"}`,
      });
    }
  }
  if (settings.match !== undefined && !MATCHERS.test(settings.match)) {
    issues.push({
      code: 'invalid_value',
      path: 'match',
      value: settings.match,
      message:
        '--match must be label matchers in braces without a metric name, such as {job="dcgm"} or {Hostname=~"node-0.*"}',
    });
  }
  return issues;
}

/** `name{matchers}` → its name and its braces ('' when none). */
function splitSelector(selector: string): { name: string; matchers: string } {
  const brace = selector.indexOf('{');
  return brace < 0
    ? { name: selector.trim(), matchers: '' }
    : { name: selector.slice(0, brace).trim(), matchers: selector.slice(brace).trim() };
}

/** The metric `name` with the job's matchers, e.g. `DCGM_FI_DEV_SM_CLOCK{job="dcgm"}`. */
const selectorOf = (name: string, match: string | undefined) =>
  match === undefined || /^\{\s*\}$/.test(match) ? name : `${name}${match.trim()}`;

/** Copies `Hostname` or `hostname` into a `host` label, whichever the exporter wrote (operate.md §1.1, PR #655). */
const withHost = (expr: string) =>
  `label_replace(label_replace(${expr}, "host", "$1", "Hostname", "(.+)"), "host", "$1", "hostname", "(.+)")`;

/** A threshold as the rules write it: six significant digits (the expression and the words then agree). */
const rounded = (value: number) => Number(value.toPrecision(6));

/** A PromQL duration of whole minutes. */
const minutes = (n: number) => `${n}m`;

const pct = (x: number) => `${(100 * x).toFixed(1)}%`;

/** The plan's figures the rules are built from. */
export interface PlanFigures {
  readonly gpus: number;
  readonly accelerator: string;
  readonly layout: string;
  readonly tokensPerSecond: number;
  readonly moe: boolean;
  /** The twin's board power of one training GPU, W; absent leaves the power rules out. */
  readonly gpuRunningW?: number;
}

/** The throughput group: the job's tokens/s and its alert below the plan's lower band. */
function throughputGroup(figures: PlanFigures, plan: string, settings: RulesSettings) {
  const error = figures.moe ? MODEL_ERROR_P90.moe : MODEL_ERROR_P90.dense;
  // Throughput is tokens per step ÷ step time: its lower band is the step band's upper edge inverted (plan-vs-actual.ts).
  const low = rounded(figures.tokensPerSecond / (1 + error));
  const tokens = splitSelector(settings.tokensMetric ?? DEFAULT_TOKENS_METRIC);
  const selector = `${tokens.name}${tokens.matchers}`;
  const counter = tokens.name.endsWith('_total');
  const window = minutes(SIGNAL_WINDOW_MINUTES);
  const record = `job:tokenworks_tokens_per_second:${counter ? 'rate' : 'avg'}${window}`;
  const group: RuleGroup = {
    name: 'tokenworks-throughput',
    rules: [
      {
        record,
        expr: counter ? `sum(rate(${selector}[${window}]))` : `sum(avg_over_time(${selector}[${window}]))`,
      },
      {
        alert: 'TokenworksTokensBelowPlan',
        expr: `${record} < ${low}`,
        for: minutes(PLAN_FOR_MINUTES),
        labels: { severity: 'warning' },
        annotations: {
          summary: `Training runs at {{ $value | humanize }} tokens/s, below the plan's lower band of ${formatCount(low)} tokens/s`,
          description:
            `The plan (${plan}) predicts ${formatCount(figures.tokensPerSecond)} tokens/s; the model's held-out P90 ` +
            `error (${pct(error)}, ${figures.moe ? 'MoE' : 'dense'}; docs/validation.md) puts its lower band at ` +
            `${formatCount(low)} tokens/s, and the job has been below it for ${PLAN_FOR_MINUTES} min. Look for ` +
            'stragglers, clock throttling or a slow fabric (the other Tokenworks alerts), then run `tokenworks observe` on the log.',
        },
      },
    ],
  };
  const metric: ExpectedMetric = {
    metric: selector,
    exporter: 'the training job (rank 0, or every rank with its share: the rules sum them)',
    use: counter ? 'a counter of trained tokens: its rate is the job’s tokens/s' : 'a gauge of the job’s tokens/s',
  };
  return { group, metric, tokensPerSecond: { planned: figures.tokensPerSecond, low, modelError: error } };
}

/** The straggler group: each GPU's SM clock over the job's fastest, and its alert below the NVRx threshold. */
function stragglerGroup(plan: string, match: string | undefined): RuleGroup {
  const window = minutes(STRAGGLER_WINDOW_MINUTES);
  const clock = `host_gpu:dcgm_sm_clock_mhz:avg${window}`;
  const score = 'host_gpu:tokenworks_straggler_score:ratio';
  return {
    name: 'tokenworks-stragglers',
    rules: [
      {
        record: clock,
        expr: `avg by (host, gpu) (${withHost(`avg_over_time(${selectorOf('DCGM_FI_DEV_SM_CLOCK', match)}[${window}])`)})`,
      },
      {
        // NVRx's relative score: this GPU's rate over the fastest's (operate.md §2.1); a job at 0 MHz has no score.
        record: score,
        expr: `${clock} / on() group_left() (max(${clock}) > 0)`,
      },
      {
        alert: 'TokenworksGpuStraggler',
        expr: `${score} < ${STRAGGLER_THRESHOLD}`,
        for: minutes(STRAGGLER_FOR_MINUTES),
        labels: { severity: 'warning', kind: 'straggler' },
        annotations: {
          summary:
            'GPU {{ $labels.gpu }} on {{ $labels.host }} runs at {{ $value | humanizePercentage }} of the job’s fastest SM clock',
          description:
            `A synchronous job runs at its slowest GPU, and the plan (${plan}) assumes every GPU at the same clock. ` +
            `NVIDIA's resiliency extension flags a GPU below ${STRAGGLER_THRESHOLD} of the best (operate.md §2.1). ` +
            "Check this GPU's clock-event reasons (DCGM_FI_DEV_CLOCKS_EVENT_REASONS), temperature and power; drain the " +
            'host at the next restart if it stays slow.',
        },
      },
    ],
  };
}

/** The XID group: new XID codes per host over dcgm-exporter's window, and the burst alert. */
function xidGroup(plan: string, match: string | undefined): RuleGroup {
  const last = 'host_gpu:dcgm_xid_errors:last';
  const window = minutes(XID_WINDOW_MINUTES);
  const step = minutes(XID_STEP_MINUTES);
  const events = `host:dcgm_xid_events:count${window}`;
  return {
    name: 'tokenworks-xid',
    rules: [
      {
        // The last-XID gauge per GPU, its err_code/err_msg labels dropped so that a new code is a change of value.
        record: last,
        expr: `max by (host, gpu) (${withHost(selectorOf('DCGM_FI_DEV_XID_ERRORS', match))})`,
      },
      {
        // A new XID: the gauge is non-zero and differs from its value one step earlier (gpu-signals.ts XidTracker).
        record: events,
        expr: `sum by (host) (sum_over_time(((${last} != bool ${last} offset ${step}) * (${last} > bool 0))[${window}:${step}]))`,
      },
      {
        alert: 'TokenworksXidBurst',
        expr: `${events} >= ${XID_BURST_EVENTS}`,
        labels: { severity: 'critical', kind: 'failure-risk' },
        annotations: {
          summary: `{{ $value }} new XID errors on {{ $labels.host }} within ${XID_WINDOW_MINUTES} min`,
          description:
            `XID errors in a burst (${XID_BURST_EVENTS} or more within ${XID_WINDOW_MINUTES} min: ByteRobust's repeat ` +
            `rule, operate.md §2) often come before a failure of the host, and the plan (${plan}) loses the work since ` +
            'the last checkpoint at a failure: checkpoint now, and drain or swap the host. DCGM_FI_DEV_XID_ERRORS on ' +
            'the host names the codes.',
        },
      },
    ],
  };
}

/** The power group: each host's mean board power per GPU against the band around the plan's training power. */
function powerGroup(plan: string, planned: number, match: string | undefined) {
  // ±POWER_TOLERANCE around the twin's training level, as plan versus actual holds it (plan-vs-actual.ts).
  const band = {
    planned,
    low: rounded(planned * (1 - POWER_TOLERANCE)),
    high: rounded(planned * (1 + POWER_TOLERANCE)),
  };
  const window = minutes(SIGNAL_WINDOW_MINUTES);
  const power = `host:dcgm_power_usage_watts:avg${window}`;
  const words = `${significant(band.low)}–${significant(band.high)} W (±${pct(POWER_TOLERANCE)} around the plan's ${significant(planned)} W per GPU)`;
  const alert = (name: string, above: boolean): AlertingRule => ({
    alert: name,
    expr: `${power} ${above ? '>' : '<'} ${above ? band.high : band.low}`,
    for: minutes(PLAN_FOR_MINUTES),
    labels: { severity: above ? 'warning' : 'info' },
    annotations: {
      summary: `GPUs on {{ $labels.host }} draw {{ $value | humanize }} W each, ${above ? 'above' : 'below'} the plan's band of ${words}`,
      description: above
        ? `The plan (${plan}) sizes racks and the facility for ${significant(planned)} W per training GPU. More: a ` +
          'more compute-bound step than modelled, or a higher power limit than the spec sets; cap GPU power if the ' +
          'rack or facility limit is near.'
        : `The plan (${plan}) expects ${significant(planned)} W per training GPU. Less: a lower power limit, ` +
          'throttling, waiting on communication or an idle host (check the straggler score and GPU utilisation).',
    },
  });
  const group: RuleGroup = {
    name: 'tokenworks-power',
    rules: [
      {
        record: power,
        expr: `avg by (host) (${withHost(`avg_over_time(${selectorOf('DCGM_FI_DEV_POWER_USAGE', match)}[${window}])`)})`,
      },
      alert('TokenworksGpuPowerAbovePlan', true),
      alert('TokenworksGpuPowerBelowPlan', false),
    ],
  };
  return { group, band };
}

const DCGM = 'dcgm-exporter (default counters)';

/** Window of the fleet recording rules: one minute (four 15 s scrapes, two of dcgm-exporter's 30 s default). */
export const FLEET_RECORD_MINUTES = 1;

/**
 * The fleet group: per host (and `hpc_job`) one-minute aggregates of the GPU KPI fields, the heavy step of a fleet
 * read done once at the server's evaluation interval (docs/fleet.md): GPUs reporting, Σ per-GPU means (the
 * fleet's mean of per-GPU means = Σ over hosts ÷ Σ GPUs, gpu-kpis.ts), the highest sample, the median SM clock
 * (the straggler detector's per-host signal, prometheus-fleet.ts), GPUs with a non-zero last XID; and the fleet's
 * IT power (Σ per-GPU mean power). Plain PromQL: Prometheus and VictoriaMetrics' vmalert evaluate the same file.
 * The throttled share needs MetricsQL (`count_le_over_time`) and is left to `observe --fleet`.
 */
export function fleetRecordingGroup(match: string | undefined): RuleGroup {
  const window = minutes(FLEET_RECORD_MINUTES);
  const by = 'by (host, hpc_job)';
  const rules: RecordingRule[] = [];
  for (const field of [
    'DCGM_FI_DEV_POWER_USAGE',
    'DCGM_FI_DEV_GPU_TEMP',
    'DCGM_FI_DEV_GPU_UTIL',
    'DCGM_FI_PROF_GR_ENGINE_ACTIVE',
    'DCGM_FI_PROF_PIPE_TENSOR_ACTIVE',
    'DCGM_FI_DEV_SM_CLOCK',
  ]) {
    const name = field.replace(/^DCGM_FI_(DEV|PROF)_/, 'dcgm_').toLowerCase();
    const range = `${selectorOf(field, match)}[${window}]`;
    rules.push(
      { record: `host:${name}:gpus`, expr: `count ${by} (${withHost(`count_over_time(${range})`)})` },
      // Σ per-GPU means over the minute: ÷ host:…:gpus is the host's mean of per-GPU means.
      { record: `host:${name}:avg${window}_sum`, expr: `sum ${by} (${withHost(`avg_over_time(${range})`)})` },
      { record: `host:${name}:max${window}`, expr: `max ${by} (${withHost(`max_over_time(${range})`)})` },
    );
  }
  rules.push(
    {
      record: `host:dcgm_sm_clock:median${window}`,
      expr: `quantile ${by} (0.5, ${withHost(`quantile_over_time(0.5, ${selectorOf('DCGM_FI_DEV_SM_CLOCK', match)}[${window}])`)})`,
    },
    {
      record: `host:dcgm_xid_errors:gpus_nonzero${window}`,
      expr: `count ${by} (${withHost(`max_over_time(${selectorOf('DCGM_FI_DEV_XID_ERRORS', match)}[${window}])`)} > 0)`,
    },
    // IT power = Σ per-GPU mean power (gpu-kpis.ts).
    { record: `fleet:dcgm_power_usage:avg${window}_sum`, expr: `sum(host:dcgm_power_usage:avg${window}_sum)` },
  );
  return { name: 'tokenworks-fleet', rules };
}

/** The rules, the thresholds and the metrics for the plan's figures: a pure function of them. */
export function planRules(
  figures: PlanFigures,
  settings: RulesSettings = {},
): Pick<RulesOutcome, 'thresholds' | 'metrics' | 'document'> {
  const { match } = settings;
  const plan = `${figures.gpus.toLocaleString('en-US')} × ${figures.accelerator}, ${figures.layout}`;
  const throughput = throughputGroup(figures, plan, settings);
  const groups: RuleGroup[] = [throughput.group, stragglerGroup(plan, match), xidGroup(plan, match)];
  if (settings.fleet === true) groups.push(fleetRecordingGroup(match));
  const metrics: ExpectedMetric[] = [
    throughput.metric,
    { metric: 'DCGM_FI_DEV_SM_CLOCK', exporter: DCGM, use: 'straggler score' },
    { metric: 'DCGM_FI_DEV_XID_ERRORS', exporter: DCGM, use: 'XID bursts' },
  ];
  const running = figures.gpuRunningW;
  const power =
    running !== undefined && Number.isFinite(running) && running > 0 ? powerGroup(plan, running, match) : undefined;
  if (power) {
    groups.push(power.group);
    metrics.push({ metric: 'DCGM_FI_DEV_POWER_USAGE', exporter: DCGM, use: 'GPU power band' });
  }
  return {
    thresholds: {
      tokensPerSecond: throughput.tokensPerSecond,
      ...(power && { gpuPowerW: power.band }),
      stragglerScore: STRAGGLER_THRESHOLD,
      xidBurst: { events: XID_BURST_EVENTS, windowMinutes: XID_WINDOW_MINUTES },
    },
    metrics,
    document: { groups },
  };
}

/** The rules of the design `input.spec` describes (its own plan, the best plan on its system, or the catalog's). */
export async function runRules(
  input: RulesInput,
  ports: Ports,
  options: UseCaseOptions = {},
): Promise<Result<RulesOutcome>> {
  const settingsIssues = rulesSettingsIssues(input);
  if (settingsIssues.length > 0) return { ok: false, issues: settingsIssues };
  const design = await designOf(input.spec, ports.runner, {
    ...(options.signal && { signal: options.signal }),
    ...(ports.progress && { progress: ports.progress }),
  });
  if (!design.ok) return design;
  const { name, system, plan, estimate, workload } = design.value;
  const notes: string[] = [];
  const config = twinConfig(design.value, input.spec.twin);
  if (!config.ok) {
    notes.push(`no power rules: ${config.issues.map((i) => `${i.path}: ${i.message}`).join('; ')}`);
  }
  const layout = planLayout(plan);
  const rules = planRules(
    {
      gpus: system.gpuCount,
      accelerator: system.accelerator.name,
      layout,
      tokensPerSecond: estimate.tokensPerSecond,
      moe: workload.model.moe !== undefined,
      ...(config.ok && { gpuRunningW: config.value.power.gpuRunningW }),
    },
    input,
  );
  return {
    ok: true,
    value: {
      title: `${name}: Prometheus rules`,
      design: { name, gpus: system.gpuCount, accelerator: system.accelerator.name, layout },
      ...rules,
      notes,
    },
  };
}

/** The rules file as YAML, with a header naming the plan and where its figures come from. */
export function rulesYaml(
  outcome: Pick<RulesOutcome, 'design' | 'thresholds' | 'metrics' | 'document'>,
  file?: string,
): string {
  const t = outcome.thresholds;
  const header = [
    ` Prometheus rules for ${outcome.design.name}${file === undefined ? '' : ` (${file})`}, written by tokenworks rules.`,
    ` Plan: ${outcome.design.gpus.toLocaleString('en-US')} × ${outcome.design.accelerator}, ${outcome.design.layout}; ${formatCount(t.tokensPerSecond.planned)} tokens/s.`,
    ` Expects: ${outcome.metrics.map((m) => m.metric).join(', ')}.`,
    ' Thresholds and their sources: docs/act.md. Check with: promtool check rules FILE',
  ].join('\n');
  const document = new Document(outcome.document);
  document.commentBefore = header;
  // No folding: a PromQL expression stays on one line, as people read and grep it.
  return document.toString({ lineWidth: 0 });
}
