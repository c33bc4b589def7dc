/**
 * HTML building blocks shared by the self-contained reports: escaping, tables and the page shell (inline CSS,
 * no scripts, no network). The charts themselves are drawn in `charts.ts`.
 * @module
 */

/** A table as headers and rows of text. */
export interface TextTable {
  readonly headers: readonly string[];
  readonly rows: readonly (readonly string[])[];
}

/** Escapes text for HTML content and attribute values. */
export const escapeHtml = (text: string) =>
  text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');

/** An HTML table under an `<h3>` title; empty when there is no table. */
export function htmlTable(title: string, table: TextTable | undefined): string {
  if (!table) return '';
  const head = table.headers.map((h) => `<th>${escapeHtml(h)}</th>`).join('');
  const body = table.rows.map((r) => `<tr>${r.map((c) => `<td>${escapeHtml(c)}</td>`).join('')}</tr>`).join('');
  return `<h3>${escapeHtml(title)}</h3><table><thead><tr>${head}</tr></thead><tbody>${body}</tbody></table>`;
}

/** A Markdown table; empty when there is no table. */
export function markdownTable(table: TextTable | undefined): string {
  if (!table) return '';
  return [
    `| ${table.headers.join(' | ')} |`,
    `|${table.headers.map(() => '---').join('|')}|`,
    ...table.rows.map((r) => `| ${r.join(' | ')} |`),
  ].join('\n');
}

// Charts (charts.ts) carry their own Plot styles, scoped by class; these rules only size their text and frame
// them. Plot's :where() rules have no specificity, so the ones here win.
const STYLE =
  'body{font:14px/1.4 system-ui,sans-serif;max-width:980px;margin:2em auto;padding:0 1em;color:#222}table{border-collapse:collapse;margin:.5em 0 1.5em}th,td{border:1px solid #ccc;padding:.25em .6em;text-align:right}th:first-child,td:first-child{text-align:left}figure.chart{margin:.5em 0 1.5em;padding:.75em;border:1px solid #e4e4e4;background:#fff}figure.chart figure{margin:0}figure.chart svg{font-size:12px}figure.chart [class*="-swatches"]{font-size:13px;margin-bottom:.25em}figcaption{color:#555;font-size:13px;margin-top:.5em}';

/** A whole page around `body`. */
export function htmlPage(title: string, body: string): string {
  return `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>${escapeHtml(title)}</title><style>${STYLE}</style></head><body>${body}</body></html>\n`;
}
