/**
 * The Compare page: the same workload on a dedicated factory and in a shared data center, as a job
 * (`POST /v1/jobs/compare`): time to train and cost per million tokens against the job size (GPUs, log scale),
 * the breakpoint (the size from which the factory wins on both) marked, and each size's figures.
 * @module
 */
import { useMemo, useState } from 'preact/hooks';
import type uPlot from 'uplot';
import type { CompareOutput } from './api.js';
import { Chart, type ChartOptions, COLOURS, markerPlugin, ticks } from './chart.js';
import { fmt, RunBar, usd } from './run.js';
import { results, useStore } from './state.js';

/** One figure of both sides against the job size, the breakpoint marked. */
function SideChart(props: {
  readonly name: string;
  readonly title: string;
  readonly unit: string;
  readonly outcome: CompareOutput;
  readonly pick: (side: { timeToTrainDays: number | null; usdPerMillionTokens: number | null }) => number | null;
}) {
  const { outcome, pick } = props;
  const { data, options } = useMemo(() => {
    const points = outcome.points;
    const data: uPlot.AlignedData = [
      points.map((p) => p.gpus),
      points.map((p) => pick(p.dedicated)),
      points.map((p) => pick(p.shared)),
    ];
    const breakpoint = outcome.breakpoint ?? undefined;
    const options: ChartOptions = {
      scales: { x: { time: false, distr: 3, log: 2 }, y: { distr: 3, log: 10 } },
      axes: [
        { label: 'job size (GPUs)', values: ticks((v) => v.toLocaleString('en-US')) },
        { label: props.unit, values: ticks((v) => fmt(v)), size: 60 },
      ],
      series: [
        { label: 'GPUs', value: (_, v) => (v == null ? '–' : v.toLocaleString('en-US')) },
        {
          label: 'dedicated factory',
          stroke: COLOURS.blue,
          width: 2,
          points: { show: true, size: 7 },
          value: (_, v) => fmt(v),
        },
        {
          label: 'shared data center',
          stroke: COLOURS.orange,
          width: 2,
          points: { show: true, size: 7 },
          value: (_, v) => fmt(v),
        },
      ],
      plugins:
        breakpoint === undefined
          ? []
          : [markerPlugin(() => breakpoint, `breakpoint: ${breakpoint.toLocaleString('en-US')} GPUs`)],
    };
    return { data, options };
  }, [outcome]);
  return <Chart name={props.name} title={props.title} options={options} data={data} />;
}

/** What a compare run answered. */
function CompareView(props: { readonly outcome: CompareOutput }) {
  const o = props.outcome;
  return (
    <div class="result" data-result="compare">
      <h2>{o.title}</h2>
      <p class={`headline ${o.breakpointStatus}`}>
        {o.breakpoint !== null ? `Breakpoint: ${o.breakpoint.toLocaleString('en-US')} GPUs. ` : ''}
        {o.breakpointReason}
      </p>
      <div class="grid two">
        <SideChart
          name="compare-time"
          title="Time to train against job size"
          unit="days"
          outcome={o}
          pick={(s) => s.timeToTrainDays}
        />
        <SideChart
          name="compare-cost"
          title="Cost per million tokens against job size"
          unit="$ per M tokens"
          outcome={o}
          pick={(s) => s.usdPerMillionTokens}
        />
      </div>
      <table class="data">
        <thead>
          <tr>
            <th>GPUs</th>
            <th>layout</th>
            <th>factory days</th>
            <th>shared days</th>
            <th>factory $/M tokens</th>
            <th>shared $/M tokens</th>
            <th>shared slowdown</th>
            <th>factory wins</th>
          </tr>
        </thead>
        <tbody>
          {o.points.map((p) => (
            <tr key={p.gpus}>
              <td>{p.gpus.toLocaleString('en-US')}</td>
              <td>{p.layout}</td>
              <td>{fmt(p.dedicated.timeToTrainDays)}</td>
              <td>{p.shared.started ? fmt(p.shared.timeToTrainDays) : 'never started'}</td>
              <td>{usd(p.dedicated.usdPerMillionTokens)}</td>
              <td>{usd(p.shared.usdPerMillionTokens)}</td>
              <td>× {fmt(p.shared.slowdown.total)}</td>
              <td>{[p.factoryWins.time && 'time', p.factoryWins.cost && 'cost'].filter(Boolean).join(', ') || '–'}</td>
            </tr>
          ))}
        </tbody>
      </table>
      {o.skipped.length > 0 && (
        <ul class="notes">
          {o.skipped.map((s) => (
            <li key={s.gpus}>
              {s.gpus.toLocaleString('en-US')} GPUs skipped: {s.reason}
            </li>
          ))}
        </ul>
      )}
      <ul class="notes">
        {o.settings.map((s) => (
          <li key={s}>{s}</li>
        ))}
      </ul>
    </div>
  );
}

/** The Compare page. */
export function ComparePage() {
  const outcome = useStore(results.compare) as CompareOutput | undefined;
  const [sizes, setSizes] = useState('256,1024,4096,16384');
  const [replicas, setReplicas] = useState('4');
  return (
    <section class="page">
      <header class="page-head">
        <h1>Compare</h1>
        <p>
          A dedicated AI factory against a shared, multi-tenant data center, across job sizes: where the factory wins.
        </p>
      </header>
      <RunBar kind="compare" label="Run comparison" result={results.compare} query={() => ({ sizes, replicas })}>
        <label>
          sizes <input value={sizes} onInput={(e) => setSizes((e.target as HTMLInputElement).value)} size={24} />
        </label>
        <label>
          replicas{' '}
          <input
            type="number"
            min={1}
            max={1000}
            value={replicas}
            onInput={(e) => setReplicas((e.target as HTMLInputElement).value)}
          />
        </label>
      </RunBar>
      {outcome && <CompareView outcome={outcome} />}
    </section>
  );
}
