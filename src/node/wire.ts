/**
 * The wire form of tasks and results that leave the process (queue jobs, shard files): JSON, with the values plain
 * JSON loses tagged so that they come back exactly (`undefined` properties and array items, NaN, ±Infinity and
 * −0), and anything that is not plain data refused instead of silently changed. The piscina runner's structured
 * clone keeps these values too, so every runner gives the inline runner's answer to the bit.
 * @module
 */
import { type ErrorCode, TokenworksError } from '../errors.js';
import type { SpecIssue } from '../spec/issues.js';

/** The key of a tagged value: `{ "~tw": "undefined" }`. No plain-data result has a key with this name. */
const TAG = '~tw';

const SPECIAL = ['undefined', 'NaN', 'Infinity', '-Infinity', '-0'] as const;
type Special = (typeof SPECIAL)[number];

function special(value: unknown): Special | undefined {
  if (value === undefined) return 'undefined';
  if (typeof value !== 'number') return undefined;
  if (Number.isNaN(value)) return 'NaN';
  if (value === Number.POSITIVE_INFINITY) return 'Infinity';
  if (value === Number.NEGATIVE_INFINITY) return '-Infinity';
  if (Object.is(value, -0)) return '-0';
  return undefined;
}

const DECODED: Record<Special, unknown> = {
  undefined: undefined,
  NaN: Number.NaN,
  Infinity: Number.POSITIVE_INFINITY,
  '-Infinity': Number.NEGATIVE_INFINITY,
  '-0': -0,
};

/** A JSON-safe copy of `value` (plain objects, arrays, strings, booleans, null, numbers); throws on anything else. */
export function toWire(value: unknown, path = '$'): unknown {
  const tag = special(value);
  if (tag !== undefined) return { [TAG]: tag };
  if (value === null || typeof value === 'string' || typeof value === 'boolean' || typeof value === 'number') {
    return value;
  }
  if (Array.isArray(value)) return value.map((item, index) => toWire(item, `${path}[${index}]`));
  const prototype = typeof value === 'object' ? Object.getPrototypeOf(value) : undefined;
  if (prototype === Object.prototype || prototype === null) {
    const copy: Record<string, unknown> = {};
    for (const [key, item] of Object.entries(value as object)) copy[key] = toWire(item, `${path}.${key}`);
    return copy;
  }
  const kind = typeof value === 'object' ? ((value as object).constructor?.name ?? 'object') : typeof value;
  throw new TypeError(`internal: ${path} is a ${kind}, which a task or result sent to a worker cannot carry`);
}

/** The value {@link toWire} made `wire` from (decoding in place: `wire` is used up). */
export function fromWire(wire: unknown): unknown {
  if (wire === null || typeof wire !== 'object') return wire;
  if (Array.isArray(wire)) {
    for (let i = 0; i < wire.length; i++) wire[i] = fromWire(wire[i]);
    return wire;
  }
  const record = wire as Record<string, unknown>;
  const tag = record[TAG];
  if (typeof tag === 'string' && Object.keys(record).length === 1 && (SPECIAL as readonly string[]).includes(tag)) {
    return DECODED[tag as Special];
  }
  for (const key of Object.keys(record)) record[key] = fromWire(record[key]);
  return record;
}

/** `value` as wire JSON text. */
export function wireText(value: unknown): string {
  return JSON.stringify(toWire(value));
}

/** Marks the structured part of a failed task's reason (after the human-readable message). */
const ERROR_MARKER = '\n~tw-error:';

/**
 * A task's error as the text a queue job fails with: its message first (what a dashboard shows), then its name,
 * code, file and issues as JSON, so that {@link errorFromWire} rebuilds a {@link TokenworksError} with its code.
 */
export function errorToWire(error: unknown): string {
  const message = error instanceof Error ? error.message : String(error);
  const name = error instanceof Error ? error.name : 'Error';
  const details =
    error instanceof TokenworksError
      ? { name, message, code: error.code, file: error.file, issues: error.issues }
      : { name, message };
  return `${message}${ERROR_MARKER}${JSON.stringify(toWire(details))}`;
}

/** The error a job's failure reason stands for: the task's own error when a worker wrote it, else a plain Error. */
export function errorFromWire(reason: string, what: string): Error {
  const at = reason.lastIndexOf(ERROR_MARKER);
  if (at < 0) return new Error(`${what}: ${reason}`);
  try {
    const details = fromWire(JSON.parse(reason.slice(at + ERROR_MARKER.length))) as {
      name: string;
      message: string;
      code?: ErrorCode;
      file?: string;
      issues?: SpecIssue[];
    };
    if (details.name === 'TokenworksError' && details.code !== undefined) {
      return new TokenworksError(details.code, details.message, {
        ...(details.file !== undefined && { file: details.file }),
        ...(details.issues !== undefined && { issues: details.issues }),
      });
    }
    const error = new Error(details.message);
    error.name = details.name;
    return error;
  } catch {
    return new Error(`${what}: ${reason.slice(0, at)}`);
  }
}
