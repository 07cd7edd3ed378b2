/**
 * Fault run through local mode: sends N probe messages (seeded mix of modes, standard and FIFO),
 * injects S3/SQS faults at the network boundary, and accounts for every accepted message.
 *
 *   npm run chaos -- --n 5000 [--seed 42] [--no-faults] [--out run.md]
 *
 * Exits 1 when anything was lost, a FIFO order was violated or a handler ran again after succeeding.
 */
import { writeFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { synthesize } from '../local';
import { BENCH_CDK_OUT } from '../tools/assembly';
import { reportTable, runFaultSuite } from '../tools/fault-run';

async function main(): Promise<number> {
  let values;
  try {
    ({ values } = parseArgs({
      options: {
        n: { type: 'string', default: '1000' },
        seed: { type: 'string', default: '42' },
        'no-faults': { type: 'boolean', default: false },
        out: { type: 'string' },
      },
    }));
  } catch (e) {
    console.error(
      `error: ${(e as Error).message}. Usage: npm run chaos -- --n 5000 [--seed 42] [--no-faults] [--out file.md]`,
    );
    return 2;
  }
  const n = Number(values.n);
  const seed = Number(values.seed);
  if (!Number.isInteger(n) || n < 1 || !Number.isInteger(seed)) {
    console.error('error: --n must be a positive integer and --seed an integer');
    return 2;
  }
  const t0 = Date.now();
  console.error('synthesizing stage local (fresh bundles)…');
  await synthesize('local', BENCH_CDK_OUT);
  const report = await runFaultSuite({
    n,
    seed,
    cdkOut: BENCH_CDK_OUT,
    ...(process.env.CHAOS_LOGS === 'json' ? { logs: 'json' as const } : {}),
    faults: !values['no-faults'],
    progress: (line) => console.error(`[${((Date.now() - t0) / 1000).toFixed(1)}s] ${line}`),
  });
  const table = reportTable(report);
  console.log(table);
  if (values.out) {
    const cmd = `npm run chaos -- --n ${n} --seed ${seed}${values['no-faults'] ? ' --no-faults' : ''}`;
    writeFileSync(
      values.out,
      `Command: \`${cmd}\` (${new Date().toISOString()}, Node ${process.version})\n\n${table}\n`,
    );
  }
  return report.lost === 0 && report.orderViolations === 0 && report.duplicateRuns === 0 ? 0 : 1;
}

main().then(
  (code) => process.exit(code),
  (error) => {
    console.error(`error: ${(error as Error).message}`);
    process.exit(1);
  },
);
