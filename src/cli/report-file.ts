/**
 * `--report FILE` for every command: the path checked before any work (extension, folder, not a folder), and the
 * report written atomically in the format its extension names, with file-system failures as user errors.
 * @module
 */
import { checkWritable, writeUserFile } from '../node/files.js';
import { reportFormat } from './options.js';

/** Checks a `--report` path before any work: its extension, and that it can be written. */
export async function checkReportPath(report: string | undefined): Promise<void> {
  if (report === undefined) return;
  reportFormat(report);
  await checkWritable(report, '--report');
}

/** Writes the report at `path` as Markdown (`.md`) or self-contained HTML (`.html`). */
export async function writeReport(
  path: string,
  render: { readonly markdown: () => string; readonly html: () => string },
): Promise<void> {
  await writeUserFile(path, reportFormat(path) === 'markdown' ? render.markdown() : render.html());
}
