/**
 * Checks the import graph of src/: prints (a) every import cycle (type-only imports count: a circle of types is
 * still a circle of modules) and (b) every import that runs against the floors (docs/overview.md): engine rooms
 * (spec, catalog, perf, plan, sim, twin, breakpoint, validation, app) must not import from report, node, cli or http,
 * and (c) values that `cli/commands/*.ts` take from outside app/, report/, node/ and cli/ (spec types are fine).
 * Exits 1 when it finds either. Run with `npx tsx scripts/check-imports.ts`; tests (*.test.ts) are left out,
 * since nothing imports them and they may reach anywhere.
 * @module
 */
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';

const root = resolve(import.meta.dirname, '..');
const src = join(root, 'src');
const ENGINE = [
  'spec',
  'catalog',
  'perf',
  'plan',
  'sim',
  'twin',
  'breakpoint',
  'validation',
  'telemetry',
  'detect',
  'app',
];
const OUTER = ['report', 'node', 'cli', 'http'];
// `import … from './x.js'`, `export … from './x.js'`, `import './x.js'` and `import('./x.js')`, across lines.
const IMPORT = /(?:\b(?:import|export)\b[^'"`;]*?\bfrom\s*|\bimport\s*\(?\s*)['"](\.{1,2}\/[^'"]+)['"]/g;

/** Relative import edges of every non-test .ts file under src/, as paths relative to src/. */
export function importGraph(directory = src): Map<string, string[]> {
  const graph = new Map<string, string[]>();
  const files = readdirSync(directory, { recursive: true, encoding: 'utf8' })
    .filter((file) => file.endsWith('.ts') && !file.endsWith('.test.ts') && !file.endsWith('.d.ts'))
    .sort();
  for (const file of files) {
    const text = readFileSync(join(directory, file), 'utf8');
    const targets = [...text.matchAll(IMPORT)].map((match) =>
      relative(directory, resolve(dirname(join(directory, file)), (match[1] ?? '').replace(/\.js$/, '.ts'))),
    );
    graph.set(file, [...new Set(targets)]);
  }
  return graph;
}

/** Every elementary cycle met by a depth-first walk (one per back edge), each as a path that ends where it starts. */
export function findCycles(graph: Map<string, string[]>): string[][] {
  const state = new Map<string, 'open' | 'done'>();
  const stack: string[] = [];
  const cycles = new Map<string, string[]>();
  const visit = (file: string): void => {
    state.set(file, 'open');
    stack.push(file);
    for (const target of graph.get(file) ?? []) {
      if (state.get(target) === 'open') {
        const cycle = stack.slice(stack.indexOf(target));
        // The same circle entered at another file is one cycle: key it by its smallest rotation.
        const start = cycle.indexOf([...cycle].sort()[0] ?? target);
        const rotated = [...cycle.slice(start), ...cycle.slice(0, start)];
        cycles.set(rotated.join(' '), [...rotated, rotated[0] ?? target]);
      } else if (!state.has(target) && graph.has(target)) visit(target);
    }
    stack.pop();
    state.set(file, 'done');
  };
  for (const file of graph.keys()) if (!state.has(file)) visit(file);
  return [...cycles.values()];
}

/** Imports from an engine room into report/, node/ or cli/, as [importer, imported]. */
export function layerViolations(graph: Map<string, string[]>): [string, string][] {
  const room = (file: string) => (file.includes('/') ? file.slice(0, file.indexOf('/')) : '');
  const violations: [string, string][] = [];
  for (const [file, targets] of graph) {
    if (!ENGINE.includes(room(file))) continue;
    for (const target of targets) if (OUTER.includes(room(target))) violations.push([file, target]);
  }
  return violations;
}

// A whole import statement with its specifiers, to tell type-only imports from value imports.
const STATEMENT = /\bimport\s+(type\s+)?\{([^}]*)\}\s*from\s*['"](\.{1,2}\/[^'"]+)['"]/g;

/** Rooms (and files) a command may take values from: the use cases, renderers, Node adapters, the CLI and util/. */
const COMMAND_VALUES = ['app', 'report', 'node', 'cli', 'http', 'util', 'errors.ts', 'version.ts'];

/**
 * Value imports of `cli/commands/*.ts` from anywhere but app/, report/, node/, cli/ and errors.ts: a command
 * parses, calls a use case, renders and writes; from spec/ and the engines it may take types only.
 */
export function commandViolations(directory = src): [string, string][] {
  const commands = join(directory, 'cli', 'commands');
  const violations: [string, string][] = [];
  for (const file of readdirSync(commands).filter((name) => name.endsWith('.ts') && !name.endsWith('.test.ts'))) {
    const text = readFileSync(join(commands, file), 'utf8');
    for (const match of text.matchAll(STATEMENT)) {
      const typeOnly =
        match[1] !== undefined || (match[2] ?? '').split(',').every((name) => /^\s*(type\s|$)/.test(name));
      const target = relative(directory, resolve(commands, (match[3] ?? '').replace(/\.js$/, '.ts')));
      const room = target.includes('/') ? target.slice(0, target.indexOf('/')) : target;
      if (!typeOnly && !COMMAND_VALUES.includes(room)) violations.push([`cli/commands/${file}`, target]);
    }
  }
  return violations;
}

if (resolve(process.argv[1] ?? '') === import.meta.filename) {
  const graph = importGraph();
  const cycles = findCycles(graph);
  const violations = layerViolations(graph);
  const edges = [...graph.values()].reduce((sum, targets) => sum + targets.length, 0);
  console.log(`src/: ${graph.size} files, ${edges} import edges`);
  console.log(`cycles: ${cycles.length}`);
  for (const cycle of cycles) console.log(`  ${cycle.join(' -> ')}`);
  console.log(`layer violations (engine -> report/node/cli): ${violations.length}`);
  for (const [file, target] of violations) console.log(`  src/${file} imports src/${target}`);
  const commands = commandViolations();
  console.log(`command imports of values outside app/report/node/cli: ${commands.length}`);
  for (const [file, target] of commands) console.log(`  src/${file} imports src/${target}`);
  process.exitCode = cycles.length > 0 || violations.length > 0 || commands.length > 0 ? 1 : 0;
}
