/**
 * The figures a benchmark keeps as `before` when it writes a new results file: the newest
 * `<name>-YYYY-MM-DD.json` in `directory`, its own `before` block when it has one (a rerun keeps the figures from
 * before the change), else that file's figures. Shared by bench/observe.mjs and bench/detect.mjs.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

export function previousFigures(directory, name) {
  if (!existsSync(directory)) return undefined;
  const pattern = new RegExp(`^${name}-\\d{4}-\\d{2}-\\d{2}\\.json$`);
  const newest = readdirSync(directory)
    .filter((file) => pattern.test(file))
    .sort()
    .pop();
  if (newest === undefined) return undefined;
  const old = JSON.parse(readFileSync(join(directory, newest), 'utf8'));
  if (old.before !== undefined) return old.before;
  const { before: _, ...figures } = old;
  return figures;
}
