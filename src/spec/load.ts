/**
 * Loading a spec from text: YAML or JSON syntax, then the schema, then catalog resolution. Pure (no file
 * access), so the same path serves the CLI, workers, an HTTP API and the browser.
 * @module
 */

import { type Document, isScalar, parseDocument, visit } from 'yaml';
import { z } from 'zod';
import { hasControlCharacter } from '../util/text.js';
import { describe, escapeControls, fromZodIssues, type Result, type SpecIssue, shorten } from './issues.js';
import { type ResolvedSpec, resolveSpec } from './resolve.js';
import { parseSiteCalibration } from './site-calibration.js';
import { SpecSchema } from './spec.js';

/** Source formats a spec may be written in. */
export type SpecFormat = 'yaml' | 'json';

/** Picks the format from a file name: `.json` is JSON, everything else YAML (a superset of JSON). */
export function formatFromName(fileName: string): SpecFormat {
  return fileName.toLowerCase().endsWith('.json') ? 'json' : 'yaml';
}

/** Largest spec text accepted, characters: specs are a few kilobytes; anything this large is not one. */
export const MAX_SPEC_CHARS = 1_000_000;

/** Most aliases a YAML spec may expand (a guard against "billion laughs" alias bombs). */
const MAX_ALIAS_COUNT = 100;

/**
 * Parses YAML or JSON text into a plain value (binary, non-UTF-8 and oversized text refused, control characters in
 * strings refused, syntax errors with line and column); `maxChars` raises the size bound for data files.
 */
export function parseText(text: string, format: SpecFormat, maxChars: number = MAX_SPEC_CHARS): Result<unknown> {
  if (text.includes('\u0000')) {
    return {
      ok: false,
      issues: [{ code: 'binary', path: '', message: 'the file holds NUL bytes: it is binary, not YAML or JSON text' }],
    };
  }
  if (text.includes('\ufffd')) {
    // What a UTF-8 decoder makes of bytes that are not UTF-8.
    return {
      ok: false,
      issues: [
        {
          code: 'binary',
          path: '',
          message: 'the file is not UTF-8 text (it holds bytes no text encodes): save it as UTF-8',
        },
      ],
    };
  }
  if (text.length > maxChars) {
    return {
      ok: false,
      issues: [
        {
          code: 'too_big',
          path: '',
          message: `the text is ${text.length.toLocaleString('en-US')} characters long, more than the ${maxChars.toLocaleString('en-US')} it may be`,
        },
      ],
    };
  }
  if (format === 'json') {
    try {
      return withPlainText(JSON.parse(text));
    } catch (error) {
      const message = error instanceof Error ? error.message : String(error);
      const line = escapeControls(firstLine(message));
      return {
        ok: false,
        issues: [{ code: 'json_syntax', path: '', message: `JSON syntax error: ${shortenMiddle(line)}` }],
      };
    }
  }
  // Duplicate keys are found by one pass over the parsed maps below: the parser's own check compares every pair
  // of keys of a map (32,000 keys took 23 s).
  const document = parseDocument(text, { prettyErrors: true, uniqueKeys: false });
  if (document.errors.length > 0) {
    return {
      ok: false,
      issues: document.errors.map((error) => ({
        code: 'yaml_syntax',
        path: '',
        message: `YAML syntax error: ${shortenMiddle(escapeControls(firstLine(error.message).replace(/:$/, '')))}`,
      })),
    };
  }
  const duplicate = firstDuplicateKey(document, text);
  if (duplicate) return { ok: false, issues: [duplicate] };
  try {
    return withPlainText(document.toJS({ maxAliasCount: MAX_ALIAS_COUNT }));
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    return {
      ok: false,
      issues: [
        {
          code: 'yaml_aliases',
          path: '',
          message: `YAML aliases expand too far (${firstLine(message)}): write the values out, or use fewer than ${MAX_ALIAS_COUNT} aliases`,
        },
      ],
    };
  }
}

/** Longest syntax-error message kept (the parser quotes the text around the error). */
const MAX_SYNTAX_MESSAGE = 200;

function shortenMiddle(text: string): string {
  return text.length <= MAX_SYNTAX_MESSAGE ? text : `${text.slice(0, MAX_SYNTAX_MESSAGE - 1)}…`;
}

/** A parsed value, or an issue at the first string (or key) holding a control character, found by one walk. */
function withPlainText(value: unknown): Result<unknown> {
  const path = controlCharacterPath(value);
  if (path === undefined) return { ok: true, value };
  return {
    ok: false,
    issues: [{ code: 'control_character', path, message: 'holds a control character; write plain text' }],
  };
}

