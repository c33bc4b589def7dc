/**
 * The spec editor: a textarea with line numbers, completion of keys and values from the spec's JSON Schema at the
 * cursor's YAML path (Ctrl+Space, or as a key is typed; ↑ ↓ to choose, Enter or Tab to insert, Esc to close), and
 * validation as you type through `POST /v1/check`: a 422's issues (and a valid spec's infeasibilities and warnings)
 * are listed with their field paths and marked on their lines.
 * @module
 */
import { useEffect, useMemo, useRef, useState } from 'preact/hooks';
import specSchema from '../../schemas/spec.schema.json';
import { type CheckOutput, type Issue, postSpec } from './api.js';
import { type Completion, type JsonSchema, keyCompletions, valueCompletions } from './schema.js';
import { DEFAULT_SPEC, spec, useStore } from './state.js';
import { cursorContext, lineOfPath } from './yaml-context.js';

const SCHEMA = specSchema as unknown as JsonSchema;

/** Milliseconds of quiet typing before the spec is checked. */
const CHECK_DELAY_MS = 400;

/** What the check said. */
type Verdict =
  | { readonly state: 'checking' }
  | { readonly state: 'valid'; readonly output: CheckOutput }
  | { readonly state: 'invalid'; readonly title: string; readonly issues: readonly Issue[] }
  | { readonly state: 'error'; readonly title: string };

/** An issue placed on its line, with how bad it is. */
interface Marked extends Issue {
  readonly line?: number;
  readonly level: 'error' | 'warning';
}

/** The completion list being shown. */
interface Popup {
  readonly items: readonly Completion[];
  readonly selected: number;
  readonly from: number;
  readonly to: number;
  readonly indent: number;
  readonly kind: 'key' | 'value';
  readonly top: number;
  readonly left: number;
}

/** The completions at the cursor, filtered by what is typed. */
function completionsAt(text: string, offset: number) {
  const context = cursorContext(text, offset);
  if (!context) return undefined;
  const all =
    context.kind === 'key'
      ? keyCompletions(SCHEMA, context.path).filter((c) => !context.siblings.includes(c.label))
      : valueCompletions(SCHEMA, context.path, context.key as string);
  const prefix = context.prefix.toLowerCase();
  const items = all.filter((c) => c.label.toLowerCase().startsWith(prefix) && c.label !== context.prefix);
  return { context, items };
}

