/**
 * The Operate page: the live run the server follows (`GET /v1/live/events`, a snapshot about once a second; with
 * `serve --demo`, the emulated factory): its KPIs against the plan's band, the step-time series, a per-host
 * heatmap (canvas) of relative step time, board power and temperature over the recent scrapes, the detections and
 * the actions they call for, and the forecast fan of the time to train.
 * @module
 */
import { useEffect, useMemo, useRef, useState } from 'preact/hooks';
import type uPlot from 'uplot';
import type { LiveSnapshot } from '../../src/app/demo.js';
import { eventSource, request } from './api.js';
import { Chart, type ChartOptions, COLOURS, ticks } from './chart.js';
import { fmt, pct } from './run.js';

type Comparison = NonNullable<LiveSnapshot['planVersusActual']>[number];
type Heatmap = NonNullable<LiveSnapshot['heatmap']>;

/** The live snapshot, followed over server-sent events (the stream ends when there is no live run). */
function useLive(): { snapshot: LiveSnapshot | undefined; connected: boolean } {
  const [snapshot, setSnapshot] = useState<LiveSnapshot | undefined>(undefined);
  const [connected, setConnected] = useState(false);
  useEffect(() => {
    let closed = false;
    void request<LiveSnapshot>('/v1/live').then((answer) => {
      if (!closed && answer.ok) setSnapshot((current) => current ?? answer.body);
    });
    const source = eventSource('/v1/live/events');
    source.addEventListener('open', () => setConnected(true));
    source.addEventListener('snapshot', (event: MessageEvent<string>) => {
      const next = JSON.parse(event.data) as LiveSnapshot;
      setSnapshot(next);
      if (next.status === 'none') {
        source.close();
        setConnected(false);
      }
    });
    source.onerror = () => setConnected(source.readyState === EventSource.OPEN);
    return () => {
      closed = true;
      source.close();
    };
  }, []);
  return { snapshot, connected };
}

/** How a figure is shown: its value with its unit. */
function show(c: Comparison, value: number | undefined): string {
  if (value === undefined) return '–';
  if (c.unit === 'ratio' || c.metric === 'mfu' || c.metric === 'ettr' || c.metric === 'goodput') return pct(value);
  return `${fmt(value)} ${c.unit}`;
}

/** One KPI against the plan's band. */
function Kpi(props: { readonly c: Comparison }) {
  const { c } = props;
  return (
    <div class={`kpi ${c.status}`} data-metric={c.metric} title={c.bandSource}>
      <div class="kpi-label">{c.label}</div>
      <div class="kpi-value">{show(c, c.actual)}</div>
      <div class="kpi-band">
        plan {show(c, c.predicted)}, band {show(c, c.band.low)} – {show(c, c.band.high)}
      </div>
      <div class="kpi-status">
        {c.status}
        {c.likelyCause ? `: ${c.likelyCause}` : ''}
      </div>
    </div>
  );
}

/** Colour stops of the heatmap's scale (viridis, sampled). */
const SCALE = ['#440154', '#3b528b', '#21918c', '#5ec962', '#fde725'];

/** The scale's colour at `t` in [0, 1]. */
function colourAt(t: number): string {
  const x = Math.min(1, Math.max(0, t)) * (SCALE.length - 1);
  const i = Math.min(SCALE.length - 2, Math.floor(x));
  const f = x - i;
  const a = SCALE[i] as string;
  const b = SCALE[i + 1] as string;
  const channel = (k: number) => {
    const p = Number.parseInt(a.slice(1 + 2 * k, 3 + 2 * k), 16);
    const q = Number.parseInt(b.slice(1 + 2 * k, 3 + 2 * k), 16);
    return Math.round(p + (q - p) * f);
  };
  return `rgb(${channel(0)}, ${channel(1)}, ${channel(2)})`;
}

const HEAT_METRICS = {
  stepTime: {
    label: 'relative step time (median host = 1, from the slowest GPU\u2019s SM clock)',
    unit: '×',
    digits: 3,
  },
  powerW: { label: 'mean board power per GPU', unit: 'W', digits: 3 },
  temperatureC: { label: 'hottest GPU', unit: '°C', digits: 3 },
} as const;
type HeatMetric = keyof typeof HEAT_METRICS;

