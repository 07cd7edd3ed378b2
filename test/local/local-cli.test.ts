import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { LOCAL_USAGE, parseLocalArgs, UsageError } from '../../local/cli-args';
import type { LocalEnv } from '../../local/index';
import { banner } from '../../local/main';
import { PROJECT_ROOT, synthFailureReason } from '../../local/startup';
import { TEST_CDK_OUT } from '../../tools/assembly';

const npmStart = (args: string[], env: Record<string, string> = {}) =>
  spawn('npm', ['start', '-s', '--', ...args], {
    cwd: PROJECT_ROOT,
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });

describe('npm start command line', () => {
  it('reads the known flags', () => {
    expect(parseLocalArgs([])).toEqual({ synth: true, json: false, help: false });
    expect(parseLocalArgs(['--no-synth', '--json'])).toEqual({ synth: false, json: true, help: false });
    expect(parseLocalArgs(['-h']).help).toBe(true);
  });

  it.each([['--nosynth'], ['--port=3000'], ['extra']])('refuses %s naming it', (arg) => {
    expect(() => parseLocalArgs(['--no-synth', arg])).toThrow(UsageError);
    expect(() => parseLocalArgs([arg])).toThrow(
      new RegExp(`${arg} \\(npm start -- --help lists the options\\)`),
    );
  });

  it('refuses an unknown flag with one line on stderr and exit code 2', () => {
    const out = spawnSync('npm', ['start', '-s', '--', '--no-synht'], {
      cwd: PROJECT_ROOT,
      encoding: 'utf8',
    });
    expect(out.status).toBe(2);
    expect(out.stderr.trim().split('\n')).toEqual([
      'error: unknown option --no-synht (npm start -- --help lists the options)',
    ]);
    expect(out.stdout).toBe('');
  });

  it('prints the usage on --help and exits 0', () => {
    const out = spawnSync('npm', ['start', '-s', '--', '--help'], { cwd: PROJECT_ROOT, encoding: 'utf8' });
    expect(out.status).toBe(0);
    expect(out.stdout).toBe(LOCAL_USAGE);
  });
});

describe('startup banner', () => {
  const q = (name: string) => ({
    url: `http://127.0.0.1:4566/000000000000/${name}`,
    arn: `arn:aws:sqs:us-east-1:000000000000:${name}`,
    name,
  });
  const env: LocalEnv = {
    apiUrl: 'http://127.0.0.1:3000',
    apiKey: 'k'.repeat(40),
    awsEndpoint: 'http://127.0.0.1:4566',
    region: 'us-east-1',
    queues: {
      StandardDlq: q('EventPipeline-local-StandardDlq-a'),
      StandardQueue: q('EventPipeline-local-StandardQueue-b'),
      FifoDlq: q('EventPipeline-local-FifoDlq-c.fifo'),
      FifoQueue: q('EventPipeline-local-FifoQueue-d.fifo'),
      PipelineLaneThumbnailsDlq5B1F0C3E: q('EventPipeline-local-PipelineLaneThumbnailsDlq5B1F0C3E-e'),
      PipelineLaneThumbnailsQueueECF02AA0: q('EventPipeline-local-PipelineLaneThumbnailsQueueECF02AA0-f'),
      Extra: q('EventPipeline-local-Extra-g'),
    },
    buckets: { ArchiveBucket: 'eventpipeline-local-archive' },
    dynamodbEndpoint: 'http://127.0.0.1:8000',
    tables: {},
    lanes: {
      standard: { queue: 'StandardQueue', dlq: 'StandardDlq', fifo: false },
      fifo: { queue: 'FifoQueue', dlq: 'FifoDlq', fifo: true },
      thumbnails: {
        queue: 'PipelineLaneThumbnailsQueueECF02AA0',
        dlq: 'PipelineLaneThumbnailsDlq5B1F0C3E',
        fifo: false,
      },
    },
  };
  const handle = { apiUrl: env.apiUrl, apiKey: env.apiKey, awsEndpoint: env.awsEndpoint, region: env.region };
  const section = (text: string, label: string) => {
    const lines = text.split('\n');
    const start = lines.findIndex((l) => l.startsWith(`  ${label} `));
    if (start < 0) return [];
    const end = lines.findIndex((l, i) => i > start && !l.startsWith('             '));
    return lines.slice(start, end).map((l) => l.slice(13).replace(/\s+/g, ' '));
  };

  it('lists each lane with its queue and DLQ, and the queues outside every lane by logical id', () => {
    const text = banner({ ...handle, env }, '/app/.local/env.json', 2.5);

    expect(section(text, 'lanes')).toEqual([
      'standard EventPipeline-local-StandardQueue-b (DLQ EventPipeline-local-StandardDlq-a)',
      'fifo EventPipeline-local-FifoQueue-d.fifo (DLQ EventPipeline-local-FifoDlq-c.fifo)',
      'thumbnails EventPipeline-local-PipelineLaneThumbnailsQueueECF02AA0-f (DLQ EventPipeline-local-PipelineLaneThumbnailsDlq5B1F0C3E-e)',
    ]);
    expect(section(text, 'queues')).toEqual(['Extra EventPipeline-local-Extra-g']);
    for (const label of ['API', 'API key', 'AWS', 'buckets', 'env file', 'journal'])
      expect(text).toMatch(new RegExp(`^  ${label} +\\S`, 'm'));
    expect(text).toContain('ready in 2.5 s');
  });

  it('lists the queues by logical id when the template has no lanes', () => {
    const text = banner({ ...handle, env: { ...env, lanes: {} } }, '/app/.local/env.json', 1);

    expect(section(text, 'lanes')).toEqual([]);
    expect(section(text, 'queues')).toHaveLength(7);
  });
});

