// Mutation testing of the decision modules (`npm run mutation`; how to run it, the scope and the
// figures: docs/MUTATION.md). StrykerJS 9.6.1: the last release line that runs on Node 20 (10.x needs
// Node 22); its vitest runner supports vitest 4.1.
//
// Scope: the modules where the pipeline decides something (README, "Where a behaviour is
// decided"), and for ops only the selection of what a redrive or replay moves (line ranges).
// Tests: the unit and infra projects and the tests that run these modules against the embedded
// DynamoDB emulator (vitest.mutation.config.mts); only the tests that import a mutated module
// (`related`) and, per mutant, only the tests that reach it (`perTest`) run.

import { readFileSync } from 'node:fs';

/**
 * `file:start-end` (Stryker's line range): from the first line matching `from` to the first
 * matching `to` after it, moved by `offset` lines; so the ranges follow the code as it changes.
 * Throws when a pattern is not found (the code moved on: update the pattern).
 */
function lines(file, from, to, offset = 0) {
  const text = readFileSync(new URL(file, import.meta.url), 'utf8').split('\n');
  const start = text.findIndex((l) => from.test(l));
  const end = start < 0 ? -1 : text.findIndex((l, i) => i > start && to.test(l));
  if (start < 0 || end < 0) throw new Error(`stryker.config.mjs: no lines of ${file} from ${from} to ${to}`);
  return `${file}:${start + 1}-${end + 1 + offset}`;
}

/** The lines of the top-level function whose first line matches `signature`. */
const fn = (file, signature) => lines(file, signature, /^}/);

/**
 * `MUTATION_SCOPE=<prefix>[,<prefix>…]` keeps the entries of `mutate` whose path starts with one
 * of the prefixes (a run per module group, line ranges kept: `MUTATION_SCOPE=ops/ npm run
 * mutation`); unset, everything. Throws when a prefix selects nothing (a typo would else run all).
 */
function scoped(entries) {
  const prefixes = (process.env.MUTATION_SCOPE ?? '').split(',').filter((p) => p.trim() !== '');
  if (prefixes.length === 0) return entries;
  const kept = entries.filter((e) => prefixes.some((p) => e.startsWith(p.trim())));
  if (kept.length === 0)
    throw new Error(`stryker.config.mjs: MUTATION_SCOPE=${process.env.MUTATION_SCOPE} selects nothing`);
  return kept;
}

/** @type {import('@stryker-mutator/api/core').PartialStrykerOptions} */
export default {
  testRunner: 'vitest',
  vitest: { configFile: 'vitest.mutation.config.mts', related: true },
  coverageAnalysis: 'perTest',
  // A mutant's tests stop at the first that kills it (the default): on 2 shared, loaded cores a
  // run that ran every covering test had tested 435 of 2027 mutants after 22 minutes.
  // `--disableBail` lists every killing test.
  disableBail: false,
  checkers: ['typescript'],
  tsconfigFile: 'tsconfig.mutation.json',
  // Type-checks the mutated file and what depends on it, not the whole project per mutant.
  typescriptChecker: { prioritizePerformanceOverAccuracy: true },
  mutate: scoped([
    // Consumer: retry or dead-letter, runs and receives, crash isolation, run-once
    'lambda/shared/consumer/failure-policy.ts',
    'lambda/shared/consumer/crash-isolation.ts',
    'lambda/shared/consumer/run-state.ts',
    'lambda/shared/consumer/idempotency.ts',
    // Follow-up jobs: their ids, what the API would refuse (issue 18)
    'lambda/shared/consumer/children.ts',
    // Results: on the row, in S3, or refused (issue 18)
    'lambda/shared/jobs/result.ts',
    // Completion events: which status changes publish, their fields, the relay's retry point (issue 18)
    'lambda/shared/events/completion.ts',
    'lambda/shared/events/relay.ts',
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
    fn('ops/lib/dlq.ts', /^export function idsOfCopy\(/),
    fn('ops/lib/dlq.ts', /^export function isFiltered\(/),
    fn('ops/lib/dlq.ts', /^function selects\(/),
    // redrive: move task or not, lanes, --ids read first, which messages are skipped
    lines('ops/lib/dlq.ts', /const useTasks = /, /const base = \{/, -1),
    fn('ops/lib/replay.ts', /^async function presence\(/),
    // replay: --ids, statuses, newest record, which archived messages are replayed or skipped
    lines('ops/lib/replay.ts', /const records: ArchivedMessage\[\] =/, /if \(options\.dryRun\) \{/, 3),
    // the archive listing's lane, --until and --ids pre-filters; matchesArchive
    lines('ops/lib/archive.ts', /async list\(/, /const out: ArchivedMessage\[\] = \[\];/, -1),
    fn('ops/lib/archive.ts', /^export function matchesArchive\(/),
  ]),
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