/** The path of the first string or key in `value` holding a control character (tabs and newlines allowed). */
export function controlCharacterPath(value: unknown, path = ''): string | undefined {
  const stack: [unknown, string][] = [[value, path]];
  // An explicit stack: a deeply nested document must not overflow the call stack.
  while (stack.length > 0) {
    const [node, at] = stack.pop() as [unknown, string];
    if (typeof node === 'string') {
      if (hasControlCharacter(node)) return at;
    } else if (Array.isArray(node)) {
      for (let i = node.length - 1; i >= 0; i--) stack.push([node[i], `${at}[${i}]`]);
    } else if (node !== null && typeof node === 'object') {
      for (const [key, child] of Object.entries(node)) {
        const childAt = at === '' ? shorten(key) : `${at}.${shorten(key)}`;
        if (hasControlCharacter(key)) return childAt;
        stack.push([child, childAt]);
      }
    }
  }
  return undefined;
}

/** The first key that appears twice in one YAML mapping, as a syntax issue with its line and column. */
function firstDuplicateKey(document: Document.Parsed, text: string): SpecIssue | undefined {
  let found: SpecIssue | undefined;
  visit(document, {
    Map(_, map) {
      const seen = new Set<unknown>();
      for (const pair of map.items) {
        const key = isScalar(pair.key) ? pair.key.value : pair.key;
        if (seen.has(key)) {
          const offset = isScalar(pair.key) ? (pair.key.range?.[0] ?? 0) : 0;
          const before = text.slice(0, offset);
          const line = before.split('\n').length;
          const column = offset - before.lastIndexOf('\n');
          found = {
            code: 'yaml_syntax',
            path: '',
            message: `YAML syntax error: the key ${describe(String(key))} appears twice in one mapping, at line ${line}, column ${column}`,
          };
          return visit.BREAK;
        }
        seen.add(key);
      }
      return undefined;
    },
  });
  return found;
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

/** What {@link loadSpec} is given besides the text. */
export interface LoadSpecOptions {
  /**
   * The text of the site calibration file `system.calibration` names (the caller reads it: the core reads no
   * files); undefined when it could not be read, with `calibrationError` saying why.
   */
  readonly calibrationText?: string;
  readonly calibrationError?: string;
}

/** The `system.calibration` reference of a parsed spec document (or of a design's `spec`), if any. */
export function calibrationRef(value: unknown): string | undefined {
  const document = specDocument(value) as { system?: { calibration?: unknown } } | null;
  const ref = document?.system?.calibration;
  return typeof ref === 'string' && ref.length > 0 ? ref : undefined;
}

/** The spec document of a parsed value: itself, or the `spec` field of a `tokenworks plan` design. */
function specDocument(value: unknown): unknown {
  const record = value as Record<string, unknown> | null;
  const design = record && typeof record === 'object' && !('workload' in record) && 'spec' in record;
  return design ? record.spec : value;
}

/** A resolved spec with the site efficiency of its `system.calibration` file applied. */
function withCalibration(spec: ResolvedSpec, options: LoadSpecOptions): Result<ResolvedSpec> {
  const system = spec.system;
  if (!system?.calibration) return { ok: true, value: spec };
  const path = 'system.calibration';
  if (system.siteEfficiency !== undefined) {
    return {
      ok: false,
      issues: [{ code: 'conflict', path, message: 'give system.siteEfficiency or system.calibration, not both' }],
    };
  }
  if (options.calibrationText === undefined) {
    const why = options.calibrationError ?? 'the calibration file was not read';
    return { ok: false, issues: [{ code: 'file', path, value: system.calibration, message: why }] };
  }
  const calibration = parseSiteCalibration(options.calibrationText, path);
  if (!calibration.ok) return calibration;
  const found = calibration.value.accelerator;
  if (found !== system.accelerator.id && found !== system.accelerator.name) {
    return {
      ok: false,
      issues: [
        {
          code: 'invalid_value',
          path,
          value: system.calibration,
          message: `the calibration was fitted on ${found}, the spec runs ${system.accelerator.id ?? system.accelerator.name}: calibrate on this accelerator`,
        },
      ],
    };
  }
  return { ok: true, value: { ...spec, system: { ...system, siteEfficiency: calibration.value.siteEfficiency } } };
}

/**
 * Loads a spec from its text: syntax, schema, catalog. The JSON output of `tokenworks plan` (a design) is
 * accepted too: its `spec` field is the chosen design as a spec document.
 */
export function loadSpec(text: string, format: SpecFormat, options: LoadSpecOptions = {}): Result<ResolvedSpec> {
  try {
    const parsed = parseText(text, format);
    if (!parsed.ok) return parsed;
    const resolved = validateSpec(specDocument(parsed.value));
    return resolved.ok ? withCalibration(resolved.value, options) : resolved;
  } catch (error) {
    // A library call never throws on input: a fault here is reported as an issue, with what it said.
    const message = error instanceof Error ? error.message : String(error);
    return { ok: false, issues: [{ code: 'internal', path: '', message: `could not load the spec: ${message}` }] };
  }
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
