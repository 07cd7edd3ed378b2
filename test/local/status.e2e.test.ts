import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { HeadObjectCommand } from '@aws-sdk/client-s3';
import { DynamoDBDocumentClient, GetCommand } from '@aws-sdk/lib-dynamodb';
import { SendMessageCommand } from '@aws-sdk/client-sqs';
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { STATUS_TABLE_KEYS, statusKey } from '../../lambda/shared/status/keys';
import { consumerInvocations, probe, waitForIdle } from '../helpers/local';
import {
  attemptsOf,
  depth,
  startStage,
  waitFor,
  type ApiAnswer,
  type LocalStage,
} from '../../tools/local-stage';

// Message status and idempotency end to end: real bundles, fauxqs (SQS + S3), dynalite (DynamoDB).
let stage: LocalStage;
let db: DynamoDBDocumentClient;
beforeAll(async () => {
  stage = await startStage();
  db = DynamoDBDocumentClient.from(
    new DynamoDBClient({
      endpoint: stage.local.env.dynamodbEndpoint,
      region: stage.local.region,
      credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
    }),
  );
});
afterAll(async () => {
  db?.destroy();
  await stage?.stop();
});

type Status = {
  id: string;
  type: string;
  queue: string;
  status: string;
  attempts: number;
  acceptedAt: string;
  updatedAt: string;
  lastError: { name: string; message: string } | null;
  failure: { kind: string; archiveKey: string } | null;
  messageIds: string[];
};

const get = (url: string): Promise<ApiAnswer> =>
  stage.request(url, { headers: { 'x-api-key': stage.local.apiKey } });
const statusOf = async (id: string): Promise<Status | undefined> => {
  const res = await get(`/v1/messages/${id}`);
  return res.status === 200 ? (res.body as Status) : undefined;
};
/** The status row of `id` read straight from the table (consistently), without the API. */
const statusRow = async (id: string): Promise<Record<string, unknown> | undefined> => {
  const { env } = stage.local;
  const out = await db.send(
    new GetCommand({
      TableName: Object.values(env.tables)[0],
      Key: { [STATUS_TABLE_KEYS.partitionKey]: statusKey(id) },
      ConsistentRead: true,
    }),
  );
  return out.Item;
};
const until = (id: string, state: string, timeoutMs = 30_000) =>
  waitFor(
    `${id} ${state}`,
    async () => {
      const s = await statusOf(id);
      return s?.status === state ? s : undefined;
    },
    timeoutMs,
  );

describe('message status', () => {
  it("leads a POST's Location to a status that reaches succeeded", async () => {
    // Act
    const res = await stage.post('/v1/messages', probe({ mode: 'succeed', tag: 'status-ok' }));

    // Assess
    expect(res.status, res.text).toBe(202);
    const { id, messageId } = res.body as { id: string; messageId: string };
    const location = res.headers.get('location')!;
    expect(location).toBe(`${stage.local.apiUrl}/v1/messages/${id}`);
    const status = await waitFor('succeeded via Location', async () => {
      const r = await fetch(location, { headers: { 'x-api-key': stage.local.apiKey } });
      const body = (await r.json()) as Status;
      return body.status === 'succeeded' ? body : undefined;
    });
    expect(status).toMatchObject({
      id,
      type: 'probe',
      queue: 'standard',
      attempts: 1,
      lastError: null,
      failure: null,
      messageIds: [messageId],
    });
    expect(Date.parse(status.updatedAt)).toBeGreaterThanOrEqual(Date.parse(status.acceptedAt));
  });

  it('ends a fail-permanent message failed with the archive key of a record that exists', async () => {
    const res = await stage.post('/v1/messages', probe({ mode: 'fail-permanent', tag: 'status-perm' }));
    expect(res.status, res.text).toBe(202);

    const status = await until(res.body.id as string, 'failed');

    expect(status.failure?.kind).toBe('permanent');
    expect(status.lastError).toEqual({
      name: 'ProbePermanentError',
      message: 'probe asked to fail permanently',
    });
    const head = await stage.s3.send(
      new HeadObjectCommand({ Bucket: stage.bucket(), Key: status.failure!.archiveKey }),
    );
    expect(head.ContentLength).toBeGreaterThan(0);
  });

  it('passes a message that fails twice through retrying to succeeded with attempts 3', async () => {
    const res = await stage.post(
      '/v1/messages',
      probe({ mode: 'succeed', failTimes: 2, tag: 'status-retry' }),
    );
    expect(res.status, res.text).toBe(202);
    const { id, messageId } = res.body as { id: string; messageId: string };

    // Act: the row as it is right after each failed run. The run wrote `retrying` before it
    // returned, and the backoff keeps the message out of sight for at least a second (stage local:
    // base 1 s), so the row is read before the next run can start.
    const afterFailedRun = async (n: number) => {
      await waitFor(`failed run ${n}`, () => attemptsOf(stage.local, messageId).failed === n, 30_000, 5);
      return statusRow(id);
    };
    const first = await afterFailedRun(1);
    const second = await afterFailedRun(2);
    const done = await until(id, 'succeeded');

    // Assess
    const transient = (n: number) => ({
      name: 'ProbeTransientError',
      message: `probe failing attempt ${n} of 2`,
    });
    expect(first).toMatchObject({ status: 'retrying', attempts: 1, lastError: transient(1) });
    expect(second).toMatchObject({ status: 'retrying', attempts: 2, lastError: transient(2) });
    // lastError is the error of the last failed run (README, "Message status"), kept on success.
    expect(done).toMatchObject({
      status: 'succeeded',
      attempts: 3,
      lastError: transient(2),
      messageIds: [messageId],
    });
  });

  it('answers 404 for an unknown id and 400 naming the field for an id that is not a UUID', async () => {
    const unknown = await get(`/v1/messages/${randomUUID()}`);
    const bad = await get('/v1/messages/not-a-uuid');

    expect(unknown.status).toBe(404);
    expect(unknown.body.error).toMatchObject({ code: 'NotFound', requestId: expect.any(String) });
    expect(bad.status).toBe(400);
    expect(bad.body.error).toMatchObject({ code: 'ValidationError', details: [{ field: 'id' }] });
  });
});

