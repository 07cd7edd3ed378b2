import {
  CreateQueueCommand,
  GetQueueAttributesCommand,
  ReceiveMessageCommand,
  type Message,
} from '@aws-sdk/client-sqs';
import type { DynamoDBRecord, DynamoDBStreamEvent } from 'aws-lambda';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { startEmulator, type Emulator, type LocalQueue } from '../../local/aws/emulator';
import { TableStream } from '../../local/aws/streams';
import { Journal } from '../../local/control/journal';
import type { FunctionHost, InvokeOutcome } from '../../local/functions/host';
import { createLocalLogger } from '../../local/log';
import type { StreamMappingSpec } from '../../local/template/topology';
import { compileFilterCriteria } from '../../local/triggers/filter-criteria';
import { StreamPoller } from '../../local/triggers/stream-poller';
import { ok, until } from '../helpers/poller';

// The DynamoDB stream event source mapping (local/triggers/stream-poller.ts) over a TableStream,
// with the real emulator (fauxqs) as the OnFailure destination.
const FUNCTION_ARN = 'arn:aws:lambda:us-east-1:000000000000:function:relay';
const STREAM_ARN = 'arn:aws:dynamodb:us-east-1:000000000000:table/status/stream/1970-01-01T00:00:00.000';

const spec = (over: Partial<StreamMappingSpec> = {}): StreamMappingSpec => ({
  logicalId: 'Relay',
  functionId: 'RelayFn',
  tableId: 'StatusTable',
  batchSize: 10,
  maxBatchingWindowSeconds: 0,
  startingPosition: 'TRIM_HORIZON',
  reportBatchItemFailures: true,
  bisectBatchOnFunctionError: false,
  maximumRetryAttempts: -1,
  maximumRecordAgeSeconds: -1,
  enabled: true,
  ...over,
});

const failed = (message = 'boom'): InvokeOutcome => ({
  requestId: 'req-1',
  startedAt: new Date(),
  durationMs: 1,
  ok: false,
  error: { name: 'Error', message },
});

/** A host that records each batch's `pk`s and answers with `respond`. */
function host(batches: string[][], respond: (event: DynamoDBStreamEvent) => InvokeOutcome): FunctionHost {
  return {
    spec: { arn: FUNCTION_ARN },
    invoke: async (event: DynamoDBStreamEvent) => {
      batches.push(event.Records.map((r) => r.dynamodb!.Keys!.pk!.S!));
      return respond(event);
    },
  } as unknown as FunctionHost;
}

function write(stream: TableStream, pk: string, status: string, old?: string) {
  const image = (s: string) => ({ pk: { S: pk }, status: { S: s } });
  return stream.append({
    eventName: old ? 'MODIFY' : 'INSERT',
    dynamodb: {
      ApproximateCreationDateTime: Math.floor(Date.now() / 1000),
      Keys: { pk: { S: pk } },
      NewImage: image(status),
      ...(old ? { OldImage: image(old) } : {}),
      SequenceNumber: String(100000000000000000000n + BigInt(stream.end + 1)),
      SizeBytes: 10,
      StreamViewType: 'NEW_AND_OLD_IMAGES',
    },
  });
}

const seqOf = (event: DynamoDBStreamEvent, pk: string) =>
  event.Records.find((r) => r.dynamodb!.Keys!.pk!.S === pk)!.dynamodb!.SequenceNumber!;

let emulator: Emulator;
let poller: StreamPoller | undefined;
let queueNo = 0;

beforeAll(async () => {
  emulator = await startEmulator({ port: 0, region: 'us-east-1' });
});
afterEach(async () => {
  await poller?.stop(2000);
  poller = undefined;
});
afterAll(async () => {
  await emulator?.stop();
});

async function queue(): Promise<LocalQueue> {
  const name = `outbox-failures-${++queueNo}`;
  const { QueueUrl } = await emulator.sqs.send(new CreateQueueCommand({ QueueName: name }));
  const attrs = await emulator.sqs.send(
    new GetQueueAttributesCommand({ QueueUrl, AttributeNames: ['QueueArn'] }),
  );
  return { logicalId: 'OutboxFailures', name, url: QueueUrl!, arn: attrs.Attributes!.QueueArn!, fifo: false };
}

async function receiveAll(q: LocalQueue, count: number): Promise<Message[]> {
  const out: Message[] = [];
  const end = Date.now() + 10_000;
  while (out.length < count && Date.now() < end) {
    const r = await emulator.sqs.send(
      new ReceiveMessageCommand({ QueueUrl: q.url, MaxNumberOfMessages: 10, WaitTimeSeconds: 1 }),
    );
    out.push(...(r.Messages ?? []));
  }
  return out;
}

