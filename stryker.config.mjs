// Mutation testing of the decision modules (`npm run mutation`; figures in bench/README.md,
// "Mutation testing"). StrykerJS 9.6.1: the last release line that runs on Node 20 (10.x needs
// Node 22); its vitest runner supports vitest 4.1.
//
// Scope: the modules where the pipeline decides something (README, "Where a behaviour is
// decided"), and for ops only the selection of what a redrive or replay moves (line ranges).
// Tests: the unit and infra projects and the tests that run these modules against the embedded
// DynamoDB emulator (vitest.mutation.config.mts); only the tests that import a mutated module
// (`related`) and, per mutant, only the tests that reach it (`perTest`) run.

/** @type {import('@stryker-mutator/api/core').PartialStrykerOptions} */
export default {
  testRunner: 'vitest',
  vitest: { configFile: 'vitest.mutation.config.mts', related: true },
  coverageAnalysis: 'perTest',
  // Every test that covers a mutant runs, not only up to the first failure, so the report says
  // which tests kill it (bench/README.md attributes the kills to the tests that existed before).
  disableBail: true,
  checkers: ['typescript'],
  tsconfigFile: 'tsconfig.mutation.json',
  // Type-checks the mutated file and what depends on it, not the whole project per mutant.
  typescriptChecker: { prioritizePerformanceOverAccuracy: true },
  mutate: [
    // Consumer: retry or dead-letter, runs and receives, crash isolation, run-once
    'lambda/shared/consumer/failure-policy.ts',
    'lambda/shared/consumer/crash-isolation.ts',
    'lambda/shared/consumer/run-state.ts',
    'lambda/shared/consumer/idempotency.ts',
    // Status transitions and their conditions
    'lambda/shared/status/dynamodb-store.ts',
    // Producer: validation, FIFO batches, Idempotency-Key, lanes
    'lambda/producer/validation.ts',
    'lambda/producer/batch-plan.ts',
    'lambda/producer/idempotency-keys.ts',
    'lambda/producer/routing.ts',
    // Local mode's event source mapping semantics
    'local/triggers/batch-response.ts',
    'local/triggers/group-gate.ts',
    'local/triggers/filter-criteria.ts',
    // ops: the selection options, and what a redrive or a replay selects
    'ops/lib/filters.ts',
    'ops/lib/dlq.ts:303-313', // isFiltered, selects
    'ops/lib/dlq.ts:398-431', // redrive: move task or not, lanes, which messages are skipped
    'ops/lib/replay.ts:59-80', // presence: what is still in a DLQ
    'ops/lib/replay.ts:94-140', // replay: which archived messages are replayed or skipped
    'ops/lib/archive.ts:132-149', // the archive listing's lane, --until and --ids filters
    'ops/lib/archive.ts:171-178', // matchesArchive: --type, --kind, --since, --until
  ],
  // What the sandboxes leave out: build and synth output, local state (.gitignore's list).
  ignorePatterns: ['cdk.out*', 'dist', 'scratch', '.local', 'coverage', '*.tgz', '*.log'],
  // 2 cores, shared: one test runner and one checker at a time each.
  concurrency: 2,
  // The machine is shared: allow a loaded run more time before a mutant counts as a timeout.
  timeoutMS: 10_000,
  // Inside the ignored scratch/ folder (not linted, formatted or type-checked).
  tempDirName: 'scratch/mutation/tmp',
  reporters: ['clear-text', 'progress', 'html', 'json'],
  htmlReporter: { fileName: 'scratch/mutation/report.html' },
  jsonReporter: { fileName: 'scratch/mutation/report.json' },
  clearTextReporter: { allowColor: false, logTests: false, reportScoreTable: true, reportMutants: true },
  thresholds: { high: 90, low: 80, break: null },
};