describe('synth failure reason', () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'synth-reason-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it("shows esbuild's [ERROR] lines with their location, not the CLI's 'Subprocess exited'", () => {
    // Real esbuild output for a bundling failure, as CDK's NodejsFunction passes it to stderr.
    const entry = path.join(dir, 'handler.ts');
    writeFileSync(entry, "import x from 'no-such-module';\nexport const handler = x;\n");
    const esbuild = spawnSync(
      path.join(PROJECT_ROOT, 'node_modules', '.bin', 'esbuild'),
      ['--bundle', 'handler.ts', '--platform=node', '--outfile=out.js'],
      { cwd: dir, encoding: 'utf8' },
    );
    expect(esbuild.status).toBe(1);
    const output = `${esbuild.stderr}\nError: Failed to bundle asset EventPipeline-local/Producer/Code/Stage\n\nSubprocess exited with error 1\n`;
    expect(synthFailureReason(output, 1)).toBe(
      '[ERROR] Could not resolve "no-such-module" (handler.ts:1:14)',
    );
  });

  it("falls back to the app's error: line, then an Error: line, then the last line", () => {
    expect(synthFailureReason('x\nerror: stage "qa" is unknown\nSubprocess exited with error 1\n', 1)).toBe(
      'stage "qa" is unknown',
    );
    expect(synthFailureReason('ValidationError: bad\nSubprocess exited with error 1', 1)).toBe(
      'ValidationError: bad',
    );
    expect(synthFailureReason('', 3)).toBe('exit code 3');
  });
});

describe('npm start stops when npm itself is signalled', () => {
  it.each(['SIGTERM', 'SIGINT'] as const)(
    '%s to npm stops local mode and frees its ports',
    async (signal) => {
      const child = npmStart(['--no-synth'], {
        LOCAL_CDK_OUT: TEST_CDK_OUT,
        PORT: '0',
        LOCAL_AWS_PORT: '0',
        LOCAL_LOGS: 'json',
      });
      const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
      let stdout = '';
      const ready = await new Promise<{ apiUrl: string; awsEndpoint: string }>((resolve, reject) => {
        child.stdout.on('data', (d: Buffer) => {
          stdout += d.toString();
          const line = stdout.split('\n').find((l) => l.includes('"message":"ready"'));
          if (line) resolve(JSON.parse(line) as { apiUrl: string; awsEndpoint: string });
        });
        void exited.then((code) =>
          reject(new Error(`npm start exited with ${code} before ready: ${stdout}`)),
        );
      });
      expect((await fetch(`${ready.apiUrl}/_local/health`)).status).toBe(200);
      child.kill(signal);
      expect(await exited).toBe(0);
      await expect(fetch(`${ready.apiUrl}/_local/health`)).rejects.toThrow();
      await expect(fetch(ready.awsEndpoint)).rejects.toThrow();
    },
    60_000,
  );
});
