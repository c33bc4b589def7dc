/**
 * Reports of a plan or design search: plain text for the terminal, Markdown, and a self-contained HTML page
 * (inline CSS and SVG, no scripts, no network) with the Pareto chart, the chosen plan's step and memory
 * breakdowns, the bill of materials and the power breakdown.
 * @module
 */
import type { Estimate } from '../perf/estimate.js';
import type { DesignPoint, DesignResult } from '../plan/design.js';
import type { Factory } from '../plan/factory.js';
import type { SearchResult } from '../plan/search.js';
import type { ResolvedPlan, ResolvedSystem } from '../spec/resolve.js';
import type { SpecInput } from '../spec/spec.js';
import { memoryParts, stepParts } from './breakdown.js';
import { formatCount, formatInteger, planLayout } from './format.js';
import { escapeHtml, htmlPage, htmlTable, markdownTable } from './html.js';
import { renderTable } from './table.js';

/** What `tokenworks plan` found. */
export interface PlanOutcome {
  readonly title: string;
  /** Plan search on the spec's system, or design search over the catalog. */
  readonly mode: 'plans' | 'designs';
  readonly search?: SearchResult;
  readonly design?: DesignResult;
  readonly chosen?: {
    readonly system: ResolvedSystem;
    readonly plan: ResolvedPlan;
    readonly estimate: Estimate;
    readonly factory?: Factory;
    readonly factoryIssues?: readonly string[];
    readonly reasons: readonly string[];
  };
  /** When nothing could be recommended: what binds and by how much. */
  readonly binding: readonly string[];
  /** The chosen design as a spec document (`tokenworks simulate` and `estimate` read it back). */
  readonly spec?: SpecInput;
}

const GiB = 2 ** 30;
const money = (usd: number) => (usd >= 1e9 ? `$${(usd / 1e9).toFixed(2)}B` : `$${(usd / 1e6).toFixed(2)}M`);
const layout = (plan: ResolvedPlan) => `${planLayout(plan)} mb${plan.microBatch}`;
const memoryOption = (plan: ResolvedPlan) =>
  [
    plan.sharding,
    plan.recomputation === 'full'
      ? `recompute${plan.recomputeLayers ? ` ${plan.recomputeLayers}/chunk` : ''}`
      : 'no recompute',
    plan.lowPrecisionWeights ? 'FP8 weights' : '',
  ]
    .filter(Boolean)
    .join(', ');

interface Tables {
  readonly plans?: { headers: string[]; rows: string[][] };
  readonly pareto?: { headers: string[]; rows: string[][] };
  readonly step?: { headers: string[]; rows: string[][] };
  readonly memory?: { headers: string[]; rows: string[][] };
  readonly network?: { headers: string[]; rows: string[][] };
  readonly power?: { headers: string[]; rows: string[][] };
  readonly cost?: { headers: string[]; rows: string[][] };
}

