/**
 * vitest.mutation.config.ts only: a property that fails under a mutant has killed it already, so
 * fast-check stops at the first counterexample instead of shrinking it (shrinking a failing
 * 3,000-run property ran past Stryker's timeout and cost a minute per mutant).
 */
import fc from 'fast-check';

fc.configureGlobal({ endOnFailure: true });
