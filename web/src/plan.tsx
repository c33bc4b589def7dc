/**
 * The Plan page: the editor's spec planned as a job (`POST /v1/jobs/plan`). A design search (a spec without a
 * system) gives the Pareto chart of its designs (time to train against the run's cost, each bubble's area the
 * facility power; the front and the recommended design marked), the recommended design's bill of materials, power
 * and cost; a plan search (a spec with a system) gives its ranked plans. Both show the chosen plan's step and
 * memory breakdowns and what the search looked at.
 * @module
 */
import { useMemo } from 'preact/hooks';
import type uPlot from 'uplot';
import type { PlanOutput } from './api.js';
import { bars, bubbles, Chart, type ChartOptions, COLOURS, ticks } from './chart.js';
import { Facts, fmt, pct, RunBar, usd } from './run.js';
import { results, useStore } from './state.js';

type DesignPoint = NonNullable<PlanOutput['design']>['points'][number];
type Estimate = NonNullable<PlanOutput['chosen']>['estimate'];
type Factory = NonNullable<NonNullable<PlanOutput['chosen']>['factory']>;

/** The Pareto chart of a design search: time to train (x) against the run's cost (y), bubbles sized by power. */
function ParetoChart(props: { readonly design: NonNullable<PlanOutput['design']> }) {
  const { design } = props;
  const { data, sizes, options } = useMemo(() => {
    const key = (p: DesignPoint) => `${p.accelerator}/${p.gpus}/${p.precision}`;
    const front = new Set(design.pareto.map(key));
    const best = design.recommended ? key(design.recommended) : undefined;
    const points = [...design.points].sort((a, b) => a.factory.kpis.timeToTrainDays - b.factory.kpis.timeToTrainDays);
    const x = points.map((p) => p.factory.kpis.timeToTrainDays);
    const cost = (p: DesignPoint) => p.factory.costUSD.run / 1e6;
    const power = points.map((p) => p.factory.powerKW.facility / 1000);
    const data: uPlot.AlignedData = [
      x,
      points.map((p) => (front.has(key(p)) ? null : cost(p))),
      points.map((p) => (front.has(key(p)) && key(p) !== best ? cost(p) : null)),
      points.map((p) => (key(p) === best ? cost(p) : null)),
    ];
    const sizes = () => power;
    const label = (i: number | null) => {
      const p = i == null ? undefined : points[i];
      return p ? `${p.acceleratorName} × ${p.gpus}, ${p.precision}: ${fmt(power[i as number])} MW` : '';
    };
    const options: ChartOptions = {
      scales: { x: { time: false } },
      legend: { live: true },
      cursor: { points: { show: false } },
      axes: [
        { label: 'time to train (days)', values: ticks((v) => fmt(v)) },
        { label: "the run's cost ($ M)", values: ticks((v) => fmt(v)), size: 60 },
      ],
      series: [
        { label: 'days', value: (_, v, __, i) => (v == null ? '–' : `${fmt(v)} d — ${label(i)}`) },
        {
          label: 'designs',
          stroke: COLOURS.grey,
          fill: 'rgba(138,143,152,0.35)',
          paths: bubbles(sizes),
          points: { show: false },
          value: (_, v) => (v == null ? '–' : `$${fmt(v)} M`),
        },
        {
          label: 'Pareto front',
          stroke: COLOURS.blue,
          fill: 'rgba(0,114,178,0.45)',
          paths: bubbles(sizes),
          points: { show: false },
          value: (_, v) => (v == null ? '–' : `$${fmt(v)} M`),
        },
        {
          label: 'recommended',
          stroke: COLOURS.red,
          fill: 'rgba(213,94,0,0.7)',
          paths: bubbles(sizes),
          points: { show: false },
          value: (_, v) => (v == null ? '–' : `$${fmt(v)} M`),
        },
      ],
    };
    return { data, sizes, options };
  }, [design]);
  void sizes;
  return (
    <Chart
      name="pareto"
      title={`Designs: time to train against the run's cost (${design.points.length} designs, ${design.pareto.length} on the Pareto front; bubble area: facility power)`}
      options={options}
      data={data}
      height={340}
    />
  );
}

