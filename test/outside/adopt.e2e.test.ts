/**
 * The README's "Adopting the stack in your app", done the way an outside app does it: the
 * repository packed with `npm pack`, a fresh folder outside the repository holding exactly the
 * files the README shows, installed with the README's command (the tarball in place of the
 * registry's `event-pipeline`), synthesized through the app's own CDK CLI, and run with
 * `npx event-pipeline local`. The files come from the README, so the README cannot drift from
 * what works.
 *
 * Slow (pack, install, two synths, local mode): `npm run test:outside`.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { GetQueueAttributesCommand, SQSClient } from '@aws-sdk/client-sqs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PROJECT_ROOT } from '../../local/startup';
import { authHeaders, localTenantAuth } from '../../ops/lib/request-auth';
import { waitFor } from '../../tools/local-stage';

const SECTION = 'Adopting the stack in your app';
const PACKAGE = 'event-pipeline';
const LANE = 'thumbnails';
const TYPE = 'thumbnail.create';

/** The app the README's section shows: each file by its path, and the install command's words. */
interface ReadmeApp {
  readonly files: ReadonlyMap<string, string>;
  readonly install: readonly string[];
}

/**
 * Reads the README's adopter section: every line that is only a path in backticks and a colon,
 * with the fenced block after it (the whole file), and the `bash` block holding `npm install`.
 */
function readmeApp(readme: string): ReadmeApp {
  const lines = readme.split('\n');
  const start = lines.indexOf(`## ${SECTION}`);
  if (start < 0) throw new Error(`README has no section "## ${SECTION}"`);
  const files = new Map<string, string>();
  let install: string[] | undefined;
  let pendingPath: string | undefined;
  for (let i = start + 1; i < lines.length; i++) {
    const line = lines[i];
    if (line.startsWith('## ')) break;
    const pathLine = /^`([^`]+)`:$/.exec(line);
    if (pathLine) {
      pendingPath = pathLine[1];
      continue;
    }
    const fence = /^```(\w*)$/.exec(line);
    if (fence) {
      const close = lines.indexOf('```', i + 1);
      if (close < 0) throw new Error(`README line ${i + 1}: unclosed code block`);
      const body = lines.slice(i + 1, close).join('\n') + '\n';
      if (pendingPath !== undefined) files.set(pendingPath, body);
      else if (fence[1] === 'bash') {
        const command = body.split('\n').find((l) => l.startsWith(`npm install ${PACKAGE} `));
        if (command) install = command.trim().split(/\s+/);
      }
      pendingPath = undefined;
      i = close;
      continue;
    }
    if (line.trim() !== '' && pendingPath !== undefined)
      throw new Error(
        `README line ${i + 1}: the path line \`${pendingPath}\`: is not followed by its code block`,
      );
  }
  if (!install) throw new Error(`README section "${SECTION}" has no bash block with npm install ${PACKAGE}`);
  return { files, install };
}

/** Every hunk of the package's patches (`patches/*.patch`), by the file it changes. */
function packagePatches(): { file: string; after: string }[] {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const { parsePatch } = require('../../scripts/postinstall.cjs') as {
    parsePatch(text: string): { file: string; hunks: { before: string[]; after: string[] }[] }[];
  };
  const dir = path.join(PROJECT_ROOT, 'patches');
  return readdirSync(dir)
    .filter((f) => f.endsWith('.patch'))
    .flatMap((f) => parsePatch(readFileSync(path.join(dir, f), 'utf8')))
    .flatMap(({ file, hunks }) => hunks.map((h) => ({ file, after: h.after.join('\n') })));
}

/** Runs a command to its end; its output is kept for the assertion message. */
function run(command: string, args: readonly string[], cwd: string) {
  const out = spawnSync(command, args, {
    cwd,
    encoding: 'utf8',
    env: { ...process.env, CDK_DISABLE_CLI_TELEMETRY: 'true' },
    maxBuffer: 64 * 1024 * 1024,
  });
  return { status: out.status, output: `${out.error ?? ''}\n${out.stdout}\n${out.stderr}` };
}

