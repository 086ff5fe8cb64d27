import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    // Compiles the checkout once for the child processes tests start (see the file).
    globalSetup: ['test/setup/build-once.ts'],
    pool: 'forks',
    maxWorkers: 2,
    testTimeout: 30_000,
    hookTimeout: 30_000,
    // `.ci/run` reads the JSON report to print its `N passed, N failed` line.
    reporters: ['default', 'json'],
    outputFile: { json: 'test-results/vitest.json' },
    // Every branch of the grant protocol and the access decision is tested: they open the door.
    // Coverage is off in `npm test` (it slows every run); `npm run test:coverage` turns it on and
    // enforces this.
    coverage: {
      provider: 'v8',
      include: ['protocols/grant/**/*.ts', 'hub/access/**/*.ts'],
      reporter: ['text-summary', 'text'],
      thresholds: { branches: 100 },
    },
  },
});
