/**
 * `npm test`: the checks (lint and typecheck, scripts/checks.cjs) and the tests (`vitest run`,
 * with this command's arguments) at the same time, instead of one after the other. The tests keep
 * the terminal; the checks' output is printed whole when they end. The exit code is 1 when either
 * fails; both always run to their end, so one run reports every failure.
 *
 * Why at the same time: the checks took 22–25 s of wall time before the first test started, while
 * a whole vitest run keeps about 1.3 of the 2 cores busy (its end-to-end files mostly wait), so
 * the checks fit in the gaps (docs/MEASUREMENTS.md, "Test suite wall time").
 */
const { spawn } = require('node:child_process');
const path = require('node:path');

const root = path.join(__dirname, '..');
const started = Date.now();

/** Runs `node <args>` from the repository's root; resolves with its exit code. */
function node(args, { buffered }) {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, args, {
      cwd: root,
      stdio: buffered ? ['ignore', 'pipe', 'pipe'] : ['ignore', 'inherit', 'inherit'],
    });
    const out = [];
    child.stdout?.on('data', (d) => out.push(d));
    child.stderr?.on('data', (d) => out.push(d));
    let ended = false;
    const end = (code) => {
      if (ended) return;
      ended = true;
      if (buffered) process.stdout.write(Buffer.concat(out));
      resolve(code ?? 1);
    };
    child.on('error', (error) => {
      out.push(Buffer.from(`${error.message}\n`));
      end(1);
    });
    child.on('close', end);
  });
}

const checks = node([path.join(root, 'scripts', 'checks.cjs')], { buffered: true });
/** vitest's own command (its package.json `bin`; the package exports no path to it). */
const vitestPackage = require.resolve('vitest/package.json');
const vitest = path.join(path.dirname(vitestPackage), require(vitestPackage).bin.vitest);
const tests = node([vitest, 'run', ...process.argv.slice(2)], { buffered: false });

Promise.all([checks, tests]).then(([c, t]) => {
  const seconds = ((Date.now() - started) / 1000).toFixed(1);
  console.log(
    `npm test: checks ${c === 0 ? 'ok' : `failed (exit ${c})`}, tests ${t === 0 ? 'ok' : `failed (exit ${t})`}, ${seconds} s`,
  );
  process.exitCode = c === 0 && t === 0 ? 0 : 1;
});
