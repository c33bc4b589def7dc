/**
 * What the Plan, Simulate and Compare pages share: a run bar that starts the page's job on the editor's spec
 * (progress from the job's events, a Cancel that deletes the job, the problem if it failed, its issues with field
 * paths), and number formatting.
 * @module
 */
import { useRef, useState } from 'preact/hooks';
import { type JobProgress, type Problem, runJob } from './api.js';
import { type Store, spec, useStore } from './state.js';

/** A number with `digits` significant digits and thousands separators. */
export function fmt(x: number | null | undefined, digits = 3): string {
  if (x == null || !Number.isFinite(x)) return '–';
  const abs = Math.abs(x);
  if (abs >= 10 ** digits) return Math.round(x).toLocaleString('en-US');
  return Number(x.toPrecision(digits)).toLocaleString('en-US', { maximumFractionDigits: 6 });
}

/** Dollars, in k, M or B. */
export function usd(x: number | null | undefined): string {
  if (x == null || !Number.isFinite(x)) return '–';
  const abs = Math.abs(x);
  if (abs >= 1e9) return `$${fmt(x / 1e9)} B`;
  if (abs >= 1e6) return `$${fmt(x / 1e6)} M`;
  if (abs >= 1e3) return `$${fmt(x / 1e3)} k`;
  return `$${fmt(x)}`;
}

/** A share as a percentage. */
export function pct(x: number | null | undefined, digits = 3): string {
  return x == null || !Number.isFinite(x) ? '–' : `${fmt(x * 100, digits)} %`;
}

/** The run bar of a page: starts `kind` on the spec with `query()`, and keeps its result in `result`. */
export function RunBar<T>(props: {
  readonly kind: 'plan' | 'simulate' | 'compare';
  readonly label: string;
  readonly query: () => Record<string, string>;
  readonly result: Store<unknown>;
  readonly children?: preact.ComponentChildren;
}) {
  const text = useStore(spec);
  const [progress, setProgress] = useState<JobProgress | undefined>(undefined);
  const [running, setRunning] = useState(false);
  const [problem, setProblem] = useState<Problem | undefined>(undefined);
  const controller = useRef<AbortController | undefined>(undefined);
  const start = async () => {
    controller.current?.abort();
    const abort = new AbortController();
    controller.current = abort;
    setRunning(true);
    setProblem(undefined);
    setProgress(undefined);
    const end = await runJob<T>(props.kind, text, props.query(), setProgress, abort.signal);
    if (controller.current !== abort) return;
    setRunning(false);
    if (end.ok) props.result.set(end.result);
    else if (!end.cancelled) setProblem(end.problem);
  };
  const share = progress && progress.total > 0 ? progress.done / progress.total : undefined;
  return (
    <div class="run-bar">
      <div class="run-controls">
        {props.children}
        <button type="button" onClick={() => void start()} disabled={running} data-run={props.kind}>
          {props.label}
        </button>
        {running && (
          <button type="button" class="secondary" onClick={() => controller.current?.abort()}>
            Cancel
          </button>
        )}
      </div>
      {running && (
        <div class="progress" role="status">
          <span>{progress ? `${progress.stage}: ${progress.done} of ${progress.total}` : 'starting…'}</span>
          <progress max={1} value={share ?? 0} />
        </div>
      )}
      {problem && (
        <div class="problem" role="alert">
          <strong>{problem.title}</strong>
          {problem.detail && <p>{problem.detail}</p>}
          {problem.issues && (
            <ul>
              {problem.issues.map((issue, i) => (
                <li key={i}>
                  <code>{issue.path || '(root)'}</code> {issue.message}
                </li>
              ))}
            </ul>
          )}
        </div>
      )}
    </div>
  );
}

/** A table of label–value rows. */
export function Facts(props: { readonly rows: readonly (readonly [string, string])[]; readonly title?: string }) {
  return (
    <table class="facts">
      {props.title && <caption>{props.title}</caption>}
      <tbody>
        {props.rows.map(([label, value]) => (
          <tr key={label}>
            <th scope="row">{label}</th>
            <td>{value}</td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}
