/**
 * Errors of the HTTP API as RFC 9457 problem details (`application/problem+json`): one {@link HttpProblem} the
 * routes throw, and {@link toProblem}, which the app's one `onError` calls to turn anything thrown (a problem,
 * Hono's `HTTPException`, a {@link TokenworksError}, a fault) into a status and a problem document. An invalid
 * spec is a 422 whose `issues` carry the spec issues' field paths, as the CLI prints them.
 * @module
 */
import { HTTPException } from 'hono/http-exception';
import type { ContentfulStatusCode } from 'hono/utils/http-status';
import { z } from 'zod';
import { IssueOutput } from '../app/outputs.js';
import { TokenworksError } from '../errors.js';
import type { SpecIssue } from '../spec/issues.js';

/** The media type of problem details. */
export const PROBLEM_TYPE = 'application/problem+json';

/** A problem details document (RFC 9457) with Tokenworks' members: a stable code and, for specs, the issues. */
export const ProblemSchema = z.object({
  type: z.string().describe('a URI naming the kind of problem; `about:blank` when the status says it all'),
  title: z.string().describe('what kind of problem, the same for every occurrence'),
  status: z.number().int().describe('the HTTP status code'),
  detail: z.string().optional().describe('what went wrong this time'),
  instance: z.string().optional().describe('the request path'),
  code: z.string().optional().describe('the stable error code (SPEC_INVALID, NO_RESULT, ...), as the CLI names it'),
  issues: z.array(IssueOutput).optional().describe('one per problem in the spec or the query, with its field path'),
});

/** A problem details document. */
export type Problem = z.infer<typeof ProblemSchema>;

/** The kinds of problem this API answers, by its own `code`: the status, the title and the type URI. */
const KINDS = {
  SPEC_INVALID: { status: 422, title: 'The spec is invalid' },
  NO_RESULT: { status: 422, title: 'The spec has no answer' },
  QUERY_INVALID: { status: 400, title: 'A query parameter is invalid' },
  BODY_INVALID: { status: 400, title: 'The request body cannot be decoded' },
  REQUEST_INVALID: { status: 422, title: 'A field of the request is invalid' },
  UNSUPPORTED_MEDIA_TYPE: { status: 415, title: 'Unsupported media type' },
  TOO_LARGE: { status: 413, title: 'The request body is too large' },
  UNAUTHORIZED: { status: 401, title: 'A bearer token is required' },
  FORBIDDEN_HOST: { status: 403, title: 'The Host header names no loopback address' },
  NOT_FOUND: { status: 404, title: 'Not found' },
  TOO_MANY_JOBS: { status: 429, title: 'Too many jobs are running' },
  INTERNAL: { status: 500, title: 'Internal error' },
  UNAVAILABLE: { status: 503, title: 'The server is stopping' },
} as const satisfies Record<string, { status: ContentfulStatusCode; title: string }>;

/** A problem code of this API. */
export type ProblemCode = keyof typeof KINDS;

/** The type URI of a code: `urn:tokenworks:problem:spec-invalid`. */
export function problemType(code: ProblemCode): string {
  return `urn:tokenworks:problem:${code.toLowerCase().replaceAll('_', '-')}`;
}

/** The error a route throws to answer with a problem. */
export class HttpProblem extends Error {
  readonly code: ProblemCode;
  readonly issues: readonly SpecIssue[] | undefined;
  readonly headers: Readonly<Record<string, string>>;

  constructor(
    code: ProblemCode,
    detail: string,
    options: { issues?: readonly SpecIssue[]; headers?: Record<string, string> } = {},
  ) {
    super(detail);
    this.name = 'HttpProblem';
    this.code = code;
    this.issues = options.issues;
    this.headers = options.headers ?? {};
  }

  get status(): ContentfulStatusCode {
    return KINDS[this.code].status;
  }
}

/**
 * The problem of an invalid spec or a use case's issues: 422 with one issue per problem (`REQUEST_INVALID` when
 * every issue is of a request field beside the spec, as the observe route's `logs.0` or `window`).
 */
export function issuesProblem(issues: readonly SpecIssue[], detail?: string, request = false): HttpProblem {
  const noResult = issues.length > 0 && issues.every((i) => i.code === 'no_result' || i.code === 'constraint');
  const count = issues.length;
  return new HttpProblem(
    noResult ? 'NO_RESULT' : request ? 'REQUEST_INVALID' : 'SPEC_INVALID',
    detail ??
      `${count} problem${count === 1 ? '' : 's'}: ${issues.map((i) => `${i.path || '(root)'}: ${i.message}`).join('; ')}`,
    { issues },
  );
}

/** A problem document for `code`. */
export function problemOf(
  code: ProblemCode,
  detail: string,
  instance?: string,
  issues?: readonly SpecIssue[],
): Problem {
  const kind = KINDS[code];
  return {
    type: problemType(code),
    title: kind.title,
    status: kind.status,
    detail,
    ...(instance !== undefined && { instance }),
    code,
    ...(issues && { issues: issues.map(plainIssue) }),
  };
}

/** What an issue carries over the wire (its offending `value` only when it is small and plain). */
function plainIssue(issue: SpecIssue): SpecIssue {
  const { value, ...rest } = issue;
  const small = value === undefined || JSON.stringify(value)?.length <= 200;
  return small && value !== undefined ? { ...rest, value } : rest;
}

/** Anything thrown in a route, as a status, a problem document and the headers to add. */
export function toProblem(
  error: unknown,
  instance: string,
): { status: ContentfulStatusCode; body: Problem; headers: Record<string, string> } {
  if (error instanceof HttpProblem) {
    return {
      status: error.status,
      body: problemOf(error.code, error.message, instance, error.issues),
      headers: { ...error.headers },
    };
  }
  if (error instanceof TokenworksError) {
    const code: ProblemCode =
      error.code === 'SPEC_INVALID' || error.code === 'NO_RESULT'
        ? error.code
        : error.code === 'USAGE'
          ? 'QUERY_INVALID'
          : 'INTERNAL';
    const detail = code === 'INTERNAL' ? 'the server failed to answer; see its log' : error.message;
    return {
      status: KINDS[code].status,
      body: problemOf(code, detail, instance, error.issues.length > 0 ? error.issues : undefined),
      headers: {},
    };
  }
  if (error instanceof HTTPException) {
    const status = error.status as ContentfulStatusCode;
    return {
      status,
      body: {
        type: 'about:blank',
        title: error.message || 'HTTP error',
        status,
        detail: error.message,
        instance,
      },
      headers: {},
    };
  }
  return {
    status: 500,
    body: problemOf('INTERNAL', 'the server failed to answer; see its log', instance),
    headers: {},
  };
}
