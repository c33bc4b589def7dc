/**
 * The Tokenworks web console (served by `tokenworks serve` at `/`, built by scripts/build-web.mjs): the spec
 * editor and the Plan, Simulate, Compare and Operate pages, one at a time by the URL's hash (`#/plan`). Every
 * figure comes from the API the page is served by; nothing is fetched from elsewhere (it works offline).
 * @module
 */
import 'uplot/dist/uPlot.min.css';
import './style.css';
import { render } from 'preact';
import { useEffect, useState } from 'preact/hooks';
import { initToken } from './api.js';
import { ComparePage } from './compare.js';
import { EditorPage } from './editor.js';
import { OperatePage } from './operate.js';
import { PlanPage } from './plan.js';
import { SimulatePage } from './simulate.js';

/** The pages, by their hash. */
const PAGES = {
  spec: { label: 'Spec', view: EditorPage },
  plan: { label: 'Plan', view: PlanPage },
  simulate: { label: 'Simulate', view: SimulatePage },
  compare: { label: 'Compare', view: ComparePage },
  operate: { label: 'Operate', view: OperatePage },
} as const;
type PageName = keyof typeof PAGES;

/** The page the hash names (the spec editor by default). */
function pageOf(hash: string): PageName {
  const name = hash.replace(/^#\/?/, '');
  return name in PAGES ? (name as PageName) : 'spec';
}

/** The console: a navigation bar and the current page. */
function App() {
  const [page, setPage] = useState<PageName>(pageOf(window.location.hash));
  useEffect(() => {
    const onHash = () => setPage(pageOf(window.location.hash));
    window.addEventListener('hashchange', onHash);
    return () => window.removeEventListener('hashchange', onHash);
  }, []);
  const View = PAGES[page].view;
  return (
    <>
      <nav class="top">
        <span class="brand">Tokenworks</span>
        {Object.entries(PAGES).map(([name, p]) => (
          <a
            key={name}
            href={`#/${name}`}
            class={name === page ? 'current' : ''}
            aria-current={name === page ? 'page' : undefined}
          >
            {p.label}
          </a>
        ))}
        <a class="api" href="/openapi.json" target="_blank" rel="noreferrer">
          API
        </a>
      </nav>
      <main data-page={page}>
        <View />
      </main>
    </>
  );
}

initToken();
render(<App />, document.getElementById('app') as HTMLElement);
