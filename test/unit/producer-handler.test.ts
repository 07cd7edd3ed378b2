import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { SendMessageCommand, SQSClient } from '@aws-sdk/client-sqs';
import type { APIGatewayProxyEvent, APIGatewayProxyResult, Context } from 'aws-lambda';
import { mockClient } from 'aws-sdk-client-mock';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { postMessage } from '../helpers/api-events';
import { producerEntry } from '../helpers/lane-entries';
import { PRODUCER_ENV } from '../helpers/producer';
import { fakeContext, STANDARD_QUEUE } from '../helpers/sqs-events';

describe('producer Lambda entry point', () => {
  const sqsMock = mockClient(SQSClient);
  // The status table accepts every write.
  const dynamoMock = mockClient(DynamoDBClient);
  const docMock = mockClient(DynamoDBDocumentClient);
  type Handler = (event: APIGatewayProxyEvent, context: Context) => Promise<APIGatewayProxyResult>;
  const entry = producerEntry();

  async function load(overrides: Record<string, string> = {}): Promise<Handler> {
    const env = {
      ...PRODUCER_ENV,
      AWS_REGION: 'eu-west-1',
      POWERTOOLS_LOG_LEVEL: 'SILENT',
      POWERTOOLS_METRICS_DISABLED: 'true',
      ...overrides,
    };
    for (const [k, v] of Object.entries(env)) vi.stubEnv(k, v);
    vi.resetModules();
    return ((await import(entry)) as { handler: Handler }).handler;
  }

  beforeEach(() => {
    dynamoMock.reset();
    dynamoMock.resolves({});
    docMock.reset();
    docMock.resolves({});
    sqsMock.reset();
    sqsMock.on(SendMessageCommand).resolves({ MessageId: 'm-1' });
  });
  afterEach(() => {
    vi.unstubAllEnvs();
  });

  it('enqueues on the configured queue with the request id as correlation id', async () => {
    const handler = await load();

    const res = await handler(
      postMessage({ type: 'probe', payload: { mode: 'sleep' } }, { requestId: 'req-42' }),
      fakeContext({ functionName: 'producer' }),
    );

    expect(res.statusCode).toBe(202);
    const sent = sqsMock.commandCalls(SendMessageCommand)[0]!.args[0].input;
    expect(sent.QueueUrl).toBe(STANDARD_QUEUE.url);
    expect(JSON.parse(sent.MessageBody!).correlationId).toBe('req-42');
  });

  it('accepts only the probe modes listed in ALLOWED_PROBE_MODES', async () => {
    const handler = await load();

    const refused = await handler(
      postMessage({ type: 'probe', payload: { mode: 'fail-always' } }),
      fakeContext(),
    );

    expect(refused.statusCode).toBe(400);
    expect(JSON.parse(refused.body).error.message).toContain('allowed: succeed, sleep)');
  });

  it('enforces MAX_BODY_BYTES', async () => {
    const handler = await load();

    const res = await handler(
      postMessage({ type: 'email.send', payload: { to: 'a@b.co', subject: 's', body: 'x'.repeat(1100) } }),
      fakeContext(),
    );

    expect(res.statusCode).toBe(413);
  });

  it('fails its cold start when MAX_BODY_BYTES is not an integer', async () => {
    await expect(load({ MAX_BODY_BYTES: '256k' })).rejects.toThrow('MAX_BODY_BYTES must be an integer');
  });

  it('fails its cold start when ALLOWED_PROBE_MODES names an unknown mode', async () => {
    await expect(load({ ALLOWED_PROBE_MODES: 'succeed,bogus' })).rejects.toThrow(
      'Environment variable ALLOWED_PROBE_MODES must list only',
    );
  });
});