/** The per-host heatmap: hosts in rows, scrapes in columns, the chosen metric's colour scale beside. */
function HostHeatmap(props: { readonly heatmap: Heatmap }) {
  const [metric, setMetric] = useState<HeatMetric>('stepTime');
  const canvas = useRef<HTMLCanvasElement>(null);
  const [hover, setHover] = useState<string>('');
  const { heatmap } = props;
  const matrix = heatmap[metric];
  const domain = useMemo(() => {
    let lo = Number.POSITIVE_INFINITY;
    let hi = Number.NEGATIVE_INFINITY;
    for (const column of matrix) for (const v of column) if (v != null) [lo, hi] = [Math.min(lo, v), Math.max(hi, v)];
    if (!Number.isFinite(lo)) return [0, 1] as const;
    return hi - lo < 1e-9 ? ([lo - 0.5, hi + 0.5] as const) : ([lo, hi] as const);
  }, [matrix]);
  const rows = heatmap.hosts.length;
  const cellHeight = Math.max(4, Math.min(14, Math.floor(420 / Math.max(1, rows))));
  useEffect(() => {
    const element = canvas.current;
    if (!element) return;
    const ratio = window.devicePixelRatio || 1;
    const width = element.clientWidth || 600;
    const height = rows * cellHeight;
    element.width = width * ratio;
    element.height = height * ratio;
    const ctx = element.getContext('2d');
    if (!ctx) return;
    ctx.scale(ratio, ratio);
    ctx.fillStyle = '#eef0f3';
    ctx.fillRect(0, 0, width, height);
    const columns = matrix.length;
    const cellWidth = width / Math.max(1, columns);
    matrix.forEach((column, c) => {
      column.forEach((v, h) => {
        if (v == null) return;
        ctx.fillStyle = colourAt((v - domain[0]) / (domain[1] - domain[0]));
        ctx.fillRect(c * cellWidth, h * cellHeight, Math.ceil(cellWidth), cellHeight);
      });
    });
    element.dataset.cells = String(matrix.reduce((n, column) => n + column.filter((v) => v != null).length, 0));
  }, [matrix, domain, rows, cellHeight]);
  const spec = HEAT_METRICS[metric];
  const onMove = (event: MouseEvent) => {
    const element = canvas.current;
    if (!element || matrix.length === 0) return;
    const box = element.getBoundingClientRect();
    const c = Math.floor(((event.clientX - box.left) / box.width) * matrix.length);
    const h = Math.floor((event.clientY - box.top) / cellHeight);
    const v = matrix[c]?.[h];
    const host = heatmap.hosts[h];
    const hours = heatmap.hours[c];
    setHover(
      host === undefined || hours === undefined
        ? ''
        : `${host} at ${fmt(hours)} h: ${v == null ? 'no sample' : `${fmt(v, spec.digits)} ${spec.unit}`}`,
    );
  };
  return (
    <figure class="heatmap" data-chart="heatmap">
      <figcaption>
        Per host, per scrape:{' '}
        <select
          value={metric}
          onChange={(e) => setMetric((e.target as HTMLSelectElement).value as HeatMetric)}
          aria-label="heatmap metric"
        >
          {Object.entries(HEAT_METRICS).map(([key, m]) => (
            <option key={key} value={key}>
              {m.label}
            </option>
          ))}
        </select>
      </figcaption>
      <div class="heatmap-body">
        <div class="heatmap-hosts" style={{ lineHeight: `${cellHeight}px`, fontSize: `${Math.min(11, cellHeight)}px` }}>
          {rows <= 40 ? heatmap.hosts.map((h) => <div key={h}>{h}</div>) : <div>{rows} hosts</div>}
        </div>
        <canvas
          ref={canvas}
          style={{ height: `${rows * cellHeight}px` }}
          onMouseMove={onMove}
          onMouseLeave={() => setHover('')}
        />
        <div class="scale" role="img" aria-label="colour scale">
          <span>
            {fmt(domain[1], spec.digits)} {spec.unit}
          </span>
          <div class="scale-bar" style={{ background: `linear-gradient(to top, ${SCALE.join(', ')})` }} />
          <span>
            {fmt(domain[0], spec.digits)} {spec.unit}
          </span>
        </div>
      </div>
      <p class="note">
        {heatmap.hours.length > 0
          ? `${fmt(heatmap.hours[0])} h to ${fmt(heatmap.hours.at(-1))} h of the run`
          : 'no scrape yet'}
        {hover && ` — ${hover}`}
      </p>
    </figure>
  );
}

