/**
 * Vitest's global setup: the Debian packages the tests drive (chromium for the report and browser tests, prometheus
 * and promtool for the PromQL tests, redis-server for the queue runner, victoria-metrics for fleet telemetry) installed once, one after the other, before any test file runs. Test files run in
 * parallel, and two apt-get runs at once fail on dpkg's lock; each test file still checks its own package and
 * skips with the reason when it cannot be had (not root, no network).
 * @module
 */
import { ensureChromium } from './chromium.js';
import { ensureDebianPackage, REDIS, VICTORIA_METRICS } from './debian.js';
import { ensurePrometheus } from './prometheus.js';

export default function setup(): void {
  for (const [name, ensure] of [
    ['chromium', ensureChromium],
    ['prometheus', ensurePrometheus],
    ['redis-server', () => ensureDebianPackage(REDIS)],
    ['victoria-metrics', () => ensureDebianPackage(VICTORIA_METRICS)],
  ] as const) {
    try {
      ensure();
    } catch (error) {
      // Not fatal here: the tests that need the package report it themselves.
      console.warn(`global setup: ${name} is not available: ${error instanceof Error ? error.message : String(error)}`);
    }
  }
}
