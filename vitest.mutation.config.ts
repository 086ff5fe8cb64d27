import { defineConfig } from 'vitest/config';

/**
 * `npm run test:mutation` (stryker.config.json): the tests of the trust core only, in one worker
 * without isolation (the modules under test keep no module-level state; vitest's per-file overhead
 * falls from ~7.7 s to ~2 s a run). Left out: tests that spawn processes (a mutant is not active in
 * a child process, so they kill nothing), the long fuzz slices (npm test runs those) and the CBOR
 * codec's own tests (canonical.ts is not mutated: its fuzzers against cborg guard it).
 */
export default defineConfig({
  test: {
    include: [
      'test/unit/grant-*.test.ts',
      'test/unit/access-*.test.ts',
      'test/unit/cloud-command-check.test.ts',
      'test/integration/grant-*.test.ts',
      'test/integration/access-*.test.ts',
    ],
    exclude: ['test/unit/grant-fuzz.test.ts', 'test/unit/grant-semantic-fuzz.test.ts', 'test/integration/grant-replay.test.ts'],
    setupFiles: ['test/support/mutation-setup.ts'],
    isolate: false,
    testTimeout: 60_000,
    hookTimeout: 60_000,
  },
});