/** Bars of named parts (the step's seconds, the memory's GiB). */
function PartsChart(props: {
  readonly name: string;
  readonly title: string;
  readonly unit: string;
  readonly parts: readonly (readonly [string, number])[];
  readonly capacity?: number;
}) {
  const { options, data } = useMemo(() => {
    const names = props.parts.map(([n]) => n);
    const data: uPlot.AlignedData = [
      names.map((_, i) => i),
      props.parts.map(([, v]) => v),
      ...(props.capacity !== undefined ? [names.map(() => props.capacity as number)] : []),
    ];
    const options: ChartOptions = {
      scales: { x: { time: false, range: [-0.6, names.length - 0.4] } },
      legend: { show: props.capacity !== undefined },
      cursor: { show: false },
      axes: [
        { values: ticks((v) => (Number.isInteger(v) ? (names[v] ?? '') : '')), gap: 6 },
        { label: props.unit, values: ticks((v) => fmt(v)), size: 56 },
      ],
      series: [
        { label: 'part', value: (_, v) => (v == null ? '–' : (names[v] ?? '')) },
        {
          label: props.unit,
          fill: 'rgba(0,114,178,0.7)',
          stroke: COLOURS.blue,
          paths: bars(),
          points: { show: false },
        },
        ...(props.capacity !== undefined
          ? [{ label: 'capacity', stroke: COLOURS.red, dash: [6, 4], points: { show: false } }]
          : []),
      ],
    };
    return { options, data };
  }, [props.parts, props.capacity, props.unit]);
  return <Chart name={props.name} title={props.title} options={options} data={data} height={220} />;
}

/** The step time and memory of a plan, by part. */
function Breakdown(props: { readonly estimate: Estimate }) {
  const { step, memory } = props.estimate;
  const c = step.exposedCommunication;
  const GiB = 2 ** 30;
  const stepParts = useMemo(
    () =>
      [
        ['compute', step.compute],
        ['bubble', step.bubble],
        ['imbal.', step.imbalance],
        ['TP', c.tp],
        ['CP', c.cp],
        ['EP', c.ep],
        ['PP', c.pp],
        ['DP', c.dp],
        ['optimizer', step.optimizer],
        ['offload', step.offload],
      ] as const,
    [props.estimate],
  );
  const memoryParts = useMemo(
    () =>
      [
        ['weights', memory.weights / GiB],
        ['gradients', memory.gradients / GiB],
        ['optimizer', memory.optimizer / GiB],
        ['activations', memory.activations / GiB],
        ['buffers', memory.buffers / GiB],
        ['reserve', memory.reserve / GiB],
      ] as const,
    [props.estimate],
  );
  return (
    <div class="grid two">
      <PartsChart
        name="step"
        title={`One step: ${fmt(step.seconds)} s; TP … DP: exposed communication (MFU ${pct(props.estimate.mfu)}, ${fmt(props.estimate.tokensPerSecondPerGpu)} tokens/s per GPU)`}
        unit="seconds"
        parts={stepParts}
      />
      <PartsChart
        name="memory"
        title={`Memory per GPU: ${fmt(memory.total / GiB)} of ${fmt(memory.capacity / GiB)} GiB (stage ${memory.stage})`}
        unit="GiB"
        parts={memoryParts}
        capacity={memory.capacity / GiB}
      />
    </div>
  );
}

/** The bill of materials, power and cost of a factory. */
function FactoryTables(props: { readonly factory: Factory; readonly accelerator: string }) {
  const f = props.factory;
  return (
    <div class="grid three">
      <Facts
        title="Bill of materials"
        rows={[
          [
            'accelerators',
            `${f.gpus.toLocaleString('en-US')} ${props.accelerator} (${f.purchasedGpus.toLocaleString('en-US')} bought, spares included)`,
          ],
          ['nodes', f.nodes.toLocaleString('en-US')],
          ['racks', `${f.racks.toLocaleString('en-US')} (${f.gpusPerRack} GPUs each)`],
          ['fabric', `${f.fabric.tiers} tiers, radix ${f.fabric.radix}`],
          [
            'switches',
            `${f.fabric.switches} (${f.fabric.leaves} leaf, ${f.fabric.spines} spine, ${f.fabric.cores} core)`,
          ],
          [
            'links',
            (
              f.fabric.hostLinks +
              f.fabric.leafSpineLinks +
              f.fabric.spineCoreLinks +
              f.fabric.coreSuperCoreLinks
            ).toLocaleString('en-US'),
          ],
          ['transceivers', f.fabric.transceivers.toLocaleString('en-US')],
          ['checkpoint', `${fmt(f.storage.checkpointBytes / 1e12)} TB at ${fmt(f.storage.writeGBps)} GB/s`],
        ]}
      />
      <Facts
        title="Power"
        rows={[
          ['compute', `${fmt(f.powerKW.compute / 1000)} MW`],
          ['network', `${fmt(f.powerKW.network / 1000)} MW`],
          ['storage', `${fmt(f.powerKW.storage / 1000)} MW`],
          ['IT', `${fmt(f.powerKW.it / 1000)} MW`],
          [
            'facility',
            `${fmt(f.powerKW.facility / 1000)} MW (provisioned ${fmt(f.powerKW.provisionedFacility / 1000)})`,
          ],
          ['per GPU at the facility', `${fmt(f.powerKW.perGpuAtFacility * 1000)} W`],
        ]}
      />
      <Facts
        title="Cost"
        rows={[
          ['servers', usd(f.costUSD.servers)],
          ['network', usd(f.costUSD.network)],
          ['building', usd(f.costUSD.building)],
          ['capex', usd(f.costUSD.capex)],
          ['per hour', `${usd(f.costUSD.perHour)} (energy ${usd(f.costUSD.energyPerHour)})`],
          ['per GPU-hour', usd(f.costUSD.perGpuHour)],
          ['the run', usd(f.costUSD.run)],
          ['time to train', `${fmt(f.kpis.timeToTrainDays)} days`],
          ['per million tokens', usd(f.kpis.usdPerMillionTokens)],
          ['tokens per MWh', fmt(f.kpis.tokensPerMWh)],
        ]}
      />
    </div>
  );
}