function tables(outcome: PlanOutcome): Tables {
  const out: Record<string, { headers: string[]; rows: string[][] }> = {};
  if (outcome.search) {
    out.plans = {
      headers: ['#', 'layout', 'precision', 'memory', 'tokens/s/GPU', 'MFU', 'step s', 'GiB/GPU'],
      rows: outcome.search.best.map((ranked, i) => [
        String(i + 1),
        layout(ranked.plan),
        ranked.precision,
        memoryOption(ranked.plan),
        formatInteger(ranked.estimate.tokensPerSecondPerGpu),
        `${(100 * ranked.estimate.mfu).toFixed(1)}%`,
        ranked.estimate.step.seconds.toFixed(2),
        (ranked.estimate.memory.total / GiB).toFixed(1),
      ]),
    };
  }
  if (outcome.design) {
    out.pareto = {
      headers: ['accelerator', 'GPUs', 'layout', 'days', 'run cost', 'MW', '$/M tokens'],
      rows: outcome.design.pareto.map((p: DesignPoint) => [
        p.accelerator,
        formatInteger(p.gpus),
        layout(p.plan),
        p.factory.kpis.timeToTrainDays.toFixed(1),
        money(p.factory.costUSD.run),
        (p.factory.powerKW.facility / 1000).toFixed(2),
        p.factory.kpis.usdPerMillionTokens.toFixed(3),
      ]),
    };
  }
  const chosen = outcome.chosen;
  if (chosen) {
    const s = chosen.estimate.step;
    out.step = {
      headers: ['step part', 'seconds', 'share'],
      rows: [
        ...stepParts(s).map(([name, v]) => [name, v.toFixed(3), `${((100 * v) / s.seconds).toFixed(1)}%`]),
        ['total', s.seconds.toFixed(3), '100%'],
      ],
    };
    const m = chosen.estimate.memory;
    out.memory = {
      headers: ['memory per GPU', 'GiB'],
      rows: [...memoryParts(m), ['capacity', m.capacity] as [string, number]].map(([name, v]) => [
        name,
        (v / GiB).toFixed(1),
      ]),
    };
    const f = chosen.factory;
    if (f) {
      out.network = {
        headers: ['bill of materials', 'count'],
        rows: [
          ['GPUs', formatInteger(f.gpus)],
          ['servers / compute trays', formatInteger(f.nodes)],
          [`racks (${f.gpusPerRack} GPUs each)`, formatInteger(f.racks)],
          [`leaf switches (${f.fabric.radix}-port)`, formatInteger(f.fabric.leaves)],
          ['spine switches', formatInteger(f.fabric.spines)],
          ['core switches', formatInteger(f.fabric.cores)],
          ['host links (NIC to leaf)', formatInteger(f.fabric.hostLinks)],
          ['leaf-spine links', formatInteger(f.fabric.leafSpineLinks)],
          ['spine-core links', formatInteger(f.fabric.spineCoreLinks)],
          ['optical transceivers', formatInteger(f.fabric.transceivers)],
          ['checkpoint write bandwidth', `${f.storage.writeGBps.toFixed(0)} GB/s`],
        ],
      };
      out.power = {
        headers: ['power', 'MW'],
        rows: [
          ['compute (servers, racks)', f.powerKW.compute],
          ['network (switches, optics)', f.powerKW.network],
          ['storage and management', f.powerKW.storage],
          ['IT total', f.powerKW.it],
          ['facility (× PUE)', f.powerKW.facility],
        ].map(([name, v]) => [String(name), ((v as number) / 1000).toFixed(2)]),
      };
      out.cost = {
        headers: ['cost and KPIs', 'value'],
        rows: [
          ['servers', money(f.costUSD.servers)],
          ['network', money(f.costUSD.network)],
          ['building', money(f.costUSD.building)],
          ['capex', money(f.costUSD.capex)],
          ['$ per GPU-hour (amortised + energy)', `$${f.costUSD.perGpuHour.toFixed(2)}`],
          ['training run', money(f.costUSD.run)],
          ['time to train', `${f.kpis.timeToTrainDays.toFixed(1)} days`],
          ['$ per million tokens', `$${f.kpis.usdPerMillionTokens.toFixed(3)}`],
          ['tokens per MWh', formatCount(f.kpis.tokensPerMWh)],
        ],
      };
    }
  }
  return out as Tables;
}

/** Plain-text report. */
export function renderPlanText(outcome: PlanOutcome): string {
  const t = tables(outcome);
  const parts: string[] = [outcome.title];
  const table = (tab: { headers: string[]; rows: string[][] } | undefined) =>
    tab
      ? renderTable(
          tab.headers.map((header, i) => ({
            header,
            align: i === 0 || ['layout', 'memory', 'accelerator', 'precision'].includes(header) ? 'left' : 'right',
          })),
          tab.rows,
        )
      : undefined;
  if (outcome.search) {
    const rejected = Object.entries(outcome.search.rejected)
      .map(([code, n]) => `${formatInteger(n)} ${code.replaceAll('_', ' ')}`)
      .join(', ');
    parts.push(
      '',
      `${formatInteger(outcome.search.candidates)} layouts, ${formatInteger(outcome.search.feasible)} feasible${rejected ? `; rejected: ${rejected}` : ''}`,
    );
    parts.push('', table(t.plans) ?? '');
  }
  if (outcome.design) {
    parts.push(
      '',
      `${outcome.design.points.length} designs evaluated, ${outcome.design.skipped.length} skipped; Pareto front over time, cost and power:`,
    );
    parts.push('', table(t.pareto) ?? '');
  }
  if (outcome.binding.length > 0) parts.push('', `${noResult(outcome)}:`, ...outcome.binding.map((b) => `  - ${b}`));
  const chosen = outcome.chosen;
  if (chosen) {
    parts.push(
      '',
      `Chosen: ${formatInteger(chosen.system.gpuCount)} × ${chosen.system.accelerator.name}, ${layout(chosen.plan)}, ${memoryOption(chosen.plan)}`,
    );
    parts.push(...chosen.reasons.map((reason) => `  - ${reason}`));
    for (const key of ['step', 'memory', 'network', 'power', 'cost'] as const) {
      const tab = table(t[key]);
      if (tab) parts.push('', tab);
    }
    if (chosen.factoryIssues?.length) parts.push('', ...chosen.factoryIssues.map((issue) => `factory: ${issue}`));
  }
  return parts.join('\n');
}

const noResult = (outcome: PlanOutcome) =>
  outcome.mode === 'plans' ? 'No plan runs on this system' : 'No design meets the constraints';

