/**
 * Completion from the spec's JSON Schema (schemas/spec.schema.json, what `npm run schemas` writes from the zod
 * schemas): the schemas at a path of keys (through `properties`, list `items` and every branch of `anyOf` and
 * `oneOf`), the keys they allow with their descriptions, and the values of a key (`enum`, `const`, booleans).
 * @module
 */
import type { Segment } from './yaml-context.js';

/** The part of a JSON Schema the completion reads. */
export interface JsonSchema {
  readonly type?: string | readonly string[];
  readonly description?: string;
  readonly properties?: Readonly<Record<string, JsonSchema>>;
  readonly items?: JsonSchema;
  readonly anyOf?: readonly JsonSchema[];
  readonly oneOf?: readonly JsonSchema[];
  readonly allOf?: readonly JsonSchema[];
  readonly enum?: readonly unknown[];
  readonly const?: unknown;
  readonly default?: unknown;
}

/** One completion: what is inserted, and what the list shows beside it. */
export interface Completion {
  readonly label: string;
  readonly detail?: string;
  /** Keys whose value is a mapping: the completion opens a block. */
  readonly block?: boolean;
}

/** A schema and its branches (`anyOf`, `oneOf`, `allOf`), flattened. */
function branches(schema: JsonSchema): JsonSchema[] {
  const nested = [...(schema.anyOf ?? []), ...(schema.oneOf ?? []), ...(schema.allOf ?? [])];
  return [schema, ...nested.flatMap(branches)];
}

/** The schemas the value at `path` may follow. */
export function schemasAt(root: JsonSchema, path: readonly Segment[]): JsonSchema[] {
  let current = branches(root);
  for (const segment of path) {
    current = current.flatMap((s) => {
      if (segment === '[]') return s.items ? branches(s.items) : [];
      const property = s.properties?.[segment];
      return property ? branches(property) : [];
    });
  }
  return current;
}

const typeName = (s: JsonSchema): string | undefined =>
  Array.isArray(s.type) ? s.type.join(' | ') : (s.type as string | undefined);

/** The keys a mapping at `path` may hold, with each one's type and description. */
export function keyCompletions(root: JsonSchema, path: readonly Segment[]): Completion[] {
  const seen = new Map<string, Completion>();
  for (const schema of schemasAt(root, path)) {
    for (const [name, property] of Object.entries(schema.properties ?? {})) {
      if (name === '$schema' || seen.has(name)) continue;
      const all = branches(property);
      const block = all.some((b) => b.properties !== undefined) && !all.some((b) => b.type === 'string');
      const types = [...new Set(all.map(typeName).filter((t): t is string => t !== undefined))].join(' or ');
      const description = all.find((b) => b.description)?.description;
      seen.set(name, {
        label: name,
        ...((types || description) && { detail: [types, description].filter(Boolean).join(': ') }),
        ...(block && { block: true }),
      });
    }
  }
  return [...seen.values()];
}

/** The values `key` of the mapping at `path` may take: its enum and const values, or true and false. */
export function valueCompletions(root: JsonSchema, path: readonly Segment[], key: string): Completion[] {
  const values = new Set<string>();
  for (const schema of schemasAt(root, [...path, key])) {
    for (const value of schema.enum ?? []) values.add(String(value));
    if (schema.const !== undefined) values.add(String(schema.const));
    if (schema.type === 'boolean') {
      values.add('true');
      values.add('false');
    }
  }
  const description = schemasAt(root, [...path, key]).find((s) => s.description)?.description;
  return [...values].map((label) => ({ label, ...(description && { detail: description }) }));
}
