/**
 * `npm test`: the checks (lint and typecheck, scripts/checks.cjs) and the tests (`vitest run`,
 * with this command's arguments) at the same time, instead of one after the other. The tests keep
 * the terminal; each check's output is printed whole when it ends. The exit code is 1 when either
 * fails; both always run to their end, so one run reports every failure.
 *
 * Why at the same time: the checks took 22–25 s of wall time before the first test started, while
 * a whole vitest run keeps about 1.7 of the 2 cores busy and less at its start and end (the local
 * stage's synth, the timing files), so the checks fit beside it (docs/MEASUREMENTS.md, "Test suite
 * wall time").
 */
const { spawn } = require('node:child_process');
const path = require('node:path');
const { runChecks } = require('./checks.cjs');

const root = path.join(__dirname, '..');
const started = Date.now();

/** vitest's own command (its package.json `bin`; the package exports no path to it). */
const vitestPackage = require.resolve('vitest/package.json');
const vitest = path.join(path.dirname(vitestPackage), require(vitestPackage).bin.vitest);

/** `vitest run` with this command's arguments, on this terminal; resolves with its exit code. */
function runTests() {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [vitest, 'run', ...process.argv.slice(2)], {
      cwd: root,
      stdio: ['ignore', 'inherit', 'inherit'],
    });
    child.on('error', (error) => {
      console.error(`vitest did not start: ${error.message}`);
      resolve(1);
    });
    child.on('close', (code) => resolve(code ?? 1));
  });
}

/**
 * The checks at a lower CPU priority (nice 10): the tests wait on each other's timeouts and on the
 * local stages (a starved fault run meets more consumer timeouts, each another visibility wait),
 * the checks on nothing, so they take the cores the tests leave idle (≈ 80 of a vitest run's
 * core-seconds on 2 cores) rather than the tests' share.
 */
const CHECKS_NICENESS = 10;

Promise.all([runChecks(CHECKS_NICENESS), runTests()]).then(([checks, tests]) => {
  const seconds = ((Date.now() - started) / 1000).toFixed(1);
  const verdict = (code) => (code === 0 ? 'ok' : `failed (exit ${code})`);
  console.log(`npm test: checks ${verdict(checks)}, tests ${verdict(tests)}, ${seconds} s`);
  process.exitCode = checks === 0 && tests === 0 ? 0 : 1;
});