/** Markdown report. */
export function renderPlanMarkdown(outcome: PlanOutcome): string {
  const t = tables(outcome);
  const md = markdownTable;
  const parts = [`# ${outcome.title}`];
  if (t.plans) parts.push('## Best plans', md(t.plans));
  if (t.pareto) parts.push('## Pareto front (time, cost, power)', md(t.pareto));
  if (outcome.binding.length) parts.push(`## ${noResult(outcome)}`, ...outcome.binding.map((b) => `- ${b}`));
  if (outcome.chosen) {
    parts.push('## Chosen design', ...outcome.chosen.reasons.map((r) => `- ${r}`));
    if (t.step) parts.push('### Step time', md(t.step));
    if (t.memory) parts.push('### Memory per GPU', md(t.memory));
    if (t.network) parts.push('### Bill of materials', md(t.network));
    if (t.power) parts.push('### Power', md(t.power));
    if (t.cost) parts.push('### Cost and KPIs', md(t.cost));
    if (outcome.chosen.factoryIssues?.length) {
      parts.push('### Factory', ...outcome.chosen.factoryIssues.map((issue) => `- cannot be built: ${issue}`));
    }
  }
  return `${parts.join('\n\n')}\n`;
}

/** Inline SVG scatter of the Pareto front: time to train (x, log) against run cost (y), labelled. */
function paretoSvg(points: readonly DesignPoint[]): string {
  if (points.length === 0) return '';
  const width = 640;
  const height = 360;
  const pad = 56;
  const xs = points.map((p) => Math.log10(p.factory.kpis.timeToTrainDays));
  const ys = points.map((p) => p.factory.costUSD.run / 1e6);
  const [x0, x1] = [Math.min(...xs), Math.max(...xs) + 1e-9];
  const [y0, y1] = [0, Math.max(...ys) * 1.1 + 1e-9];
  const px = (x: number) => pad + ((x - x0) / (x1 - x0 || 1)) * (width - 2 * pad);
  const py = (y: number) => height - pad - ((y - y0) / (y1 - y0)) * (height - 2 * pad);
  const dots = points
    .map((p, i) => {
      const cx = px(xs[i] ?? 0).toFixed(1);
      const cy = py(ys[i] ?? 0).toFixed(1);
      return `<circle cx="${cx}" cy="${cy}" r="4"><title>${escapeHtml(`${p.gpus} × ${p.acceleratorName}: ${p.factory.kpis.timeToTrainDays.toFixed(1)} days, ${money(p.factory.costUSD.run)}, ${(p.factory.powerKW.facility / 1000).toFixed(2)} MW`)}</title></circle><text x="${Number(cx) + 6}" y="${Number(cy) - 6}">${escapeHtml(`${p.gpus}×${p.accelerator}`)}</text>`;
    })
    .join('');
  return `<svg viewBox="0 0 ${width} ${height}" role="img" aria-label="Pareto front"><line x1="${pad}" y1="${height - pad}" x2="${width - pad}" y2="${height - pad}" stroke="#444"/><line x1="${pad}" y1="${pad}" x2="${pad}" y2="${height - pad}" stroke="#444"/><text x="${width / 2}" y="${height - 16}" text-anchor="middle">time to train, days (log scale: ${(10 ** x0).toFixed(1)} to ${(10 ** x1).toFixed(1)})</text><text x="16" y="${height / 2}" transform="rotate(-90 16 ${height / 2})" text-anchor="middle">run cost, $M</text>${dots}</svg>`;
}

/** Self-contained HTML report: inline CSS and SVG, no scripts, no external resources. */
export function renderPlanHtml(outcome: PlanOutcome): string {
  const t = tables(outcome);
  const html = htmlTable;
  const sections = [
    `<h1>${escapeHtml(outcome.title)}</h1>`,
    outcome.design ? `<h2>Pareto front</h2>${paretoSvg(outcome.design.pareto)}${html('Pareto points', t.pareto)}` : '',
    outcome.search ? html('Best plans', t.plans) : '',
    outcome.binding.length
      ? `<h2>${noResult(outcome)}</h2><ul>${outcome.binding.map((b) => `<li>${escapeHtml(b)}</li>`).join('')}</ul>`
      : '',
    outcome.chosen
      ? `<h2>Chosen design</h2><ul>${outcome.chosen.reasons.map((r) => `<li>${escapeHtml(r)}</li>`).join('')}</ul>${html('Step time', t.step)}${html('Memory per GPU', t.memory)}${html('Bill of materials', t.network)}${html('Power', t.power)}${html('Cost and KPIs', t.cost)}${outcome.chosen.factoryIssues?.length ? `<h3>Factory</h3><ul>${outcome.chosen.factoryIssues.map((issue) => `<li>cannot be built: ${escapeHtml(issue)}</li>`).join('')}</ul>` : ''}`
      : '',
  ];
  return htmlPage(outcome.title, sections.join(''));
}