/** Wall-clock seconds of each step, printed at the end (figures, not assertions). */
const seconds: Record<string, number> = {};
function timed<T>(step: string, work: () => T): T {
  const started = Date.now();
  try {
    return work();
  } finally {
    seconds[step] = Math.round((Date.now() - started) / 100) / 10;
  }
}

interface LocalEnv {
  readonly apiUrl: string;
  readonly apiKey: string;
  /** The stage's auth mode and each local tenant's credentials (the app's default: iam). */
  readonly auth: {
    readonly mode: 'iam' | 'apiKey';
    readonly tenants: Record<string, { accessKeyId?: string; secretAccessKey?: string; apiKey?: string }>;
  };
  readonly awsEndpoint: string;
  readonly region: string;
  readonly queues: Readonly<Record<string, { url: string; arn: string; name: string }>>;
}

interface MessageStatus {
  readonly status: string;
  readonly lane?: string;
  readonly failure: { kind: string } | null;
}

describe('an app outside the repository that follows the README', () => {
  const work = mkdtempSync(path.join(tmpdir(), 'event-pipeline-adopt-'));
  const appDir = path.join(work, 'app');
  let app: ReadmeApp;
  let tarball: string;

  beforeAll(() => {
    app = readmeApp(readFileSync(path.join(PROJECT_ROOT, 'README.md'), 'utf8'));

    const pack = timed('npm pack (with build)', () =>
      run('npm', ['pack', '--pack-destination', work], PROJECT_ROOT),
    );
    expect(pack.status, pack.output).toBe(0);
    tarball = path.join(
      work,
      readdirSync(work).find((f) => f.endsWith('.tgz'))!,
    );

    for (const [file, text] of app.files) {
      mkdirSync(path.dirname(path.join(appDir, file)), { recursive: true });
      writeFileSync(path.join(appDir, file), text);
    }
    const [npm, ...args] = app.install.map((word) => (word === PACKAGE ? tarball : word));
    const install = timed('npm install', () =>
      run(npm, [...args, '--prefer-offline', '--no-audit', '--no-fund'], appDir),
    );
    expect(install.status, install.output).toBe(0);
  });

  afterAll(() => {
    console.log(`adopter app timings (s): ${JSON.stringify(seconds)}`);
    rmSync(work, { recursive: true, force: true });
  });

  it('shows a whole app in the README: package.json, cdk.json, the app and a job module in a custom lane', () => {
    expect([...app.files.keys()]).toEqual(
      expect.arrayContaining([
        'package.json',
        'cdk.json',
        'tsconfig.json',
        'bin/app.ts',
        'jobs/thumbnail.ts',
      ]),
    );
    expect(app.install.slice(0, 3)).toEqual(['npm', 'install', PACKAGE]);
    expect(app.files.get('bin/app.ts')).toContain(`lanes: { ${LANE}:`);
    expect(app.files.get('jobs/thumbnail.ts')).toContain(`lane: '${LANE}'`);
  });

  it('installs the packed package from outside the repository', () => {
    expect(path.relative(PROJECT_ROOT, appDir).startsWith('..')).toBe(true);
    const manifest = JSON.parse(readFileSync(path.join(appDir, 'package.json'), 'utf8')) as {
      dependencies: Record<string, string>;
    };
    expect(manifest.dependencies[PACKAGE]).toMatch(/\.tgz$/);
    expect(existsSync(path.join(appDir, 'node_modules', PACKAGE, 'dist', 'lib', 'index.js'))).toBe(true);
    expect(existsSync(path.join(appDir, 'node_modules', '.bin', PACKAGE))).toBe(true);
  });

  it("patches local mode's emulator at install (the package's postinstall ran)", () => {
    const hunks = packagePatches();

    expect(hunks.length).toBeGreaterThan(0);
    for (const { file, after } of hunks)
      expect(readFileSync(path.join(appDir, file), 'utf8'), `${file} is patched`).toContain(after);
  });

  it('synthesizes stage dev with no cdk-nag error', () => {
    // Act
    const synth = timed('cdk synth (stage dev)', () =>
      run('npx', ['cdk', 'synth', '--no-notices', '-q', '-c', 'stage=dev'], appDir),
    );

    // Assess: any nag error fails the synth (exit code 1)
    expect(synth.status, synth.output).toBe(0);
    const template = JSON.parse(
      readFileSync(path.join(appDir, 'cdk.out', 'EventPipeline-dev.template.json'), 'utf8'),
    ) as { Resources: Record<string, { Type: string }> };
    expect(Object.keys(template.Resources).some((id) => id.includes('LaneThumbnailsDlq'))).toBe(true);
    expect(existsSync(path.join(appDir, 'cdk.out', 'EventPipeline-account.template.json'))).toBe(true);
  });

  describe('in local mode (npx event-pipeline local)', () => {
    let local: ChildProcess | undefined;
    let exited: Promise<number | null>;
    let stdout = '';
    let env: LocalEnv;
    let sqs: SQSClient;

    /** A request as the first local tenant, signed with SigV4 (iam) as a service's SDK signs it. */
    const api = async (method: 'GET' | 'POST', route: string, body?: unknown) => {
      const [tenant] = Object.values(env.auth.tenants);
      const auth = localTenantAuth(env.auth.mode, tenant);
      if (!auth) throw new Error(`.local/env.json has no ${env.auth.mode} credentials for its first tenant`);
      const text = body === undefined ? undefined : JSON.stringify(body);
      const url = `${env.apiUrl}${route}`;
      const headers = await authHeaders(
        { name: 'local', region: env.region, auth },
        { method, url, headers: { 'content-type': 'application/json' }, ...(text ? { body: text } : {}) },
        () => {
          throw new Error('no API key in .local/env.json');
        },
      );
      const res = await fetch(url, { method, headers, ...(text === undefined ? {} : { body: text }) });
      return { status: res.status, body: (await res.json()) as Record<string, unknown> };
    };
    const send = (payload: Record<string, unknown>) => api('POST', '/v1/messages', { type: TYPE, payload });
    const settled = (id: string) =>
      waitFor(
        `message ${id} to succeed or fail`,
        async () => {
          const { body } = await api('GET', `/v1/messages/${id}`);
          const status = body as unknown as MessageStatus;
          return status.status === 'succeeded' || status.status === 'failed' ? status : undefined;
        },
        60_000,
        250,
      );
    const queueUrl = (logicalIdPart: string) => {
      const ids = Object.keys(env.queues).filter((id) => id.includes(logicalIdPart));
      expect(ids, `queues of .local/env.json: ${Object.keys(env.queues).join(', ')}`).toHaveLength(1);
      return env.queues[ids[0]].url;
    };
    const messagesIn = async (url: string) => {
      const out = await sqs.send(
        new GetQueueAttributesCommand({
          QueueUrl: url,
          AttributeNames: ['ApproximateNumberOfMessages', 'ApproximateNumberOfMessagesNotVisible'],
        }),
      );
      return {
        visible: Number(out.Attributes?.ApproximateNumberOfMessages ?? 0),
        inFlight: Number(out.Attributes?.ApproximateNumberOfMessagesNotVisible ?? 0),
      };
    };

    beforeAll(async () => {
      const started = Date.now();
      // Its own process group, so afterAll stops npx and everything under it.
      local = spawn('npx', [PACKAGE, 'local'], {
        cwd: appDir,
        detached: true,
        stdio: ['ignore', 'pipe', 'pipe'],
        env: { ...process.env, CDK_DISABLE_CLI_TELEMETRY: 'true', PORT: '0', LOCAL_AWS_PORT: '0' },
      });
      exited = new Promise((resolve) => local!.on('exit', (code) => resolve(code)));
      local.stdout!.on('data', (d: Buffer) => (stdout += d.toString()));
      local.stderr!.on('data', (d: Buffer) => (stdout += d.toString()));
      await Promise.race([
        waitFor('the ready line of local mode', () => /ready in [\d.]+ s/.test(stdout), 240_000, 200),
        exited.then((code) => {
          throw new Error(`event-pipeline local exited with ${code} before ready:\n${stdout}`);
        }),
      ]);
      seconds['event-pipeline local (synth + start)'] = Math.round((Date.now() - started) / 100) / 10;
      env = JSON.parse(readFileSync(path.join(appDir, '.local', 'env.json'), 'utf8')) as LocalEnv;
      sqs = new SQSClient({
        endpoint: env.awsEndpoint,
        region: env.region,
        credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
      });
    });

    afterAll(async () => {
      sqs?.destroy();
      if (!local?.pid || local.exitCode !== null) return;
      process.kill(-local.pid, 'SIGTERM');
      const stopped = await Promise.race([
        exited.then(() => true),
        new Promise<boolean>((r) => setTimeout(() => r(false), 15_000)),
      ]);
      if (!stopped) process.kill(-local.pid, 'SIGKILL');
    });

    it('authenticates callers with IAM by default: an unsigned request is refused 403', async () => {
      // Act
      const unsigned = await fetch(`${env.apiUrl}/v1/messages`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ type: TYPE, payload: { key: 'cat.png' } }),
      });

      // Assess
      expect(env.auth.mode).toBe('iam');
      expect(unsigned.status).toBe(403);
      expect(((await unsigned.json()) as { error: { code: string } }).error.code).toBe(
        'MissingAuthenticationToken',
      );
    });

    it('runs a job of the custom type in its lane, with the environment the app gave the consumer', async () => {
      // Act
      const accepted = await send({ key: 'cat.png' });
      const final = await settled(String(accepted.body.id));

      // Assess
      expect(accepted.status).toBe(202);
      expect(accepted.body).toMatchObject({ lane: LANE });
      expect(final).toMatchObject({ status: 'succeeded', lane: LANE, failure: null });
      const width = /addEnvironment\('THUMBNAIL_WIDTH', '([^']*)'\)/.exec(app.files.get('bin/app.ts')!)?.[1];
      expect(width, 'bin/app.ts gives the lane consumer THUMBNAIL_WIDTH').toBeDefined();
      const logLine = new RegExp(`thumbnail made .*"key":"cat\\.png".*"width":"${width}"`);
      await waitFor("the job's log line", () => logLine.test(stdout), 10_000, 100);
    });

    it("dead-letters a permanent failure in its lane's DLQ, not in the default standard DLQ", async () => {
      // Act
      const accepted = await send({ key: 'cat.jpg' });
      const final = await settled(String(accepted.body.id));

      // Assess
      expect(accepted.status).toBe(202);
      expect(final).toMatchObject({ status: 'failed', lane: LANE, failure: { kind: 'permanent' } });
      const laneDlq = queueUrl('LaneThumbnailsDlq');
      await waitFor(
        'the message in the thumbnails DLQ',
        async () => (await messagesIn(laneDlq)).visible >= 1,
      );
      expect((await messagesIn(laneDlq)).visible).toBe(1);
      expect(await messagesIn(env.queues.StandardDlq.url)).toEqual({ visible: 0, inFlight: 0 });
    });

    it('refuses a payload that breaks the schema at the API', async () => {
      // Act
      const refused = await send({ key: '' });

      // Assess
      expect(refused.status).toBe(400);
      expect(refused.body).toMatchObject({
        error: { code: 'ValidationError', details: [expect.objectContaining({ field: 'payload.key' })] },
      });
    });
  });
});
