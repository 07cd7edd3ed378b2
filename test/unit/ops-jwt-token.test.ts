import { CloudFormationClient, DescribeStacksCommand } from '@aws-sdk/client-cloudformation';
import { CloudWatchClient } from '@aws-sdk/client-cloudwatch';
import { S3Client } from '@aws-sdk/client-s3';
import { SQSClient } from '@aws-sdk/client-sqs';
import { mockClient } from 'aws-sdk-client-mock';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { COMMANDS } from '../../ops/commands';
import { runCli, type Io } from '../../ops/lib/cli';
import { authHeaders } from '../../ops/lib/request-auth';
import { secondAwsTenant, type AwsClients } from '../../ops/lib/target';

// On a jwt stage (output AuthMode jwt) the tool sends a bearer token from EVENT_PIPELINE_TOKEN or
// --token-stdin: never from the command line, where `ps` shows it.

const REGION = 'eu-west-1';
const queue = (name: string) => ({
  url: `https://sqs.${REGION}.amazonaws.com/123456789012/${name}`,
  arn: `arn:aws:sqs:${REGION}:123456789012:${name}`,
});
const OUTPUTS: Record<string, string> = {
  ApiUrl: 'https://abc123.execute-api.eu-west-1.amazonaws.com/dev/',
  AuthMode: 'jwt',
  ArchiveBucketName: 'archive',
  StandardQueueUrl: queue('q').url,
  StandardQueueArn: queue('q').arn,
  StandardDlqUrl: queue('q-dlq').url,
  StandardDlqArn: queue('q-dlq').arn,
  FifoQueueUrl: queue('f.fifo').url,
  FifoQueueArn: queue('f.fifo').arn,
  FifoDlqUrl: queue('f-dlq.fifo').url,
  FifoDlqArn: queue('f-dlq.fifo').arn,
  AlarmNamePrefix: 'EventPipeline-dev-',
};

const config = { region: REGION, credentials: { accessKeyId: 'AKIDEXAMPLE', secretAccessKey: 'secret' } };
let clients: AwsClients;
let cfn: ReturnType<typeof mockClient>;
/** The Authorization and x-api-key headers of each request the tool made. */
let sent: { authorization: string | null; apiKey: string | null }[];
beforeEach(() => {
  clients = {
    cloudFormation: new CloudFormationClient(config),
    cloudWatch: new CloudWatchClient(config),
    sqs: new SQSClient(config),
    s3: new S3Client(config),
  };
  cfn = mockClient(clients.cloudFormation);
  cfn.on(DescribeStacksCommand).resolves({
    Stacks: [
      {
        StackName: 'EventPipeline-dev',
        StackStatus: 'UPDATE_COMPLETE',
        CreationTime: new Date(),
        Outputs: Object.entries(OUTPUTS).map(([OutputKey, OutputValue]) => ({ OutputKey, OutputValue })),
      },
    ],
  });
  sent = [];
  vi.stubGlobal('fetch', async (_url: string, init: RequestInit) => {
    const h = new Headers(init.headers);
    sent.push({ authorization: h.get('authorization'), apiKey: h.get('x-api-key') });
    return new Response(
      JSON.stringify({ id: 'e-1', messageId: 'm-1', queue: 'standard', lane: 'standard' }),
      {
        status: 202,
      },
    );
  });
});
afterEach(() => {
  cfn.restore();
  vi.unstubAllGlobals();
});

async function send(extra: string[], io: Partial<Io> = {}) {
  const out = { stdout: '', stderr: '' };
  const code = await runCli(
    ['send', 'probe', '{"mode":"succeed"}', '--stage', 'dev', ...extra],
    {
      stdout: (t) => (out.stdout += t),
      stderr: (t) => (out.stderr += t),
      isTTY: false,
      cwd: '/nowhere',
      ...io,
    },
    COMMANDS,
    { awsClients: clients },
  );
  return { code, ...out };
}

describe("a jwt stage's bearer token", () => {
  it('comes from EVENT_PIPELINE_TOKEN', async () => {
    const out = await send([], { env: { EVENT_PIPELINE_TOKEN: 'h.p.s' } });

    expect(out.stderr).toBe('');
    expect(out.code).toBe(0);
    expect(sent).toEqual([{ authorization: 'Bearer h.p.s', apiKey: null }]);
  });

  it('comes from stdin with --token-stdin (its first line, a "Bearer " prefix dropped), before the environment', async () => {
    const out = await send(['--token-stdin'], {
      env: { EVENT_PIPELINE_TOKEN: 'from.env.x' },
      readStdin: async () => 'Bearer from.stdin.y\n',
    });

    expect(out.code).toBe(0);
    expect(sent).toEqual([{ authorization: 'Bearer from.stdin.y', apiKey: null }]);
  });

  it.each([
    [['--token-stdin'], 'error: --token-stdin: stdin holds no token\n', 2],
    [
      ['--token-stdin', '--api-key-stdin'],
      'error: give either an API key or a bearer token (--token-stdin)\n',
      2,
    ],
    [
      [],
      'error: no bearer token for dev (auth jwt): set EVENT_PIPELINE_TOKEN or pipe it to --token-stdin\n',
      1,
    ],
  ])('refuses %j in one line', async (extra, line, code) => {
    const out = await send(extra, { env: {}, readStdin: async () => '  \n' });

    expect(out.stderr).toBe(line);
    expect(out.code).toBe(code);
    expect(sent).toEqual([]);
  });

  it('has no command-line option', async () => {
    const out = await send(['--token', 'h.p.s']);

    expect(out.code).toBe(2);
    expect(sent).toEqual([]);
  });
});

describe('authHeaders on a jwt target', () => {
  it('adds Authorization: Bearer to the request headers', async () => {
    const target = { name: 'local', region: REGION, auth: { mode: 'jwt' as const, token: 'a.b.c' } };

    expect(
      await authHeaders(
        target,
        { method: 'GET', url: 'http://127.0.0.1/v1/messages/1', headers: { x: '1' } },
        () => {
          throw new Error('not asked');
        },
      ),
    ).toEqual({ x: '1', authorization: 'Bearer a.b.c' });
  });

  it("takes the isolation check's second tenant from EVENT_PIPELINE_SECOND_TOKEN only", () => {
    expect(secondAwsTenant('jwt', { EVENT_PIPELINE_SECOND_TOKEN: 't.u.v' })).toEqual({
      secondTenant: { name: 'EVENT_PIPELINE_SECOND_TOKEN', auth: { mode: 'jwt', token: 't.u.v' } },
    });
    expect(secondAwsTenant('jwt', { EVENT_PIPELINE_SECOND_API_KEY: 'k' })).toEqual({});
  });
});
