import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';

// The process's own stdin, as ops/main.ts hands it to the tool: --api-key-stdin reads all of it.
const MAIN = join(__dirname, '..', '..', 'ops', 'main.ts');

function ops(
  args: string[],
  stdin: string,
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', MAIN, ...args], { stdio: 'pipe' });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
    child.stdin.end(stdin);
  });
}

describe('ops --api-key-stdin (the process)', () => {
  it('reads the key from stdin to its end: a blank stdin is refused before anything is asked of AWS', async () => {
    const out = await ops(
      ['send', 'probe', '{"mode":"succeed"}', '--stage', 'dev', '--api-key-stdin'],
      ' \n\n',
    );

    expect(out.stderr).toBe('error: --api-key-stdin: stdin holds no key\n');
    expect(out.code).toBe(2);
    expect(out.stdout).toBe('');
  });
});