/** The step time of each logged iteration, the plan's band drawn beside it. */
function StepChart(props: { readonly snapshot: LiveSnapshot }) {
  const band = props.snapshot.planVersusActual?.find((c) => c.metric === 'stepSeconds');
  const low = band?.band.low;
  const high = band?.band.high;
  const options = useMemo<ChartOptions>(
    () => ({
      scales: { x: { time: false } },
      axes: [
        { label: 'hours from the start', values: ticks((v) => fmt(v)) },
        { label: 'seconds per iteration', values: ticks((v) => fmt(v)), size: 56 },
      ],
      series: [
        { label: 'hour', value: (_, v) => fmt(v) },
        { label: 'step time', stroke: COLOURS.blue, width: 1, points: { show: false }, value: (_, v) => fmt(v) },
        {
          label: 'plan band, low',
          stroke: COLOURS.green,
          dash: [6, 4],
          points: { show: false },
          value: (_, v) => fmt(v),
        },
        {
          label: 'plan band, high',
          stroke: COLOURS.green,
          dash: [6, 4],
          points: { show: false },
          value: (_, v) => fmt(v),
        },
      ],
    }),
    [],
  );
  const steps = props.snapshot.steps;
  const data = useMemo<uPlot.AlignedData>(() => {
    const hours = steps?.hours ?? [];
    return [
      hours as number[],
      (steps?.seconds ?? []) as number[],
      hours.map(() => low ?? null),
      hours.map(() => high ?? null),
    ];
  }, [steps, low, high]);
  return (
    <Chart name="live-steps" title="Step time, against the plan's band" options={options} data={data} height={240} />
  );
}

/** The forecasts of the time to train made along the run: P50, and the P10–P90 fan. */
function ForecastFan(props: { readonly snapshot: LiveSnapshot }) {
  const forecast = props.snapshot.forecast;
  const options = useMemo<ChartOptions>(
    () => ({
      scales: { x: { time: false } },
      bands: [{ series: [3, 1], fill: 'rgba(0,114,178,0.18)' }],
      axes: [
        { label: 'hours of the run observed', values: ticks((v) => fmt(v)) },
        { label: 'time to train (days)', values: ticks((v) => fmt(v)), size: 56 },
      ],
      series: [
        { label: 'observed', value: (_, v) => `${fmt(v)} h` },
        { label: 'P10', stroke: 'rgba(0,114,178,0.5)', points: { show: false }, value: (_, v) => fmt(v) },
        { label: 'P50', stroke: COLOURS.blue, width: 2, points: { show: true, size: 5 }, value: (_, v) => fmt(v) },
        { label: 'P90', stroke: 'rgba(0,114,178,0.5)', points: { show: false }, value: (_, v) => fmt(v) },
        ...(forecast?.deadlineDays !== undefined
          ? [
              {
                label: 'deadline',
                stroke: COLOURS.red,
                dash: [6, 4],
                points: { show: false },
                value: (_u: uPlot, v: number | null) => fmt(v),
              },
            ]
          : []),
      ],
    }),
    [forecast?.deadlineDays],
  );
  const data = useMemo<uPlot.AlignedData>(() => {
    const points = forecast?.points ?? [];
    return [
      points.map((p) => p.hours),
      points.map((p) => p.p10),
      points.map((p) => p.p50),
      points.map((p) => p.p90),
      ...(forecast?.deadlineDays !== undefined ? [points.map(() => forecast.deadlineDays as number)] : []),
    ];
  }, [forecast]);
  const last = forecast?.points.at(-1);
  return (
    <Chart
      name="forecast"
      title="Forecast of the time to train, from what has been observed (P10–P90 fan)"
      options={options}
      data={data}
      height={240}
      note={
        last
          ? `latest: P50 ${fmt(last.p50)} days (P10 ${fmt(last.p10)}, P90 ${fmt(last.p90)})${last.meetDeadlineProbability !== undefined ? `; ${pct(last.meetDeadlineProbability)} chance to meet the deadline` : ''}`
          : 'the first forecast comes after the first hour of the run'
      }
    />
  );
}