/** What a plan run answered. */
function PlanView(props: { readonly outcome: PlanOutput }) {
  const { outcome } = props;
  const design = outcome.design;
  const recommended = design?.recommended;
  const chosen = outcome.chosen;
  return (
    <div class="result" data-result="plan">
      <h2>{outcome.title}</h2>
      {design && <ParetoChart design={design} />}
      {design && design.binding.length > 0 && (
        <ul class="notes">
          {design.binding.map((b) => (
            <li key={b.constraint}>
              <strong>{b.constraint}</strong>: {b.message}
            </li>
          ))}
        </ul>
      )}
      {recommended && (
        <>
          <h3>
            Recommended: {recommended.gpus.toLocaleString('en-US')} × {recommended.acceleratorName},{' '}
            {recommended.precision}
          </h3>
          <FactoryTables factory={recommended.factory} accelerator={recommended.acceleratorName} />
          {design.reasons.length > 0 && (
            <ul class="notes">
              {design.reasons.map((r) => (
                <li key={r}>{r}</li>
              ))}
            </ul>
          )}
        </>
      )}
      {chosen && !recommended && chosen.factory && (
        <>
          <h3>The factory of the chosen plan</h3>
          <FactoryTables factory={chosen.factory} accelerator={chosen.system.accelerator.name} />
        </>
      )}
      {(recommended?.estimate ?? chosen?.estimate) && (
        <Breakdown estimate={(recommended?.estimate ?? chosen?.estimate) as Estimate} />
      )}
      {outcome.search && (
        <>
          <h3>Plans searched</h3>
          <p>
            {outcome.search.candidates.toLocaleString('en-US')} candidates,{' '}
            {outcome.search.feasible.toLocaleString('en-US')} feasible,{' '}
            {outcome.search.estimates.toLocaleString('en-US')} estimates.
          </p>
          <table class="data">
            <thead>
              <tr>
                <th>#</th>
                <th>TP × PP × DP × CP × EP</th>
                <th>virtual stages</th>
                <th>sharding</th>
                <th>micro-batch</th>
                <th>recompute</th>
                <th>step (s)</th>
                <th>MFU</th>
                <th>days</th>
              </tr>
            </thead>
            <tbody>
              {outcome.search.best.map((b, i) => (
                <tr key={i}>
                  <td>{i + 1}</td>
                  <td>
                    {b.plan.tp} × {b.plan.pp} × {b.plan.dp} × {b.plan.cp} × {b.plan.ep}
                  </td>
                  <td>{b.plan.virtualStages}</td>
                  <td>{b.plan.sharding}</td>
                  <td>{b.plan.microBatch}</td>
                  <td>{b.plan.recomputation}</td>
                  <td>{fmt(b.estimate.step.seconds)}</td>
                  <td>{pct(b.estimate.mfu)}</td>
                  <td>{fmt(b.estimate.timeToTrainSeconds / 86400)}</td>
                </tr>
              ))}
            </tbody>
          </table>
          {Object.keys(outcome.search.rejected).length > 0 && (
            <Facts
              title="Rejected, by reason"
              rows={Object.entries(outcome.search.rejected).map(
                ([reason, n]) => [reason, n.toLocaleString('en-US')] as const,
              )}
            />
          )}
        </>
      )}
      {outcome.binding.length > 0 && !chosen && (
        <div class="problem">
          <strong>No design meets the constraints</strong>
          <ul>
            {outcome.binding.map((b) => (
              <li key={b}>{b}</li>
            ))}
          </ul>
        </div>
      )}
    </div>
  );
}

/** The Plan page. */
export function PlanPage() {
  const outcome = useStore(results.plan) as PlanOutput | undefined;
  return (
    <section class="page">
      <header class="page-head">
        <h1>Plan</h1>
        <p>
          Searches plans on the spec's system, or (without a system) accelerators and cluster sizes under its
          constraints, and designs the factory.
        </p>
      </header>
      <RunBar kind="plan" label="Run plan" query={() => ({ top: '10' })} result={results.plan} />
      {outcome && <PlanView outcome={outcome} />}
    </section>
  );
}
