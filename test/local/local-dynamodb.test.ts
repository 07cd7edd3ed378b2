import { DescribeTableCommand, PutItemCommand } from '@aws-sdk/client-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  createTable,
  startDynamo,
  tableInput,
  tableNotReproduced,
  type DynamoEmulator,
} from '../../local/aws/dynamodb';
import { readStageTemplate } from '../../local/template/reader';
import { localPseudoParameters, Resolver } from '../../local/template/resolver';
import { TEST_CDK_OUT } from '../../tools/assembly';

// The embedded DynamoDB emulator against the synthesized stage's own table.
const template = readStageTemplate(TEST_CDK_OUT, 'EventPipeline-local');
const resolver = new Resolver({
  pseudo: localPseudoParameters('EventPipeline-local', 'us-east-1'),
  resources: template.resources,
  parameters: template.parameters,
});
const table = template.resources.get('StatusTable')!;

let dynamo: DynamoEmulator;
beforeAll(async () => {
  dynamo = await startDynamo({ port: 0, region: 'us-east-1' });
});
afterAll(async () => {
  await dynamo?.stop();
});

describe('local DynamoDB', () => {
  it("creates the template's table with its key schema and billing mode, and counts requests", async () => {
    const name = await createTable(dynamo, table, resolver);
    const described = await dynamo.client.send(new DescribeTableCommand({ TableName: name }));
    await dynamo.client.send(new PutItemCommand({ TableName: name, Item: { pk: { S: 'msg#1' } } }));

    expect(described.Table).toMatchObject({
      TableStatus: 'ACTIVE',
      KeySchema: [{ AttributeName: 'pk', KeyType: 'HASH' }],
      BillingModeSummary: { BillingMode: 'PAY_PER_REQUEST' },
    });
    expect(await dynamo.requests()).toMatchObject({ CreateTable: 1, DescribeTable: 1, PutItem: 1 });
  });

  it('passes global secondary indexes and provisioned throughput on', () => {
    const input = tableInput(
      {
        ...table,
        properties: {
          KeySchema: [{ AttributeName: 'pk', KeyType: 'HASH' }],
          AttributeDefinitions: [
            { AttributeName: 'pk', AttributeType: 'S' },
            { AttributeName: 'g', AttributeType: 'S' },
          ],
          ProvisionedThroughput: { ReadCapacityUnits: 1, WriteCapacityUnits: 1 },
          GlobalSecondaryIndexes: [
            {
              IndexName: 'byG',
              KeySchema: [{ AttributeName: 'g', KeyType: 'HASH' }],
              Projection: { ProjectionType: 'ALL' },
              ProvisionedThroughput: { ReadCapacityUnits: 1, WriteCapacityUnits: 1 },
            },
          ],
        },
      },
      resolver,
      'x-table',
    );

    expect(input).toMatchObject({
      BillingMode: 'PROVISIONED',
      ProvisionedThroughput: { ReadCapacityUnits: 1, WriteCapacityUnits: 1 },
      GlobalSecondaryIndexes: [{ IndexName: 'byG', Projection: { ProjectionType: 'ALL' } }],
    });
  });

  it('lists what it does not reproduce: TTL expiry and encryption of the status table', () => {
    expect(tableNotReproduced(table)).toEqual(['TTL expiry (rows never expire)', 'encryption at rest']);
  });
});
