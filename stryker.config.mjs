// @ts-check
/**
 * `npm run test:mutation`: StrykerJS over the trust core (protocols/grant, the CBOR field reader,
 * hub/access, the replay store, the clock floor, the trust store). Not part of `npm test`: a full
 * run takes tens of minutes on 2 cores. One file at a time while working:
 *   npx stryker run --mutate hub/access/decide.ts
 * StrykerJS 10.1 (on vitest 5 and Node 24); its vitest runner with the trust core's own vitest config
 * (vitest.mutation.config.ts) and per-test coverage, so each mutant runs only the tests that reach it.
 * @type {import('@stryker-mutator/api/core').PartialStrykerOptions}
 */
export default {
  testRunner: 'vitest',
  vitest: { configFile: 'vitest.mutation.config.ts', related: false },
  coverageAnalysis: 'perTest',
  mutate: [
    'protocols/grant/*.ts',
    '!protocols/grant/index.ts',
    'protocols/cbor/fields.ts',
    'hub/access/*.ts',
    'hub/store/replay-store.ts',
    'hub/store/clock-floor.ts',
    'hub/store/trust-store.ts',
  ],
  checkers: [],
  // Module-level constants (curve constants, prefixes, sizes) reach every test: a mutant of one
  // would rerun the whole suite each time. They are reported as ignored, not scored.
  ignoreStatic: true,
  concurrency: 2,
  timeoutMS: 10_000,
  // Under test-results/, which git and eslint already leave alone.
  tempDirName: 'test-results/stryker-tmp',
  cleanTempDir: 'always',
  reporters: ['clear-text', 'progress', 'html', 'json'],
  clearTextReporter: { logTests: false, reportTests: false },
  htmlReporter: { fileName: 'test-results/mutation/mutation.html' },
  jsonReporter: { fileName: 'test-results/mutation/mutation.json' },
  thresholds: { high: 95, low: 90, break: null },
};
