/**
 * The Simulate page: the digital twin of the whole run as a job (`POST /v1/jobs/simulate`): the ETTR, goodput and
 * time-to-train figures, the timeline of replica 0 (tokens/s over the run, interruptions marked), the ETTR
 * distribution over the replicas (its quantile function: the API answers min, P10, P50, P90 and max), and badput
 * and interruptions by cause.
 * @module
 */
import { useMemo, useState } from 'preact/hooks';
import type uPlot from 'uplot';
import type { SimulateOutput } from './api.js';
import { bars, Chart, type ChartOptions, COLOURS, ticks } from './chart.js';
import { Facts, fmt, pct, RunBar } from './run.js';
import { results, useStore } from './state.js';

/** Replica 0's timeline: tokens/s per bucket, days on x. */
function Timeline(props: { readonly outcome: SimulateOutput }) {
  const { timeline } = props.outcome.example;
  const { data, options } = useMemo(() => {
    const days = timeline.tokensPerSecond.map((_, i) => ((i + 0.5) * timeline.bucketSeconds) / 86400);
    const data: uPlot.AlignedData = [days, timeline.tokensPerSecond.map((v) => v / 1e6)];
    const options: ChartOptions = {
      scales: { x: { time: false } },
      axes: [
        { label: 'days from the start', values: ticks((v) => fmt(v)) },
        { label: 'tokens/s (millions)', values: ticks((v) => fmt(v)), size: 56 },
      ],
      series: [
        { label: 'day', value: (_, v) => fmt(v) },
        {
          label: 'tokens/s (M)',
          stroke: COLOURS.blue,
          fill: 'rgba(0,114,178,0.12)',
          width: 1.5,
          points: { show: false },
        },
      ],
    };
    return { data, options };
  }, [props.outcome]);
  return (
    <Chart
      name="timeline"
      title={`Replica 0: training throughput over the run (buckets of ${fmt(timeline.bucketSeconds / 60)} min; dips are interruptions and restarts)`}
      options={options}
      data={data}
    />
  );
}

/** The ETTR over the replicas as a quantile function: share of replicas (x) against ETTR (y). */
function EttrDistribution(props: { readonly outcome: SimulateOutput }) {
  const figure = props.outcome.figures.ettr as {
    p10: number | null;
    p50: number | null;
    p90?: number | null;
    min?: number | null;
    max?: number | null;
  };
  const { data, options } = useMemo(() => {
    const quantiles: [number, number | null | undefined][] = [
      [0, figure.min],
      [0.1, figure.p10],
      [0.5, figure.p50],
      [0.9, figure.p90],
      [1, figure.max],
    ];
    const kept = quantiles.filter(([, v]) => v != null && Number.isFinite(v)) as [number, number][];
    const data: uPlot.AlignedData = [kept.map(([q]) => q), kept.map(([, v]) => v)];
    const options: ChartOptions = {
      scales: { x: { time: false, range: [0, 1] } },
      axes: [
        { label: 'share of replicas at or below (quantile)', values: ticks((v) => `${fmt(v * 100)} %`) },
        { label: 'ETTR', values: ticks((v) => fmt(v, 4)), size: 60 },
      ],
      series: [
        { label: 'quantile', value: (_, v) => (v == null ? '–' : `${fmt(v * 100)} %`) },
        { label: 'ETTR', stroke: COLOURS.green, width: 2, points: { show: true, size: 7 }, value: (_, v) => fmt(v, 4) },
      ],
    };
    return { data, options };
  }, [props.outcome]);
  return (
    <Chart
      name="ettr"
      title={`ETTR over ${props.outcome.replicas} replicas: min, P10, P50, P90, max (the distribution's quantile function)`}
      options={options}
      data={data}
      height={220}
    />
  );
}

