import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { twinConfigOf } from '../../../test/support/twin-config.js';
import { FAILURE_CLASSES } from '../../catalog/reliability.js';
import { validateSpec } from '../../spec/load.js';
import { PRIORITY } from '../context.js';
import { MAX_FAILURE_CLASSES, simulateRun } from '../run.js';
import type { TwinConfig } from '../setup.js';
import { type FailureProcess, randomFailures } from './failures.js';

const llamaText = readFileSync(new URL('../../../examples/llama3-405b-54d.yaml', import.meta.url), 'utf8');

/** The Llama 3 case with every random process off: failures come only from the process a test passes. */
function quietLlama(): TwinConfig {
  // biome-ignore lint/suspicious/noExplicitAny: the fixture edits a parsed YAML document
  const spec = parse(llamaText) as Record<string, any>;
  const failures = Object.fromEntries(FAILURE_CLASSES.map((c) => [c.id, { ratePerYear: 0 }]));
  spec.twin = {
    ...spec.twin,
    days: 5,
    failures,
    stragglers: { ratePerNodeYear: 0 },
    throttling: { diurnalSwing: 0 },
    checkpoint: { ...spec.twin.checkpoint, intervalMinutes: 30 },
    spares: { nodes: 2, policy: 'wait' },
  };
  const valid = validateSpec(spec);
  if (!valid.ok) throw new Error(JSON.stringify(valid.issues));
  const config = twinConfigOf(valid.value);
  if (!config.ok) throw new Error(JSON.stringify(config.issues));
  return config.value;
}

/** A failure process that replays (seconds, class id) pairs: the shape of a trace-driven one. */
function replay(observed: readonly (readonly [number, string])[]): FailureProcess {
  return {
    start(ctx) {
      for (const [t, id] of observed) {
        const index = ctx.config.classes.findIndex((c) => c.id === id);
        ctx.sim.at(t, () => ctx.strike(index), PRIORITY.failure);
      }
    },
  };
}

describe('failure processes', () => {
  it('are replaceable: a replayed list of failures drives the job instead of the random process', () => {
    const day = 86400;
    const config = quietLlama();
    // A GPU crash on day 1; a software crash on day 2, and a hang 10 s later that merges into it.
    const run = simulateRun(config, 1, 0, {
      failures: replay([
        [day, 'gpu'],
        [2 * day, 'software'],
        [2 * day + 10, 'hang'],
      ]),
    });
    const { summary } = run;
    expect(summary.unexpectedInterruptions).toBe(2);
    expect(summary.failures).toBe(3);
    expect(summary.interruptionsByCause).toMatchObject({ gpu: 1, software: 1, hang: 0 });
    expect(run.events.filter((e) => e.kind === 'interruption')).toEqual([
      { t: day, kind: 'interruption', cause: 'gpu' },
      { t: 2 * day, kind: 'interruption', cause: 'software' },
    ]);
    // Two crashes noticed after 30 s each; the merged hang adds no detection time.
    expect(summary.badputHours.detection * 3600).toBeCloseTo(2 * config.detection.crashSeconds, 6);
    // The GPU's host went to repair and a spare took its place.
    expect(summary.spares.fewestFree).toBe(1);
    // The random process was not started: no failure beyond the replayed ones.
    expect(simulateRun(config, 1, 0, { failures: replay([]) }).summary.failures).toBe(0);
  });

  it('default to the seeded random process: passing it changes nothing', () => {
    // biome-ignore lint/suspicious/noExplicitAny: the fixture edits a parsed YAML document
    const spec = parse(llamaText) as Record<string, any>;
    spec.twin.days = 10;
    const valid = validateSpec(spec);
    if (!valid.ok) throw new Error(JSON.stringify(valid.issues));
    const config = twinConfigOf(valid.value);
    if (!config.ok) throw new Error(JSON.stringify(config.issues));
    const implicit = JSON.stringify(simulateRun(config.value, 5, 2));
    expect(JSON.stringify(simulateRun(config.value, 5, 2, { failures: randomFailures }))).toBe(implicit);
  });

  it('refuse more classes than the stream layout has room for', () => {
    const config = quietLlama();
    const classes = Array.from({ length: MAX_FAILURE_CLASSES + 1 }, (_, i) => ({
      ...(config.classes[0] as TwinConfig['classes'][number]),
      id: `c${i}`,
    }));
    expect(() => simulateRun({ ...config, classes }, 1, 0)).toThrow(/streams would overlap/);
    expect(() => simulateRun({ ...config, classes: classes.slice(0, MAX_FAILURE_CLASSES) }, 1, 0)).not.toThrow();
  });
});