/** The spec editor page. */
export function EditorPage() {
  const text = useStore(spec);
  const area = useRef<HTMLTextAreaElement>(null);
  const gutter = useRef<HTMLDivElement>(null);
  const [verdict, setVerdict] = useState<Verdict>({ state: 'checking' });
  const [popup, setPopup] = useState<Popup | undefined>(undefined);

  useEffect(() => {
    const controller = new AbortController();
    setVerdict({ state: 'checking' });
    const timer = setTimeout(async () => {
      try {
        const answer = await postSpec<CheckOutput>('/v1/check', text, controller.signal);
        if (answer.ok) setVerdict({ state: 'valid', output: answer.body });
        else if (answer.problem.issues)
          setVerdict({
            state: 'invalid',
            title: answer.problem.detail ?? answer.problem.title,
            issues: answer.problem.issues,
          });
        else setVerdict({ state: 'error', title: answer.problem.detail ?? answer.problem.title });
      } catch {
        // Aborted: a newer text is being checked.
      }
    }, CHECK_DELAY_MS);
    return () => {
      clearTimeout(timer);
      controller.abort();
    };
  }, [text]);

  const marked: Marked[] = useMemo(() => {
    const place = (issue: Issue, level: Marked['level']): Marked => {
      const line = lineOfPath(text, issue.path);
      return { ...issue, level, ...(line !== undefined && { line }) };
    };
    if (verdict.state === 'invalid') return verdict.issues.map((i) => place(i, 'error'));
    if (verdict.state === 'valid') {
      return [
        ...verdict.output.issues.map((i) => place(i, 'error')),
        ...verdict.output.warnings.map((i) => place(i, 'warning')),
      ];
    }
    return [];
  }, [verdict, text]);
  const lineCount = text.split('\n').length;
  const levels = new Map<number, Marked['level']>();
  for (const m of marked) if (m.line !== undefined && levels.get(m.line) !== 'error') levels.set(m.line, m.level);

  /** Opens (or refreshes) the completion list at the cursor; `force`: even with nothing typed. */
  const complete = (force: boolean) => {
    const element = area.current;
    if (!element) return;
    const offset = element.selectionStart;
    const found = completionsAt(element.value, offset);
    if (!found || found.items.length === 0 || (!force && found.context.prefix === '' && found.context.kind === 'key')) {
      setPopup(undefined);
      return;
    }
    const before = element.value.slice(0, offset);
    const line = before.split('\n').length - 1;
    const column = offset - (before.lastIndexOf('\n') + 1);
    const style = getComputedStyle(element);
    const lineHeight = Number.parseFloat(style.lineHeight) || 18;
    const charWidth = measureChar(style.font);
    setPopup({
      items: found.items.slice(0, 60),
      selected: 0,
      from: found.context.from,
      to: found.context.to,
      indent: found.context.indent,
      kind: found.context.kind,
      top: (line + 1) * lineHeight - element.scrollTop + Number.parseFloat(style.paddingTop),
      left: Math.min(element.clientWidth - 220, column * charWidth + Number.parseFloat(style.paddingLeft)),
    });
  };

  const accept = (item: Completion) => {
    const element = area.current;
    if (!element || !popup) return;
    const insert =
      popup.kind === 'key'
        ? item.block
          ? `${item.label}:\n${' '.repeat(popup.indent + 2)}`
          : `${item.label}: `
        : item.label;
    const next = element.value.slice(0, popup.from) + insert + element.value.slice(popup.to);
    const cursor = popup.from + insert.length;
    spec.set(next);
    setPopup(undefined);
    requestAnimationFrame(() => {
      element.focus();
      element.setSelectionRange(cursor, cursor);
    });
  };

  const onKeyDown = (event: KeyboardEvent) => {
    if (event.key === ' ' && (event.ctrlKey || event.metaKey)) {
      event.preventDefault();
      complete(true);
      return;
    }
    if (!popup) return;
    if (event.key === 'ArrowDown' || event.key === 'ArrowUp') {
      event.preventDefault();
      const step = event.key === 'ArrowDown' ? 1 : -1;
      setPopup({ ...popup, selected: (popup.selected + step + popup.items.length) % popup.items.length });
    } else if (event.key === 'Enter' || event.key === 'Tab') {
      event.preventDefault();
      const item = popup.items[popup.selected];
      if (item) accept(item);
    } else if (event.key === 'Escape') {
      event.preventDefault();
      setPopup(undefined);
    }
  };

  const goTo = (line: number) => {
    const element = area.current;
    if (!element) return;
    const lines = element.value.split('\n');
    const offset = lines.slice(0, line - 1).reduce((sum, l) => sum + l.length + 1, 0);
    element.focus();
    element.setSelectionRange(offset, offset + (lines[line - 1]?.length ?? 0));
  };

  return (
    <section class="page editor-page">
      <header class="page-head">
        <h1>Spec</h1>
        <p>
          The workload, system, facility and constraints the other pages run. Completion from the spec's JSON Schema:
          Ctrl+Space. Checked by <code>POST /v1/check</code> as you type.
        </p>
        <button type="button" class="secondary" onClick={() => spec.set(DEFAULT_SPEC)}>
          Reset to the example
        </button>
      </header>
      <div class="editor">
        <div class="gutter" ref={gutter} aria-hidden="true">
          {Array.from({ length: lineCount }, (_, i) => (
            <div class={`gutter-line ${levels.get(i + 1) ?? ''}`} data-line={i + 1} key={i}>
              {i + 1}
            </div>
          ))}
        </div>
        <textarea
          ref={area}
          class="spec-text"
          spellcheck={false}
          aria-label="spec (YAML)"
          value={text}
          onInput={(event) => {
            spec.set((event.target as HTMLTextAreaElement).value);
            complete(false);
          }}
          onKeyDown={onKeyDown}
          onScroll={(event) => {
            if (gutter.current) gutter.current.scrollTop = (event.target as HTMLTextAreaElement).scrollTop;
            setPopup(undefined);
          }}
          onBlur={() => setTimeout(() => setPopup(undefined), 150)}
        />
        {popup && (
          <ul class="completions" style={{ top: `${popup.top}px`, left: `${popup.left + 48}px` }}>
            {popup.items.map((item, i) => (
              // The textarea keeps the focus and the keyboard (↑ ↓ Enter); a click picks too.
              <li
                key={item.label}
                class={i === popup.selected ? 'selected' : ''}
                onMouseDown={(event) => {
                  event.preventDefault();
                  accept(item);
                }}
              >
                <strong>{item.label}</strong>
                {item.detail && <span>{item.detail}</span>}
              </li>
            ))}
          </ul>
        )}
      </div>
      <div class={`verdict ${verdict.state}`} data-state={verdict.state}>
        {verdict.state === 'checking' && 'checking…'}
        {verdict.state === 'valid' &&
          (verdict.output.feasible
            ? `valid and feasible: ${verdict.output.spec.workload.model.name}, ${(verdict.output.summary.parameters.total / 1e9).toFixed(1)} B parameters`
            : 'valid, but not feasible as written')}
        {verdict.state === 'invalid' && verdict.title}
        {verdict.state === 'error' && verdict.title}
      </div>
      {marked.length > 0 && (
        <ul class="issues">
          {marked.map((issue, i) => (
            <li key={i} class={issue.level} data-path={issue.path}>
              {issue.line !== undefined ? (
                <button type="button" class="link" onClick={() => goTo(issue.line as number)}>
                  line {issue.line}
                </button>
              ) : (
                <span>—</span>
              )}
              <code>{issue.path || '(root)'}</code> {issue.message}
            </li>
          ))}
        </ul>
      )}
    </section>
  );
}

/** The width of one character of `font` (the textarea is monospaced). */
function measureChar(font: string): number {
  const context = document.createElement('canvas').getContext('2d');
  if (!context) return 8;
  context.font = font;
  return context.measureText('M').width || 8;
}
