import { defineConfig } from 'vitest/config';

// The JSON report is what .ci/run reads to print its closing "N passed, N failed" line.
export default defineConfig({
  test: {
    include: ['src/**/*.test.ts', 'test/**/*.test.ts'],
    reporters: ['default', 'json'],
    outputFile: { json: '.vitest-report.json' },
    testTimeout: 30_000,
    // Installs the Debian packages the tests drive, once and in turn (test/support/global-setup.ts).
    globalSetup: ['test/support/global-setup.ts'],
  },
});
