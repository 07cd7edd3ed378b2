import { CloudFormationClient, DescribeStacksCommand } from '@aws-sdk/client-cloudformation';
import { CloudWatchClient } from '@aws-sdk/client-cloudwatch';
import { S3Client } from '@aws-sdk/client-s3';
import { SQSClient } from '@aws-sdk/client-sqs';
import { mockClient } from 'aws-sdk-client-mock';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { COMMANDS } from '../../ops/commands';
import { runCli, type Io } from '../../ops/lib/cli';
import type { AwsClients } from '../../ops/lib/target';

// The stage's API key (send, smoke on AWS) need not be on the command line, where `ps` shows it:
// the tool takes it from EVENT_PIPELINE_API_KEY or, with --api-key-stdin, from stdin.

const REGION = 'eu-west-1';
const queue = (name: string) => ({
  url: `https://sqs.${REGION}.amazonaws.com/123456789012/${name}`,
  arn: `arn:aws:sqs:${REGION}:123456789012:${name}`,
});
const OUTPUTS: Record<string, string> = {
  ApiUrl: 'https://abc123.execute-api.eu-west-1.amazonaws.com/dev/',
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
/** The x-api-key of each request the tool made. */
let keys: (string | null)[];
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
  keys = [];
  vi.stubGlobal('fetch', async (_url: string, init: RequestInit) => {
    keys.push(new Headers(init.headers).get('x-api-key'));
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

describe("the stage's API key", () => {
  it('comes from EVENT_PIPELINE_API_KEY', async () => {
    const out = await send([], { env: { EVENT_PIPELINE_API_KEY: 'from-env' } });

    expect(out.stderr).toBe('');
    expect(out.code).toBe(0);
    expect(keys).toEqual(['from-env']);
  });

  it('comes from stdin with --api-key-stdin (its first line, trimmed), before the environment', async () => {
    const out = await send(['--api-key-stdin'], {
      env: { EVENT_PIPELINE_API_KEY: 'from-env' },
      readStdin: async () => 'from-stdin\n',
    });

    expect(out.stderr).toBe('');
    expect(out.code).toBe(0);
    expect(keys).toEqual(['from-stdin']);
  });

  it('comes from --api-key before the environment', async () => {
    const out = await send(['--api-key', 'from-argv'], { env: { EVENT_PIPELINE_API_KEY: 'from-env' } });

    expect(out.code).toBe(0);
    expect(keys).toEqual(['from-argv']);
  });

  it.each([
    [['--api-key', 'k', '--api-key-stdin'], 'error: give the API key once: --api-key or --api-key-stdin\n'],
    [['--api-key-stdin'], 'error: --api-key-stdin: stdin holds no key\n'],
  ])('refuses %j (exit 2, one line)', async (extra, line) => {
    const out = await send(extra, { readStdin: async () => '  \n' });

    expect(out.stderr).toBe(line);
    expect(out.code).toBe(2);
    expect(keys).toEqual([]);
  });

  it('names every way to give it when there is none (exit 1)', async () => {
    const out = await send([], { env: {} });

    expect(out.code).toBe(1);
    expect(out.stderr).toBe(
      'error: no API key for dev: pass --api-key-stdin or set EVENT_PIPELINE_API_KEY (--api-key works too, but ps shows it); its value: aws apigateway get-api-key --include-value --api-key <ApiKeyId output> --query value --output text\n',
    );
  });
});