/** Mean badput hours by cause, with each cause's P10–P90 in the legend. */
function Badput(props: { readonly outcome: SimulateOutput }) {
  const { data, options } = useMemo(() => {
    const causes = Object.entries(props.outcome.badputHours).filter(([, s]) => s.mean > 0 || s.p90 > 0);
    const names = causes.map(([c]) => c);
    const data: uPlot.AlignedData = [names.map((_, i) => i), causes.map(([, s]) => s.mean)];
    const options: ChartOptions = {
      scales: { x: { time: false, range: [-0.6, Math.max(1, names.length) - 0.4] } },
      cursor: { show: false },
      legend: { show: false },
      axes: [
        { values: ticks((v) => (Number.isInteger(v) ? (names[v] ?? '') : '')) },
        { label: 'hours (mean over replicas)', values: ticks((v) => fmt(v)), size: 56 },
      ],
      series: [
        {},
        { label: 'hours', fill: 'rgba(213,94,0,0.7)', stroke: COLOURS.red, paths: bars(), points: { show: false } },
      ],
    };
    return { data, options };
  }, [props.outcome]);
  return (
    <Chart
      name="badput"
      title="Badput by cause: hours of the run lost, mean over the replicas"
      options={options}
      data={data}
      height={240}
    />
  );
}

/** What a simulate run answered. */
function SimulateView(props: { readonly outcome: SimulateOutput }) {
  const o = props.outcome;
  const stat = (s: { p10: number | null; p50: number | null; p90: number | null }, f: (x: number | null) => string) =>
    `${f(s.p50)} (P10 ${f(s.p10)}, P90 ${f(s.p90)})`;
  return (
    <div class="result" data-result="simulate">
      <h2>{o.title}</h2>
      <div class="grid three">
        <Facts
          title="The run"
          rows={[
            ['design', `${o.design.gpus.toLocaleString('en-US')} × ${o.design.accelerator}, ${o.design.layout}`],
            ['replicas', `${o.replicas} (seed ${o.seed}), ${o.finished} trained to the end`],
            ['step', `${fmt(o.design.stepSeconds)} s, ${fmt(o.design.tokensPerSecond / 1e6)} M tokens/s`],
          ]}
        />
        <Facts
          title="Figures (P50)"
          rows={[
            ['ETTR', stat(o.ettr, (x) => pct(x, 4))],
            ['goodput', stat(o.goodput, (x) => pct(x, 4))],
            ['time to train', `${stat(o.timeToTrainDays, (x) => fmt(x))} days`],
            ['unexpected interruptions', stat(o.unexpectedInterruptions, (x) => fmt(x))],
          ]}
        />
        <Facts
          title="Interruptions by cause (mean)"
          rows={Object.entries(o.interruptionsByCause)
            .filter(([, s]) => s.mean > 0)
            .map(([cause, s]) => [cause, fmt(s.mean)] as const)}
        />
      </div>
      <Timeline outcome={o} />
      <div class="grid two">
        <EttrDistribution outcome={o} />
        <Badput outcome={o} />
      </div>
      {o.warnings.length > 0 && (
        <ul class="notes">
          {o.warnings.map((w) => (
            <li key={w.path}>
              <code>{w.path}</code> {w.message}
            </li>
          ))}
        </ul>
      )}
    </div>
  );
}

/** The Simulate page. */
export function SimulatePage() {
  const outcome = useStore(results.simulate) as SimulateOutput | undefined;
  const [replicas, setReplicas] = useState('20');
  const [days, setDays] = useState('');
  return (
    <section class="page">
      <header class="page-head">
        <h1>Simulate</h1>
        <p>
          A seeded Monte Carlo of the whole training run on the spec's design: failures, restarts, checkpoints, spares.
        </p>
      </header>
      <RunBar
        kind="simulate"
        label="Run simulation"
        result={results.simulate}
        query={() => ({ replicas, ...(days.trim() !== '' && { days: days.trim() }) })}
      >
        <label>
          replicas{' '}
          <input
            type="number"
            min={1}
            max={100000}
            value={replicas}
            onInput={(e) => setReplicas((e.target as HTMLInputElement).value)}
          />
        </label>
        <label>
          days{' '}
          <input
            type="number"
            min={0}
            placeholder="until trained"
            value={days}
            onInput={(e) => setDays((e.target as HTMLInputElement).value)}
          />
        </label>
      </RunBar>
      {outcome && <SimulateView outcome={outcome} />}
    </section>
  );
}
