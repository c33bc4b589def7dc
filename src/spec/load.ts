/**
 * Loading a spec from text: YAML or JSON syntax, then the schema, then catalog resolution. Pure (no file
 * access), so the same path serves the CLI, workers, an HTTP API and the browser.
 * @module
 */
import { parseDocument } from 'yaml';
import { z } from 'zod';
import { fromZodIssues, type Result, type SpecIssue } from './issues.js';
import { type ResolvedSpec, resolveSpec } from './resolve.js';
import { SpecSchema } from './spec.js';

/** Source formats a spec may be written in. */
export type SpecFormat = 'yaml' | 'json';

/** Picks the format from a file name: `.json` is JSON, everything else YAML (a superset of JSON). */
export function formatFromName(fileName: string): SpecFormat {
  return fileName.toLowerCase().endsWith('.json') ? 'json' : 'yaml';
}

/** Parses YAML or JSON text into a plain value, reporting syntax errors with line and column. */
export function parseText(text: string, format: SpecFormat): Result<unknown> {
  if (format === 'json') {
    try {
      return { ok: true, value: JSON.parse(text) };
    } catch (error) {
      const message = error instanceof Error ? error.message : String(error);
      return { ok: false, issues: [{ code: 'json_syntax', path: '', message: `JSON syntax error: ${message}` }] };
    }
  }
  const document = parseDocument(text, { prettyErrors: true, uniqueKeys: true });
  if (document.errors.length > 0) {
    return {
      ok: false,
      issues: document.errors.map((error) => ({
        code: 'yaml_syntax',
        path: '',
        message: `YAML syntax error: ${firstLine(error.message).replace(/:$/, '')}`,
      })),
    };
  }
  return { ok: true, value: document.toJS({ maxAliasCount: 100 }) };
}

/** Validates a plain value against the spec schema and resolves it against the catalog. */
export function validateSpec(value: unknown): Result<ResolvedSpec> {
  if (value === null || value === undefined || typeof value !== 'object' || Array.isArray(value)) {
    return {
      ok: false,
      issues: [
        {
          code: 'invalid_type',
          path: '',
          message: 'the spec must be a mapping with at least a `workload` section (see examples/)',
        },
      ],
    };
  }
  const parsed = SpecSchema.safeParse(value, { reportInput: true });
  if (!parsed.success) {
    return { ok: false, issues: fromZodIssues(parsed.error.issues, (path) => keysAt(SpecSchema, path)) };
  }
  return resolveSpec(parsed.data);
}

/**
 * Loads a spec from its text: syntax, schema, catalog. The JSON output of `tokenworks plan` (a design) is
 * accepted too: its `spec` field is the chosen design as a spec document.
 */
export function loadSpec(text: string, format: SpecFormat): Result<ResolvedSpec> {
  const parsed = parseText(text, format);
  if (!parsed.ok) return parsed;
  const value = parsed.value as Record<string, unknown> | null;
  const design = value && typeof value === 'object' && !('workload' in value) && 'spec' in value;
  return validateSpec(design ? value.spec : parsed.value);
}

/** Field names the schema accepts at `path` (for "did you mean" on unknown keys). */
export function keysAt(schema: z.ZodType, path: readonly PropertyKey[]): string[] {
  const objects = objectsAt(schema, path);
  return [...new Set(objects.flatMap((object) => Object.keys(object.shape)))];
}

function objectsAt(schema: z.ZodType, path: readonly PropertyKey[]): z.ZodObject[] {
  const unwrapped = unwrap(schema);
  const [head, ...rest] = path;
  const out: z.ZodObject[] = [];
  for (const candidate of unwrapped) {
    if (candidate instanceof z.ZodObject) {
      if (head === undefined) out.push(candidate);
      else {
        const child = (candidate.shape as Record<string, z.ZodType>)[String(head)];
        if (child) out.push(...objectsAt(child, rest));
      }
    } else if (candidate instanceof z.ZodArray && typeof head === 'number') {
      out.push(...objectsAt(candidate.element as z.ZodType, rest));
    }
  }
  return out;
}

/** Looks through wrappers (optional, default, pipe, union) to the schemas that hold fields. */
function unwrap(schema: z.ZodType): z.ZodType[] {
  if (schema instanceof z.ZodOptional || schema instanceof z.ZodNullable || schema instanceof z.ZodDefault) {
    return unwrap(schema.unwrap() as z.ZodType);
  }
  if (schema instanceof z.ZodPipe) return unwrap(schema.in as z.ZodType);
  if (schema instanceof z.ZodUnion) return schema.options.flatMap((option) => unwrap(option as z.ZodType));
  return [schema];
}

function firstLine(text: string): string {
  return text.split('\n')[0] ?? text;
}

export type { SpecIssue };
