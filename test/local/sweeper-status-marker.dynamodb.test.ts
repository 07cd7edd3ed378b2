import { S3Client } from '@aws-sdk/client-s3';
import { SQSClient } from '@aws-sdk/client-sqs';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { S3ArchiveWriter } from '../../lambda/shared/archive';
import { DynamoStatusStore } from '../../lambda/shared/status/dynamodb-store';
import { sweep, type SweptQueue } from '../../lambda/shared/sweeper';
import { FakeAws, silentLogger } from '../helpers/aws-fakes';
import { ARCHIVE_BUCKET } from '../helpers/consumer';
import { dlqMessage, envelopeBody, STANDARD_DLQ, STANDARD_QUEUE } from '../helpers/sqs-events';
import { startStatusTable, type StatusTableOnEmulator } from '../helpers/status-table';

// The sweeper's marker of a record it confirmed, through the real DynamoStatusStore and AWS SDK on
// the embedded DynamoDB emulator (dynalite), on the table the StatusTable construct synthesizes:
// the status row it writes once the record exists is what later runs read instead of asking S3.
// SQS and S3 are aws-sdk-client-mock fakes (an in-memory bucket with conditional puts).

let table: StatusTableOnEmulator;
beforeAll(async () => {
  table = await startStatusTable();
});
afterAll(async () => {
  await table?.stop();
});
const aws = new FakeAws();
beforeEach(() => aws.reset());

const standard: SweptQueue = {
  dlqUrl: STANDARD_DLQ.url,
  sourceQueueName: STANDARD_QUEUE.name,
  sourceQueueArn: STANDARD_QUEUE.arn,
};

function deps(store: DynamoStatusStore) {
  return {
    sqs: new SQSClient({ region: 'eu-west-1' }),
    archive: new S3ArchiveWriter(new S3Client({ region: 'eu-west-1' }), ARCHIVE_BUCKET, { checkFirst: true }),
    logger: silentLogger(),
    deadline: () => 60_000,
    status: store,
  };
}

describe('DLQ sweeper and the status table on the emulator', () => {
  it('asks S3 about a redrive-moved message on its first run only: later runs read the row it marked', async () => {
    // Prepare: a message the redrive policy moved (no annotations); its row says `processing`.
    const store = new DynamoStatusStore(table.db, { tableName: table.tableName, retentionDays: 7 });
    const body = envelopeBody({ type: 'probe', payload: { mode: 'crash' } });
    const message = dlqMessage({ body });
    const { id, createdAt } = JSON.parse(body) as { id: string; createdAt: string };
    await store.processing({
      id,
      type: 'probe',
      queue: 'standard',
      messageId: message.MessageId!,
      acceptedAt: createdAt,
    });

    // Act: three runs
    const results = [];
    const s3Calls = [];
    for (let run = 0; run < 3; run++) {
      aws.receivePages = [[message]];
      results.push(await sweep([standard], deps(store)));
      s3Calls.push(aws.log.map((c) => c.op));
      aws.log.length = 0;
    }

    // Assess
    expect(results).toEqual([
      { seen: 1, archived: 1, alreadyArchived: 0, confirmed: 0, failed: 0 },
      { seen: 1, archived: 0, alreadyArchived: 0, confirmed: 1, failed: 0 },
      { seen: 1, archived: 0, alreadyArchived: 0, confirmed: 1, failed: 0 },
    ]);
    expect(s3Calls).toEqual([['HeadObject', 'PutObject'], [], []]);
    const [key] = [...aws.objects.keys()];
    expect(await store.get(id)).toMatchObject({
      status: 'failed',
      failure: { kind: 'unknown', archiveKey: key },
    });
  });

  it('keeps asking S3 while the row is final without naming the record (succeeded before)', async () => {
    // Prepare: the row says succeeded (the sweeper's failed write leaves a final row alone).
    const store = new DynamoStatusStore(table.db, { tableName: table.tableName, retentionDays: 7 });
    const body = envelopeBody({ type: 'probe', payload: { mode: 'crash' } });
    const message = dlqMessage({ body });
    const { id, createdAt } = JSON.parse(body) as { id: string; createdAt: string };
    await store.succeeded({
      id,
      type: 'probe',
      queue: 'standard',
      messageId: message.MessageId!,
      acceptedAt: createdAt,
    });

    // Act
    const results = [];
    for (let run = 0; run < 2; run++) {
      aws.receivePages = [[message]];
      results.push(await sweep([standard], deps(store)));
    }

    // Assess
    expect(results).toEqual([
      { seen: 1, archived: 1, alreadyArchived: 0, confirmed: 0, failed: 0 },
      { seen: 1, archived: 0, alreadyArchived: 1, confirmed: 0, failed: 0 },
    ]);
    expect(aws.log.map((c) => c.op)).toEqual(['HeadObject', 'PutObject', 'HeadObject']);
    expect((await store.get(id))?.status).toBe('succeeded');
  });
});
