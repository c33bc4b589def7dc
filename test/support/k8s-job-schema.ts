/**
 * The Kubernetes JSON Schema of a batch/v1 Job, cut down by hand to the fields `tokenworks k8s-job` writes, and a
 * small checker of the keywords it uses (type, enum, required, properties, additionalProperties, items).
 *
 * Source: yannh/kubernetes-json-schema, `master-standalone-strict/job-batch-v1.json` (commit 25114fc6e835), which is
 * generated from the Kubernetes OpenAPI definition `io.k8s.api.batch.v1.Job` (JobSpec, PodTemplateSpec, PodSpec,
 * Container, EnvVar, EnvVarSource, ObjectFieldSelector, VolumeMount, Volume, PersistentVolumeClaimVolumeSource).
 * Kept as that file has them: the nullable types, the `required` lists, `additionalProperties: false` at every level
 * (the "strict" variant), the enums of apiVersion and kind. Fields the manifest does not use are left out, and
 * `additionalProperties: false` then refuses them: the subset is stricter than the original, never looser.
 * @module
 */

/** The JSON Schema keywords used here. */
export interface Schema {
  readonly type?: string | readonly string[];
  readonly enum?: readonly unknown[];
  readonly required?: readonly string[];
  readonly properties?: Readonly<Record<string, Schema>>;
  readonly additionalProperties?: boolean | Schema;
  readonly items?: Schema;
}

const nullable = (type: string): Schema => ({ type: [type, 'null'] });
const int32 = nullable('integer');
const stringMap: Schema = { type: ['object', 'null'], additionalProperties: nullable('string') };
const strings: Schema = { type: ['array', 'null'], items: nullable('string') };

const objectMeta: Schema = {
  type: ['object', 'null'],
  additionalProperties: false,
  properties: { name: nullable('string'), namespace: nullable('string'), labels: stringMap, annotations: stringMap },
};

const envVar: Schema = {
  type: 'object',
  additionalProperties: false,
  required: ['name'],
  properties: {
    name: nullable('string'),
    value: nullable('string'),
    valueFrom: {
      type: ['object', 'null'],
      additionalProperties: false,
      properties: {
        fieldRef: {
          type: ['object', 'null'],
          additionalProperties: false,
          required: ['fieldPath'],
          properties: { apiVersion: nullable('string'), fieldPath: { type: 'string' } },
        },
      },
    },
  },
};

const container: Schema = {
  type: ['object', 'null'],
  additionalProperties: false,
  required: ['name'],
  properties: {
    name: { type: 'string' },
    image: nullable('string'),
    command: strings,
    args: strings,
    env: { type: ['array', 'null'], items: { ...envVar, type: ['object', 'null'] } },
    volumeMounts: {
      type: ['array', 'null'],
      items: {
        type: ['object', 'null'],
        additionalProperties: false,
        required: ['name', 'mountPath'],
        properties: { name: { type: 'string' }, mountPath: { type: 'string' }, readOnly: nullable('boolean') },
      },
    },
  },
};

const volume: Schema = {
  type: ['object', 'null'],
  additionalProperties: false,
  required: ['name'],
  properties: {
    name: { type: 'string' },
    persistentVolumeClaim: {
      type: ['object', 'null'],
      additionalProperties: false,
      required: ['claimName'],
      properties: { claimName: { type: 'string' }, readOnly: nullable('boolean') },
    },
  },
};

/** The subset of io.k8s.api.batch.v1.Job (see the module comment). */
export const JOB_SCHEMA: Schema = {
  type: 'object',
  additionalProperties: false,
  properties: {
    apiVersion: { type: ['string', 'null'], enum: ['batch/v1'] },
    kind: { type: ['string', 'null'], enum: ['Job'] },
    metadata: objectMeta,
    spec: {
      type: ['object', 'null'],
      additionalProperties: false,
      required: ['template'],
      properties: {
        backoffLimit: int32,
        backoffLimitPerIndex: int32,
        completionMode: nullable('string'),
        completions: int32,
        maxFailedIndexes: int32,
        parallelism: int32,
        template: {
          type: 'object',
          additionalProperties: false,
          properties: {
            metadata: objectMeta,
            spec: {
              type: ['object', 'null'],
              additionalProperties: false,
              required: ['containers'],
              properties: {
                restartPolicy: nullable('string'),
                containers: { type: 'array', items: container },
                volumes: { type: ['array', 'null'], items: volume },
              },
            },
          },
        },
      },
    },
  },
};

/** The JSON type of `value` as JSON Schema names it ("integer" for whole numbers, which are also "number"). */
function typesOf(value: unknown): string[] {
  if (value === null) return ['null'];
  if (Array.isArray(value)) return ['array'];
  if (typeof value === 'number') return Number.isInteger(value) ? ['integer', 'number'] : ['number'];
  return [typeof value];
}

/** Every place where `value` breaks `schema`, as "path: problem" lines (none when it is valid). */
export function schemaProblems(value: unknown, schema: Schema, path = '$'): string[] {
  const problems: string[] = [];
  if (schema.type !== undefined) {
    const allowed = typeof schema.type === 'string' ? [schema.type] : schema.type;
    if (!typesOf(value).some((type) => allowed.includes(type))) {
      return [`${path}: is ${typesOf(value)[0]}, the schema wants ${allowed.join(' or ')}`];
    }
  }
  if (schema.enum !== undefined && !schema.enum.includes(value)) {
    problems.push(`${path}: ${JSON.stringify(value)} is not one of ${JSON.stringify(schema.enum)}`);
  }
  if (value !== null && typeof value === 'object' && !Array.isArray(value)) {
    const record = value as Record<string, unknown>;
    for (const key of schema.required ?? []) {
      if (!(key in record)) problems.push(`${path}: ${key} is required`);
    }
    for (const [key, item] of Object.entries(record)) {
      const property = schema.properties?.[key];
      if (property) problems.push(...schemaProblems(item, property, `${path}.${key}`));
      else if (schema.additionalProperties === false) problems.push(`${path}.${key}: not a field of this object`);
      else if (typeof schema.additionalProperties === 'object') {
        problems.push(...schemaProblems(item, schema.additionalProperties, `${path}.${key}`));
      }
    }
  }
  if (Array.isArray(value) && schema.items) {
    value.forEach((item, index) => {
      problems.push(...schemaProblems(item, schema.items as Schema, `${path}[${index}]`));
    });
  }
  return problems;
}
