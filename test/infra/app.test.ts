import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';

const ROOT = join(__dirname, '..', '..');
const outdir = mkdtempSync(join(tmpdir(), 'app-test-'));
afterAll(() => rmSync(outdir, { recursive: true, force: true }));

/** Runs bin/app.ts the way the CDK CLI does (context in CDK_CONTEXT_JSON), without synthesizing a valid stage. */
function runApp(context: Record<string, string>) {
  // STAGE=dev: the variable an older bin/app.ts fell back to; it must be ignored now.
  const env = { ...process.env, STAGE: 'dev', CDK_CONTEXT_JSON: JSON.stringify(context), CDK_OUTDIR: outdir };
  return spawnSync(process.execPath, ['--import', 'tsx', join(ROOT, 'bin', 'app.ts')], {
    cwd: ROOT,
    env,
    encoding: 'utf8',
    timeout: 60_000,
  });
}

describe('bin/app.ts stage selection', () => {
  it('fails with one line listing the valid stages when no stage is given (a STAGE variable is ignored)', () => {
    const run = runApp({});

    expect(run.status).toBe(1);
    expect(run.stderr.trim().split('\n')).toEqual([
      'error: No stage given. Valid stages: dev, staging, prod, local (choose with -c stage=<name>).',
    ]);
  });

  it('fails with one line, no stack trace, for an unknown stage', () => {
    const run = runApp({ stage: 'nope' });

    expect(run.status).toBe(1);
    expect(run.stderr.trim().split('\n')).toEqual([
      'error: Unknown stage "nope". Valid stages: dev, staging, prod, local (choose with -c stage=<name>).',
    ]);
  });

  it('fails with one line for an invalid setting given as context', () => {
    const run = runApp({ stage: 'dev', alarmEmail: 'ops' });

    expect(run.status).toBe(1);
    expect(run.stderr.trim().split('\n')).toEqual([
      'error: Stage "dev": alarmEmail "ops" is not an email address',
    ]);
  });
});