describe('idempotent consumers', () => {
  it('runs the handler once for the same envelope sent twice straight to the standard queue', async () => {
    // Prepare: an envelope written by "another producer", without the API.
    const id = randomUUID();
    const body = JSON.stringify({
      v: 1,
      id,
      type: 'probe',
      payload: { mode: 'succeed', tag: 'dup-direct' },
      createdAt: new Date().toISOString(),
      correlationId: 'external-producer',
    });
    const url = stage.queue('StandardQueue').url;

    // The row has no owner (no API request accepted it), so the API answers it as unknown: the
    // outcome is read from the table.
    const rowWhen = (check: (row: Record<string, unknown>) => boolean) =>
      waitFor(`${id} row`, async () => {
        const row = await statusRow(id);
        return row && check(row) ? row : undefined;
      });

    // Act
    const first = await stage.sqs.send(new SendMessageCommand({ QueueUrl: url, MessageBody: body }));
    await rowWhen((row) => row.status === 'succeeded');
    const second = await stage.sqs.send(new SendMessageCommand({ QueueUrl: url, MessageBody: body }));
    await waitFor('the duplicate delivered', () => attemptsOf(stage.local, second.MessageId!).succeeded > 0);

    // Assess
    const row = await rowWhen((r) => (r.messageIds as string[]).length === 2);
    expect(row).toMatchObject({ status: 'succeeded', attempts: 1, queue: 'standard', type: 'probe' });
    expect(row.messageIds).toEqual([first.MessageId, second.MessageId]);
    expect(row.owner).toBeUndefined();
    expect((await get(`/v1/messages/${id}`)).status).toBe(404);
  });
});

describe('Idempotency-Key', () => {
  it('answers a repeat on the standard queue with the first body and enqueues nothing', async () => {
    const key = `key-${randomUUID()}`;
    const body = probe({ mode: 'sleep', sleepMs: 1, tag: 'idem' });
    const first = await stage.post('/v1/messages', body, { 'idempotency-key': key });
    expect(first.status, first.text).toBe(202);
    await until(first.body.id as string, 'succeeded');
    // `succeeded` is written inside the run; the mapping deletes the message after it returns.
    await waitForIdle(stage);
    const before = await depth(stage.sqs, stage.queue('StandardQueue').url);
    const invocations = consumerInvocations(stage.local, 'consumer').length;

    const repeat = await stage.post('/v1/messages', body, { 'idempotency-key': key });

    expect(repeat.status).toBe(202);
    expect(repeat.body).toEqual(first.body);
    expect(repeat.headers.get('location')).toBe(first.headers.get('location'));
    expect(await depth(stage.sqs, stage.queue('StandardQueue').url)).toBe(before);
    // Had the repeat enqueued a message, the pipeline would not be idle before it ran.
    await waitForIdle(stage);
    expect(consumerInvocations(stage.local, 'consumer').length).toBe(invocations);
  });

  it('refuses the same key with a different body with 422 IdempotencyKeyReused', async () => {
    const key = `key-${randomUUID()}`;
    const first = await stage.post('/v1/messages', probe({ mode: 'succeed', tag: 'a' }), {
      'idempotency-key': key,
    });
    expect(first.status, first.text).toBe(202);

    const other = await stage.post('/v1/messages', probe({ mode: 'succeed', tag: 'b' }), {
      'idempotency-key': key,
    });

    expect(other.status).toBe(422);
    expect(other.body.error).toMatchObject({ code: 'IdempotencyKeyReused', requestId: expect.any(String) });
  });

  it('refuses an Idempotency-Key header on the batch endpoint with 400 naming it', async () => {
    const res = await stage.post(
      '/v1/messages/batch',
      { messages: [probe({ mode: 'succeed' })] },
      { 'idempotency-key': 'whole-batch' },
    );

    expect(res.status).toBe(400);
    expect(res.body.error.details).toEqual([expect.objectContaining({ field: 'Idempotency-Key' })]);
  });
});
