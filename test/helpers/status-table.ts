import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { App, Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { createTable, startDynamo, type DynamoEmulator } from '../../local/aws/dynamodb';
import type { TemplateResource } from '../../local/template/reader';
import { localPseudoParameters, Resolver } from '../../local/template/resolver';
import { StatusTable } from '../../lib/constructs/status-table';

const STACK = 'StatusTableTest';
const REGION = 'us-east-1';

/** The status table on the embedded DynamoDB emulator, and a document client as the functions make it. */
export interface StatusTableOnEmulator {
  readonly dynamo: DynamoEmulator;
  /** The functions' document client (`lambda/shared/consumer-runtime.ts`), pointed at the emulator. */
  readonly db: DynamoDBDocumentClient;
  readonly tableName: string;
  stop(): Promise<void>;
}

/**
 * The `AWS::DynamoDB::Table` the {@link StatusTable} construct synthesizes, as local mode reads it
 * from a template (the stage's own table comes from this construct).
 */
function statusTableResource(): TemplateResource {
  const stack = new Stack(new App(), STACK);
  new StatusTable(stack, 'Status');
  const resources = Template.fromStack(stack).findResources('AWS::DynamoDB::Table');
  const [[logicalId, resource]] = Object.entries(resources) as [
    string,
    { Properties: Record<string, unknown> },
  ][];
  return {
    logicalId: logicalId!,
    type: 'AWS::DynamoDB::Table',
    properties: resource!.Properties,
    metadata: {},
    dependsOn: [],
    stackName: STACK,
  };
}

/**
 * Starts dynalite as local mode does (`local/aws/dynamodb.ts`, its own process, a free port) and
 * creates the status table from the construct's synthesized definition, through the same
 * `createTable` local mode uses. One emulator per test file; {@link StatusTableOnEmulator.stop} ends it.
 */
export async function startStatusTable(): Promise<StatusTableOnEmulator> {
  const table = statusTableResource();
  const resolver = new Resolver({
    pseudo: localPseudoParameters(STACK, REGION),
    resources: new Map([[table.logicalId, table]]),
  });
  const dynamo = await startDynamo({ port: 0, region: REGION });
  try {
    const tableName = await createTable(dynamo, table, resolver);
    const db = DynamoDBDocumentClient.from(dynamo.client, {
      marshallOptions: { removeUndefinedValues: true },
    });
    return { dynamo, db, tableName, stop: () => dynamo.stop() };
  } catch (error) {
    await dynamo.stop();
    throw error;
  }
}
