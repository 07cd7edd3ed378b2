/**
 * `npm run checks` (and `npm test`, beside the tests: scripts/test.cjs): lint and typecheck at
 * the same time, each on one core (they took 25 s and 23 s of CPU one after the other on 2
 * cores). Each one's output is printed whole when it ends, so the two never interleave; the exit
 * code is 1 when either fails.
 */
const { spawn } = require('node:child_process');
const os = require('node:os');

const npm = process.platform === 'win32' ? 'npm.cmd' : 'npm';

/**
 * Runs `npm run -s <script>`, at `niceness` (0: as this process; higher: lower CPU priority, set
 * before npm starts the tool, which inherits it); resolves with its exit code once its output is
 * printed.
 */
function run(script, niceness = 0) {
  const started = Date.now();
  return new Promise((resolve) => {
    const child = spawn(npm, ['run', '-s', script], { stdio: ['ignore', 'pipe', 'pipe'] });
    if (niceness > 0 && child.pid !== undefined) {
      try {
        os.setPriority(child.pid, niceness);
      } catch {
        // A platform without priorities: the check runs at the normal one.
      }
    }
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

/**
 * Lint and typecheck at the same time; resolves with 0 when both pass, else 1. `niceness` lowers
 * their CPU priority (`npm test` runs them beside the tests at 10).
 */
function runChecks(niceness = 0) {
  return Promise.all([run('lint', niceness), run('typecheck', niceness)]).then((codes) =>
    codes.every((c) => c === 0) ? 0 : 1,
  );
}

module.exports = { runChecks };

// `npm run checks`; `npm test` runs them beside the tests (scripts/test.cjs).
if (require.main === module)
  runChecks().then((code) => {
    process.exitCode = code;
  });
