/**
 * The root entry (`tokenworks`, src/index.ts) is browser-safe: bundled with esbuild for the browser platform,
 * nothing reachable from it imports a Node built-in. The Node entry (`tokenworks/node`) is the only one that may.
 */
import { builtinModules } from 'node:module';
import { build, type Plugin } from 'esbuild';
import { describe, expect, it } from 'vitest';

/** Records every import of a Node built-in (`node:fs`, `fs`, `worker_threads`, ...) and who made it. */
function nodeBuiltins(found: string[]): Plugin {
  const names = new Set(builtinModules.flatMap((name) => [name, `node:${name}`]));
  return {
    name: 'node-builtins',
    setup(plugin) {
      plugin.onResolve({ filter: /.*/ }, (args) => {
        if (args.path.startsWith('node:') || names.has(args.path)) {
          found.push(`${args.path} (from ${args.importer})`);
          return { path: args.path, external: true };
        }
        return undefined;
      });
    },
  };
}

async function bundle(entry: string) {
  const found: string[] = [];
  const result = await build({
    entryPoints: [entry],
    bundle: true,
    platform: 'browser',
    format: 'esm',
    write: false,
    logLevel: 'silent',
    plugins: [nodeBuiltins(found)],
  });
  return { found, bytes: result.outputFiles.reduce((sum, file) => sum + file.contents.length, 0) };
}

describe('package entries', () => {
  it('the root entry bundles for the browser with no Node built-in', async () => {
    const { found, bytes } = await bundle('src/index.ts');
    expect(found).toEqual([]);
    expect(bytes).toBeGreaterThan(100_000);
  }, 60_000);

  it('the check can fail: the Node entry reaches node:fs', async () => {
    const { found } = await bundle('src/node.ts');
    expect(found.some((name) => name.startsWith('node:fs'))).toBe(true);
  }, 60_000);
});