function start(mapping: StreamMappingSpec, stream: TableStream, h: FunctionHost, onFailure?: LocalQueue) {
  poller = new StreamPoller({
    mapping,
    stream,
    host: h,
    journal: new Journal(),
    logger: createLocalLogger('silent'),
    pollIntervalMs: 20,
    ...(onFailure ? { onFailure: { queue: onFailure, sqs: emulator.sqs } } : {}),
  });
  poller.start();
  return poller;
}

describe('DynamoDB stream event source mapping', () => {
  it("invokes with Lambda's stream event shape, in order, in batches of BatchSize", async () => {
    const stream = new TableStream({ table: 'status', streamArn: STREAM_ARN, region: 'us-east-1' });
    for (const pk of ['a', 'b', 'c']) write(stream, pk, 'accepted');
    const events: DynamoDBStreamEvent[] = [];
    const batches: string[][] = [];
    start(
      spec({ batchSize: 2 }),
      stream,
      host(batches, (e) => (events.push(e), ok(null))),
    );
    await until(() => batches.flat().length === 3, 5000);

    expect(batches).toEqual([['a', 'b'], ['c']]);
    expect(events[0]!.Records[0]).toEqual({
      eventID: expect.stringMatching(/^[0-9a-f]{32}$/),
      eventName: 'INSERT',
      eventVersion: '1.1',
      eventSource: 'aws:dynamodb',
      awsRegion: 'us-east-1',
      dynamodb: {
        ApproximateCreationDateTime: expect.any(Number),
        Keys: { pk: { S: 'a' } },
        NewImage: { pk: { S: 'a' }, status: { S: 'accepted' } },
        SequenceNumber: '100000000000000000001',
        SizeBytes: 10,
        StreamViewType: 'NEW_AND_OLD_IMAGES',
      },
      eventSourceARN: STREAM_ARN,
    });
  });

  it('passes only the records its filter criteria match (terminal transitions)', async () => {
    const stream = new TableStream({ table: 'status', streamArn: STREAM_ARN, region: 'us-east-1' });
    write(stream, 'a', 'accepted');
    write(stream, 'a', 'succeeded', 'processing');
    write(stream, 'b', 'processing', 'accepted');
    write(stream, 'b', 'failed', 'processing');
    const filter = compileFilterCriteria<DynamoDBRecord>(
      {
        Filters: [
          {
            Pattern: JSON.stringify({
              eventName: ['INSERT', 'MODIFY'],
              dynamodb: { NewImage: { status: { S: ['succeeded', 'failed'] } } },
            }),
          },
        ],
      },
      { dataKey: null },
    );
    const batches: string[][] = [];
    const statuses: string[] = [];
    const p = start(
      spec({ filter }),
      stream,
      host(batches, (e) => {
        statuses.push(...e.Records.map((r) => r.dynamodb!.NewImage!.status!.S!));
        return ok(null);
      }),
    );
    await until(() => statuses.length === 2 && p.filteredRecords === 2, 5000);

    expect(statuses).toEqual(['succeeded', 'failed']);
  });

  it('retries from the first failed record a partial batch response names (records before it are not sent again)', async () => {
    const stream = new TableStream({ table: 'status', streamArn: STREAM_ARN, region: 'us-east-1' });
    for (const pk of ['a', 'b', 'c', 'd']) write(stream, pk, 'succeeded');
    const batches: string[][] = [];
    let calls = 0;
    start(
      spec(),
      stream,
      host(batches, (e) =>
        ++calls === 1
          ? ok({ batchItemFailures: [{ itemIdentifier: seqOf(e, 'd') }, { itemIdentifier: seqOf(e, 'c') }] })
          : ok({ batchItemFailures: [] }),
      ),
    );
    await until(() => batches.length === 2, 5000);

    expect(batches).toEqual([
      ['a', 'b', 'c', 'd'],
      ['c', 'd'],
    ]);
  });

  it('bisects a batch whose invocation fails until the failing record is alone, then gives it up to the OnFailure queue', async () => {
    const stream = new TableStream({ table: 'status', streamArn: STREAM_ARN, region: 'us-east-1' });
    for (const pk of ['a', 'b', 'c', 'd']) write(stream, pk, 'succeeded');
    const onFailure = await queue();
    const batches: string[][] = [];
    const p = start(
      spec({ bisectBatchOnFunctionError: true, maximumRetryAttempts: 1, reportBatchItemFailures: false }),
      stream,
      host(batches, (e) => (e.Records.some((r) => r.dynamodb!.Keys!.pk!.S === 'c') ? failed() : ok(null))),
      onFailure,
    );
    const [message] = await receiveAll(onFailure, 1);
    await until(() => p.discardedRecords === 1 && batches.length === 6, 5000);

    // 4 → [a,b] ok, [c,d] fails → [c] fails, retried once, given up; [d] ok.
    expect(batches).toEqual([['a', 'b', 'c', 'd'], ['a', 'b'], ['c', 'd'], ['c'], ['c'], ['d']]);
    const c = stream.list()[2]!;
    expect(JSON.parse(message!.Body!)).toEqual({
      requestContext: {
        requestId: 'req-1',
        functionArn: FUNCTION_ARN,
        condition: 'RetryAttemptsExhausted',
        approximateInvokeCount: 2,
      },
      responseContext: { statusCode: 200, executedVersion: '$LATEST', functionError: 'Unhandled' },
      version: '1.0',
      timestamp: expect.stringMatching(/^\d{4}-\d\d-\d\dT/),
      DDBStreamBatchInfo: {
        shardId: stream.shardId,
        startSequenceNumber: c.dynamodb.SequenceNumber,
        endSequenceNumber: c.dynamodb.SequenceNumber,
        approximateArrivalOfFirstRecord: expect.stringMatching(/Z$/),
        approximateArrivalOfLastRecord: expect.stringMatching(/Z$/),
        batchSize: 1,
        streamArn: STREAM_ARN,
      },
    });
  });

  it('retries a failing batch MaximumRetryAttempts times without bisecting, then moves on to the next records', async () => {
    const stream = new TableStream({ table: 'status', streamArn: STREAM_ARN, region: 'us-east-1' });
    write(stream, 'a', 'succeeded');
    write(stream, 'b', 'succeeded');
    const onFailure = await queue();
    const batches: string[][] = [];
    start(
      spec({ maximumRetryAttempts: 2, batchSize: 2 }),
      stream,
      host(batches, (e) => (e.Records.some((r) => r.dynamodb!.Keys!.pk!.S === 'a') ? failed() : ok(null))),
      onFailure,
    );
    const [message] = await receiveAll(onFailure, 1);
    write(stream, 'c', 'succeeded');
    await until(() => batches.length === 4, 5000);

    expect(batches).toEqual([['a', 'b'], ['a', 'b'], ['a', 'b'], ['c']]);
    expect(JSON.parse(message!.Body!)).toMatchObject({
      requestContext: { condition: 'RetryAttemptsExhausted', approximateInvokeCount: 3 },
      DDBStreamBatchInfo: { batchSize: 2 },
    });
  });

  it('gives up records older than MaximumRecordAgeInSeconds without invoking (RecordAgeExceeded)', async () => {
    const stream = new TableStream({ table: 'status', streamArn: STREAM_ARN, region: 'us-east-1' });
    const old = write(stream, 'old', 'succeeded');
    // A record captured two minutes ago: over a 60-second maximum age.
    Object.assign(old, { arrivedAt: Date.now() - 120_000 });
    write(stream, 'fresh', 'succeeded');
    const onFailure = await queue();
    const batches: string[][] = [];
    start(
      spec({ maximumRecordAgeSeconds: 60, batchSize: 1 }),
      stream,
      host(batches, () => ok(null)),
      onFailure,
    );
    const [message] = await receiveAll(onFailure, 1);
    await until(() => batches.length === 1, 5000);

    expect(batches).toEqual([['fresh']]);
    expect(JSON.parse(message!.Body!)).toMatchObject({
      requestContext: { condition: 'RecordAgeExceeded', approximateInvokeCount: 0 },
      DDBStreamBatchInfo: { startSequenceNumber: old.dynamodb.SequenceNumber, batchSize: 1 },
    });
  });

  it('starts after the records already in the stream with LATEST', async () => {
    const stream = new TableStream({ table: 'status', streamArn: STREAM_ARN, region: 'us-east-1' });
    write(stream, 'old', 'succeeded');
    const batches: string[][] = [];
    start(
      spec({ startingPosition: 'LATEST' }),
      stream,
      host(batches, () => ok(null)),
    );
    write(stream, 'new', 'succeeded');
    await until(() => batches.length === 1, 5000);

    expect(batches).toEqual([['new']]);
  });
});
