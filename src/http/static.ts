/**
 * The web console's files (built by scripts/build-web.mjs into `dist/web/`): `GET /` (and `/index.html`) answers
 * the page, `GET /assets/<file>` its scripts, styles and fonts. A path is decoded, resolved and must stay inside the
 * assets folder (`..`, encoded or not, a NUL or a folder is a 404); each file gets its media type, `nosniff` and,
 * for the page, a Content-Security-Policy that allows nothing but this origin (the console works offline: no CDN).
 * The token rule is app.ts's: a server with a token checks it here too, taken from `?token=` as well as the header,
 * since a browser loading a page or a script sends no header; the page then carries the token to its assets.
 * @module
 */
import { readFile, stat } from 'node:fs/promises';
import { extname, join, resolve, sep } from 'node:path';
import type { OpenAPIHono } from '@hono/zod-openapi';
import type { Context } from 'hono';
import { HttpProblem } from './problem.js';

/** Where the build writes the console: `dist/web/` of the package (from src/http or dist/http alike). */
export const DEFAULT_CONSOLE_ROOT = resolve(import.meta.dirname, '..', '..', 'dist', 'web');

/** Media types of the files the console build writes. */
const MEDIA_TYPES: Readonly<Record<string, string>> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.map': 'application/json; charset=utf-8',
  '.json': 'application/json; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
  '.woff2': 'font/woff2',
  '.txt': 'text/plain; charset=utf-8',
};

/** The page's policy: scripts, styles, images and connections from this origin only (uPlot sets inline styles). */
const CONTENT_SECURITY_POLICY =
  "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data: blob:; connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'";

/** Whether `path` may carry the token as `?token=` (GET only): the console's page and assets, and event streams. */
export function acceptsQueryToken(method: string, path: string): boolean {
  if (method !== 'GET' && method !== 'HEAD') return false;
  return (
    path === '/' ||
    path === '/index.html' ||
    path.startsWith('/assets/') ||
    path === '/v1/live/events' ||
    /^\/v1\/jobs\/[^/]+\/events$/.test(path)
  );
}

/** The file under `folder` that the URL path's remainder `relative` names, or undefined when it leaves `folder`. */
export function containedPath(folder: string, relative: string): string | undefined {
  let decoded: string;
  try {
    decoded = decodeURIComponent(relative);
  } catch {
    return undefined;
  }
  if (decoded === '' || decoded.includes('\0') || decoded.includes('\\')) return undefined;
  const root = resolve(folder);
  const file = resolve(root, decoded);
  return file.startsWith(root + sep) ? file : undefined;
}

/** The console is not built: a 404 that says how to build it. */
function notBuilt(root: string): HttpProblem {
  return new HttpProblem(
    'NOT_FOUND',
    `the web console is not built (no ${join(root, 'index.html')}): run \`npm run build\``,
  );
}

/** A 400 for a query parameter the console's files do not take (only the token). */
function checkQuery(c: Context): void {
  const unknown = Object.keys(c.req.query()).filter((key) => key !== 'token');
  if (unknown.length === 0) return;
  const issues = unknown.map((key) => ({
    code: 'unrecognized_keys',
    path: `query.${key}`,
    message: 'the console takes only ?token=',
  }));
  throw new HttpProblem('QUERY_INVALID', issues.map((i) => `${i.path}: ${i.message}`).join('; '), { issues });
}

/** Adds the console's routes to `app`: the page at `/` and `/index.html`, its files under `/assets/`. */
export function registerConsole(app: OpenAPIHono, root: string): void {
  const page = async (c: Context) => {
    checkQuery(c);
    let html: string;
    try {
      html = await readFile(join(root, 'index.html'), 'utf8');
    } catch {
      throw notBuilt(root);
    }
    // A page loaded with ?token= (app.ts has checked it) passes it on to its scripts and styles.
    const token = c.req.query('token');
    if (token !== undefined) {
      const query = `?token=${encodeURIComponent(token)}`;
      html = html.replace(/(src|href)="(\/assets\/[^"?]+)"/g, (_, attribute, path) => `${attribute}="${path}${query}"`);
    }
    return c.body(html, 200, {
      'Content-Type': MEDIA_TYPES['.html'] as string,
      'Cache-Control': 'no-cache',
      'Content-Security-Policy': CONTENT_SECURITY_POLICY,
      'X-Content-Type-Options': 'nosniff',
      'Referrer-Policy': 'no-referrer',
    });
  };
  app.get('/', page);
  app.get('/index.html', page);
  app.get('/assets/*', async (c) => {
    checkQuery(c);
    const pathname = new URL(c.req.url).pathname;
    const file = containedPath(join(root, 'assets'), pathname.slice('/assets/'.length));
    const type = file === undefined ? undefined : MEDIA_TYPES[extname(file).toLowerCase()];
    const missing = () => new HttpProblem('NOT_FOUND', 'no such file of the console');
    if (file === undefined || type === undefined) throw missing();
    let body: Buffer;
    try {
      if (!(await stat(file)).isFile()) throw missing();
      body = await readFile(file);
    } catch (error) {
      if (error instanceof HttpProblem) throw error;
      throw missing();
    }
    // Built files carry their content hash in their name: they never change under it.
    const hashed = /-[A-Z0-9]{8,}\.[a-z0-9]+$/i.test(file);
    return c.body(new Uint8Array(body), 200, {
      'Content-Type': type,
      'Cache-Control': hashed ? 'public, max-age=31536000, immutable' : 'no-cache',
      'X-Content-Type-Options': 'nosniff',
    });
  });
}
