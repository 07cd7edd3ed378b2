import {
  BatchWriteItemCommand,
  CreateTableCommand,
  DeleteItemCommand,
  PutItemCommand,
  UpdateItemCommand,
} from '@aws-sdk/client-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startDynamo, type DynamoEmulator } from '../../local/aws/dynamodb';
import type { TableStream } from '../../local/aws/streams';
import { until } from '../helpers/poller';

// Stream capture on the real embedded dynalite process (local/aws/dynalite-streams.mjs).
let dynamo: DynamoEmulator;
let tableNo = 0;

beforeAll(async () => {
  dynamo = await startDynamo({ port: 0, region: 'us-east-1' });
});
afterAll(async () => {
  await dynamo?.stop();
});

async function table(viewType: string | undefined): Promise<{ name: string; stream?: TableStream }> {
  const name = `table-${++tableNo}`;
  await dynamo.client.send(
    new CreateTableCommand({
      TableName: name,
      KeySchema: [{ AttributeName: 'pk', KeyType: 'HASH' }],
      AttributeDefinitions: [{ AttributeName: 'pk', AttributeType: 'S' }],
      BillingMode: 'PAY_PER_REQUEST',
    }),
  );
  if (!viewType) return { name };
  const stream = await dynamo.enableStream(name, {
    viewType,
    keys: ['pk'],
    streamArn: `arn:aws:dynamodb:us-east-1:000000000000:table/${name}/stream/1970-01-01T00:00:00.000`,
  });
  return { name, stream };
}

const put = (TableName: string, Item: Record<string, { S: string }>, ConditionExpression?: string) =>
  dynamo.client.send(new PutItemCommand({ TableName, Item, ConditionExpression }));

describe('local DynamoDB streams', () => {
  it('records insert, modify and remove with exact images, in write order, with increasing sequence numbers', async () => {
    const { name, stream } = await table('NEW_AND_OLD_IMAGES');
    await put(name, { pk: { S: 'a' }, status: { S: 'accepted' } });
    await dynamo.client.send(
      new UpdateItemCommand({
        TableName: name,
        Key: { pk: { S: 'a' } },
        UpdateExpression: 'SET #s = :s',
        ExpressionAttributeNames: { '#s': 'status' },
        ExpressionAttributeValues: { ':s': { S: 'succeeded' } },
      }),
    );
    await dynamo.client.send(new DeleteItemCommand({ TableName: name, Key: { pk: { S: 'a' } } }));
    await until(() => stream!.end === 3, 5000);

    const records = stream!.list();
    expect(
      records.map((r) => [r.eventName, r.dynamodb.Keys, r.dynamodb.OldImage, r.dynamodb.NewImage]),
    ).toEqual([
      ['INSERT', { pk: { S: 'a' } }, undefined, { pk: { S: 'a' }, status: { S: 'accepted' } }],
      [
        'MODIFY',
        { pk: { S: 'a' } },
        { pk: { S: 'a' }, status: { S: 'accepted' } },
        { pk: { S: 'a' }, status: { S: 'succeeded' } },
      ],
      ['REMOVE', { pk: { S: 'a' } }, { pk: { S: 'a' }, status: { S: 'succeeded' } }, undefined],
    ]);
    const seqs = records.map((r) => BigInt(r.dynamodb.SequenceNumber));
    expect(seqs[0]! < seqs[1]! && seqs[1]! < seqs[2]!).toBe(true);
    expect(records[0]).toMatchObject({
      eventSource: 'aws:dynamodb',
      eventVersion: '1.1',
      awsRegion: 'us-east-1',
      eventSourceARN: stream!.streamArn,
      dynamodb: { StreamViewType: 'NEW_AND_OLD_IMAGES' },
    });
    expect(records[0]!.eventID).toMatch(/^[0-9a-f]{32}$/);
    expect(records[0]!.dynamodb.SizeBytes).toBeGreaterThan(0);
    expect(Math.abs(records[0]!.dynamodb.ApproximateCreationDateTime - Date.now() / 1000)).toBeLessThan(60);
  });

  it('records nothing for a write whose condition fails, an unchanged put or a delete of a missing item', async () => {
    const { name, stream } = await table('NEW_AND_OLD_IMAGES');
    await put(name, { pk: { S: 'a' }, v: { S: '1' } });
    await expect(put(name, { pk: { S: 'a' }, v: { S: '2' } }, 'attribute_not_exists(pk)')).rejects.toThrow(
      /conditional request failed/,
    );
    await put(name, { pk: { S: 'a' }, v: { S: '1' } });
    await dynamo.client.send(new DeleteItemCommand({ TableName: name, Key: { pk: { S: 'missing' } } }));
    await put(name, { pk: { S: 'b' }, v: { S: 'last' } });
    await until(() => stream!.end === 2, 5000);

    expect(stream!.list().map((r) => [r.eventName, r.dynamodb.Keys])).toEqual([
      ['INSERT', { pk: { S: 'a' } }],
      ['INSERT', { pk: { S: 'b' } }],
    ]);
  });

  it('records each item of a batch write and keeps only the keys for KEYS_ONLY', async () => {
    const { name, stream } = await table('KEYS_ONLY');
    await dynamo.client.send(
      new BatchWriteItemCommand({
        RequestItems: {
          [name]: [
            { PutRequest: { Item: { pk: { S: 'x' }, v: { S: '1' } } } },
            { PutRequest: { Item: { pk: { S: 'y' }, v: { S: '2' } } } },
          ],
        },
      }),
    );
    await until(() => stream!.end === 2, 5000);

    expect(
      stream!
        .list()
        .map((r) => r.dynamodb.Keys?.pk?.S)
        .sort(),
    ).toEqual(['x', 'y']);
    expect(
      stream!.list().every((r) => r.dynamodb.NewImage === undefined && r.dynamodb.OldImage === undefined),
    ).toBe(true);
  });

  it('records nothing for a table without a stream', async () => {
    const plain = await table(undefined);
    const { name, stream } = await table('NEW_IMAGE');
    await put(plain.name, { pk: { S: 'p' } });
    await put(name, { pk: { S: 'q' } });
    await until(() => stream!.end === 1, 5000);

    expect(dynamo.stream(plain.name)).toBeUndefined();
    expect(stream!.list().map((r) => [r.dynamodb.Keys?.pk?.S, r.dynamodb.NewImage])).toEqual([
      ['q', { pk: { S: 'q' } }],
    ]);
  });
});
