/**
 * Setup file of the unit and infra projects (vitest.config.mts): runs each file's tests, and the
 * tests inside each `describe`, in random order, so a test that relies on what another test left
 * behind fails instead of passing by luck.
 *
 * vitest 4.1 hands the test workers `sequence.shuffle` from the root config only (a project's own
 * `sequence` does not reach them), and a root setting would shuffle every project. So this file
 * sets it on the file being collected, which vitest reads before it runs the file. The order comes
 * from the root `sequence.seed` (VITEST_SEED, set by vitest.config.mts); when a test fails, the seed is printed so that
 * `VITEST_SEED=<seed> npx vitest run <file>` runs the same order again.
 */
import { beforeEach, TestRunner } from 'vitest';

const collector = TestRunner.getCurrentSuite();
// The file's own children (top-level tests and describes)…
collector.file.shuffle = true;
// …and the children of every describe in it (each inherits its parent's options).
collector.options = { ...collector.options, shuffle: true };

beforeEach(({ onTestFailed }) => {
  onTestFailed(() => {
    console.log(`tests ran in random order, seed ${process.env.VITEST_SEED}: VITEST_SEED=<seed> repeats it`);
  });
});
