/**
 * The console's shared state: the spec being edited (kept in localStorage, so a reload keeps it) and the last
 * result of each page's run (kept while the tab lives), as small stores that components subscribe to.
 * @module
 */
import { useEffect, useState } from 'preact/hooks';
import defaultSpec from './default-spec.yaml';

/** A value components can read and follow. */
export interface Store<T> {
  get(): T;
  set(value: T): void;
  subscribe(listener: (value: T) => void): () => void;
}

/** A store holding `initial`. */
export function store<T>(initial: T): Store<T> {
  let value = initial;
  const listeners = new Set<(value: T) => void>();
  return {
    get: () => value,
    set(next) {
      value = next;
      for (const listener of listeners) listener(next);
    },
    subscribe(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
  };
}

/** The value of `s`, re-rendering the component when it changes. */
export function useStore<T>(s: Store<T>): T {
  const [value, setValue] = useState(s.get());
  useEffect(() => {
    setValue(s.get());
    return s.subscribe(setValue);
  }, [s]);
  return value;
}

const SPEC_KEY = 'tokenworks.spec';

/** The built-in spec the editor starts from (web/src/default-spec.yaml: a design search). */
export const DEFAULT_SPEC = defaultSpec;

/** The spec in the editor, as YAML. */
export const spec = store<string>(localStorage.getItem(SPEC_KEY) ?? DEFAULT_SPEC);
spec.subscribe((text) => localStorage.setItem(SPEC_KEY, text));

/** The last result each page ran, so that switching pages keeps it. */
export const results = {
  plan: store<unknown>(undefined),
  simulate: store<unknown>(undefined),
  compare: store<unknown>(undefined),
};
