import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vitest/config';
import { LongestFirstSequencer } from './test/helpers/sequencer.mjs';

// The reference app imports the package by its name, as an outside app does (tsconfig `paths`
// for tsc, tsx and esbuild; these aliases for vitest).
const resolve = {
  alias: [
    { find: /^event-pipeline$/, replacement: fileURLToPath(new URL('./lib/index.ts', import.meta.url)) },
    {
      find: /^event-pipeline\/jobs$/,
      replacement: fileURLToPath(new URL('./lambda/shared/jobs/public.ts', import.meta.url)),
    },
  ],
};
const shared = { testTimeout: 20_000, hookTimeout: 60_000, pool: 'forks' as const };
/**
 * Unit and infra tests run in random order. vitest 4.1 gives the test workers `sequence.shuffle`
 * of the root config only, so the projects' own setting is not enough: their setup file
 * (test/helpers/shuffle-tests.ts) turns it on for each of their files. The order comes from the
 * root seed: VITEST_SEED=<n> repeats a run's order (a failing file prints its seed).
 */
const shuffled = { sequence: { shuffle: true }, setupFiles: ['test/helpers/shuffle-tests.ts'] };
process.env.VITEST_SEED ||= String(Date.now());

/**
 * Files that measure time against the machine's speed: the API fuzz run (a 100-entry batch must
 * finish within the producer's 10 s timeout) and the rate-limit runs (calls per second). They run
 * in a second group after the others (`sequence.groupOrder`), so the other workers' load cannot
 * push them over their limits; every other file shares the workers. The two run at the same time:
 * a project's own `maxWorkers: 1` did not hold them to one file at a time (vitest 4.1 started both
 * at once, a timeline of the run showed), and together they have passed every run.
 */
const ALONE = ['test/local/api-fuzz.e2e.test.ts'];
const RATE_LIMIT = ['test/local/rate-limit.e2e.test.ts'];
/** Unit files whose module under test changes the process once per process (`installFaultGuard`). */
const PROCESS_STATE = ['test/unit/fault-guard.test.ts'];
/** Projects on local mode: the stage synthesized once for the run, and local mode's timings. */
const onLocalStage = {
  globalSetup: ['test/local/global-setup.ts'],
  testTimeout: 120_000,
  hookTimeout: 120_000,
};

export default defineConfig({
  test: {
    sequence: { seed: Number(process.env.VITEST_SEED), sequencer: LongestFirstSequencer },
    /**
     * Workers: vitest's default on 2 cores is 1, so every file ran after the other, and the local
     * end-to-end files spend most of their time waiting (visibility timeouts, back-offs, FIFO
     * groups held by a failing message): the fault run used 32 % of one core, and a whole run
     * with 3 workers kept 1.2 of the 2 cores busy (563 s of CPU in 471 s). 4 workers overlap more
     * of those waits with other files' work, and 6 more still: 321–342 s against 394 s for 4 in
     * the same checkout, 1.6–1.7 cores busy (docs/MEASUREMENTS.md, "Test suite wall time").
     * `--maxWorkers=<n>` or VITEST_MAX_WORKERS=<n> sets another count.
     */
    maxWorkers: Number(process.env.VITEST_MAX_WORKERS) || 6,
    projects: [
      {
        resolve,
        test: {
          ...shared,
          ...shuffled,
          name: 'unit',
          include: ['test/unit/**/*.test.ts'],
          exclude: PROCESS_STATE,
          // Unit files share one module cache per worker (aws-sdk-client-mock, the SDK, zod and
          // Powertools are loaded once per worker instead of once per file): 63 s of CPU → 25 s for
          // the project on 2 cores. Every file mocks per test and restores what it changes; a file
          // that changes the process itself once per process runs isolated (PROCESS_STATE).
          isolate: false,
        },
      },
      // Unit files whose subject keeps process-wide state for the life of the process (the fault
      // guard's listeners, installed once): each in a fresh process, as before.
      { resolve, test: { ...shared, ...shuffled, name: 'unit-isolated', include: PROCESS_STATE } },
      {
        resolve,
        test: {
          ...shared,
          ...shuffled,
          name: 'infra',
          include: ['test/infra/**/*.test.ts'],
          // Most tests synthesize a stage (cdk-nag included): 3–8 s alone, and one took 22.8 s
          // beside 5 other workers. The bound guards against a hang, not the machine's speed.
          testTimeout: 60_000,
          // Infra tests only synthesize templates (no mocks, no environment changes), so the files of
          // a worker share one module cache: aws-cdk-lib, cdk-nag and cdk-monitoring-constructs are
          // loaded once per worker instead of once per file, and synthStage's cache serves every
          // file. Measured on 2 cores: 57 s of CPU → 20 s for the project. Templates from
          // synthStage are shared, so a test clones one before it changes it (cost.test.ts does).
          isolate: false,
        },
      },
      {
        resolve,
        test: {
          ...shared,
          name: 'local',
          include: ['test/local/**/*.test.ts'],
          exclude: [...ALONE, ...RATE_LIMIT],
          ...onLocalStage,
          // The files of a worker share one module cache, as the unit and infra files do: local
          // mode, the emulators and the SDK are loaded once per worker instead of once per file
          // (the project's imports: 73 s → 29 s; its CPU 295 s → 257 s). Each file starts and
          // stops its own stage; the SDK fakes (test/helpers/aws-fakes.ts, aws-sdk-client-mock)
          // give the clients their real `send` back when their file ends.
          isolate: false,
        },
      },
      {
        resolve,
        test: {
          ...shared,
          // Local end-to-end files that run alone, after every other file (ALONE above).
          name: 'local-alone',
          include: ALONE,
          ...onLocalStage,
          sequence: { groupOrder: 1 },
        },
      },
      {
        resolve,
        test: {
          ...shared,
          // The rate-limit file, after every other file too (ALONE above). Its fixture app is
          // synthesized from the start of the run, while the other files run.
          name: 'local-ratelimit',
          include: RATE_LIMIT,
          ...onLocalStage,
          // Its own app only: not stage local of cdk.out.test.
          globalSetup: ['test/local/global-setup-ratelimit.ts'],
          sequence: { groupOrder: 1 },
        },
      },
      {
        resolve,
        test: {
          ...shared,
          // The local console in real Chromium (Debian's, driven by playwright-core), on local mode.
          name: 'browser',
          include: ['test/browser/**/*.test.ts'],
          ...onLocalStage,
        },
      },
      {
        resolve,
        test: {
          ...shared,
          // An app outside the repository that installs the packed package (README, "Adopting
          // the stack in your app"): npm pack, npm install, two synths and local mode.
          name: 'outside',
          include: ['test/outside/**/*.test.ts'],
          testTimeout: 180_000,
          hookTimeout: 600_000,
        },
      },
    ],
  },
});