/** The Operate page. */
export function OperatePage() {
  const { snapshot, connected } = useLive();
  if (!snapshot)
    return (
      <section class="page">
        <p>connecting to the live run…</p>
      </section>
    );
  if (snapshot.status !== 'running') {
    return (
      <section class="page">
        <header class="page-head">
          <h1>Operate</h1>
        </header>
        <p class="empty" data-status={snapshot.status}>
          {snapshot.status === 'preparing' ? `Preparing: ${snapshot.reason ?? ''}…` : snapshot.reason}
        </p>
      </section>
    );
  }
  const { run, clock, progress, kpis, gpu } = snapshot;
  const start = run ? Date.parse(run.startTime) : 0;
  return (
    <section class="page" data-live-sequence={snapshot.sequence}>
      <header class="page-head">
        <h1>Operate</h1>
        <p>
          {run?.title} — {run?.design.gpus.toLocaleString('en-US')} × {run?.design.accelerator}, {run?.design.layout},{' '}
          {run?.design.hosts} hosts. {connected ? 'live' : 'reconnecting…'}
        </p>
      </header>
      <div class="live-clock">
        <span>
          run time <strong data-testid="run-hours">{fmt((clock?.runSeconds ?? 0) / 3600, 4)} h</strong> of{' '}
          {fmt((run?.wallSeconds ?? 0) / 3600)} h at {clock?.speed}× real time (
          {new Date(start + (clock?.runSeconds ?? 0) * 1000).toISOString().slice(0, 19).replace('T', ' ')} UTC)
        </span>
        <span>
          iteration <strong data-testid="iteration">{progress?.iteration ?? 0}</strong> ({progress?.lines ?? 0} lines
          {progress?.lastStepSeconds !== undefined ? `, last ${fmt(progress.lastStepSeconds)} s` : ''})
        </span>
        <progress max={1} value={clock?.share ?? 0} />
      </div>
      <div class="kpis">
        {(snapshot.planVersusActual ?? []).map((c) => (
          <Kpi key={c.metric} c={c} />
        ))}
        {gpu && (
          <div class="kpi info" data-metric="gpu">
            <div class="kpi-label">GPUs seen</div>
            <div class="kpi-value">{gpu.gpus}</div>
            <div class="kpi-band">
              max {fmt(gpu.maxTemperatureC)} °C, throttled {pct(gpu.throttledShare)}, {gpu.xidEvents} XID events
            </div>
            <div class="kpi-status">
              {gpu.tokensPerMWh !== undefined ? `${fmt(gpu.tokensPerMWh / 1e9)} B tokens per MWh` : ''}
            </div>
          </div>
        )}
        {kpis && (
          <div class="kpi info" data-metric="badput">
            <div class="kpi-label">Badput so far</div>
            <div class="kpi-value">{pct(1 - kpis.run.goodput)}</div>
            <div class="kpi-band">
              {Object.entries(kpis.run.badputShare)
                .filter(([, v]) => v > 0.0005)
                .map(([k, v]) => `${k} ${pct(v, 2)}`)
                .join(', ') || 'none'}
            </div>
            <div class="kpi-status">{kpis.run.restarts} restarts</div>
          </div>
        )}
      </div>
      <div class="grid two">
        <StepChart snapshot={snapshot} />
        <ForecastFan snapshot={snapshot} />
      </div>
      {snapshot.heatmap && <HostHeatmap heatmap={snapshot.heatmap} />}
      <div class="grid two">
        <div>
          <h2>Detections ({snapshot.detectionCount ?? 0}, the latest 20 shown)</h2>
          <table class="data detections">
            <thead>
              <tr>
                <th>hour</th>
                <th>kind</th>
                <th>where</th>
                <th>severity</th>
                <th>evidence</th>
              </tr>
            </thead>
            <tbody>
              {[...(snapshot.detections ?? [])]
                .reverse()
                .slice(0, 20)
                .map((d, i) => (
                  <tr key={i} class={d.severity}>
                    <td>{fmt((d.time - start / 1000) / 3600)}</td>
                    <td>{d.kind}</td>
                    <td>{d.gpu ?? d.host ?? (d.rank !== undefined ? `rank ${d.rank}` : 'job')}</td>
                    <td>{d.severity}</td>
                    <td>{d.evidence}</td>
                  </tr>
                ))}
            </tbody>
          </table>
        </div>
        <div>
          <h2>Actions ({snapshot.actions?.length ?? 0})</h2>
          <ul class="actions">
            {[...(snapshot.actions ?? [])].reverse().map((a, i) => (
              <li key={i}>
                <strong>{a.kind}</strong> {a.host ?? ''} at {fmt((a.time - start / 1000) / 3600)} h: {a.reason}
                {a.expectedGain && (
                  <span class="gain">
                    {' '}
                    Twin: ETTR {pct(a.expectedGain.ettrWithout, 4)} → {pct(a.expectedGain.ettrWith, 4)}.
                  </span>
                )}
              </li>
            ))}
          </ul>
        </div>
      </div>
    </section>
  );
}
