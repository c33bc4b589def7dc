import { describe, expect, it } from 'vitest';
import { CRASH_DETECTION_SECONDS, FAILURE_CLASSES, STRAGGLER_SLOWDOWN_MEDIAN } from '../catalog/reliability.js';
import { TwinSchema } from './twin.js';
import { resolveTwin } from './twin-settings.js';

describe('twin settings resolution', () => {
  it('fills every left-out field with its sourced catalog default', () => {
    const twin = resolveTwin(undefined);
    expect(twin.detection.crashSeconds).toBe(CRASH_DETECTION_SECONDS.value);
    expect(twin.stragglers.slowdown).toBe(STRAGGLER_SLOWDOWN_MEDIAN.value);
    expect(twin.stragglers.slowdownGiven).toBe(false);
    expect(twin.checkpoint.intervalMinutes).toBe('optimal');
    expect(twin.checkpoint.storageGBps).toBeUndefined(); // sized by the factory
    expect(twin.spares.nodes).toBe('auto');
    for (const defaults of FAILURE_CLASSES) {
      expect(twin.failures[defaults.id]).toEqual({
        ratePerYear: defaults.ratePerYear.value,
        weibullShape: 1,
        ageHours: 0,
      });
    }
  });

  it('keeps what the spec wrote, and the section as written for messages', () => {
    const written = TwinSchema.parse({
      failures: { gpu: { ratePerYear: 0.5, weibullShape: 0.8 } },
      stragglers: { slowdown: 2 },
    });
    const twin = resolveTwin(written);
    expect(twin.failures.gpu).toEqual({ ratePerYear: 0.5, weibullShape: 0.8, ageHours: 0 });
    expect(twin.stragglers).toMatchObject({ slowdown: 2, slowdownGiven: true });
    expect(twin.written).toBe(written);
  });
});

describe('the plain-number limits', () => {
  it('name every effect of the compare schema, in its order', async () => {
    const { EffectsSchema } = await import('./compare.js');
    const { EFFECT_NAMES } = await import('./limits.js');
    expect([...EFFECT_NAMES]).toEqual(Object.keys(EffectsSchema.shape));
  });
});
