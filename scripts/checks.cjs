/**
 * `npm run checks` (the first step of `npm test`): lint and typecheck at the same time, each on
 * one core (they took 25 s and 23 s of CPU one after the other on 2 cores). Each one's output is
 * printed whole when it ends, so the two never interleave; the exit code is 1 when either fails.
 */
const { spawn } = require('node:child_process');

const npm = process.platform === 'win32' ? 'npm.cmd' : 'npm';

/** Runs `npm run -s <script>`; resolves with its exit code once its output is printed. */
function run(script) {
  const started = Date.now();
  return new Promise((resolve) => {
    const child = spawn(npm, ['run', '-s', script], { stdio: ['ignore', 'pipe', 'pipe'] });
    const out = [];
    child.stdout.on('data', (d) => out.push(d));
    child.stderr.on('data', (d) => out.push(d));
    let ended = false;
    const end = (code) => {
      if (ended) return;
      ended = true;
      process.stdout.write(Buffer.concat(out));
      const seconds = ((Date.now() - started) / 1000).toFixed(1);
      console.log(`${script}: ${code === 0 ? 'ok' : `failed (exit ${code})`} in ${seconds} s`);
      resolve(code ?? 1);
    };
    child.on('error', (error) => {
      out.push(Buffer.from(`${error.message}\n`));
      end(1);
    });
    child.on('close', end);
  });
}

/** Lint and typecheck at the same time; resolves with 0 when both pass, else 1. */
function runChecks() {
  return Promise.all([run('lint'), run('typecheck')]).then((codes) => (codes.every((c) => c === 0) ? 0 : 1));
}

module.exports = { runChecks };

// `npm run checks`; `npm test` runs them beside the tests (scripts/test.cjs).
if (require.main === module)
  runChecks().then((code) => {
    process.exitCode = code;
  });
