import {
  CreateTableCommand,
  DynamoDBClient,
  type CreateTableCommandInput,
  type GlobalSecondaryIndex,
  type LocalSecondaryIndex,
} from '@aws-sdk/client-dynamodb';
import type dynaliteFactory from 'dynalite';
import type { AddressInfo } from 'node:net';
import { LocalModeError } from '../errors';
import type { TemplateResource } from '../template/reader';
import type { Resolver } from '../template/resolver';
import { LOCAL_CREDENTIALS } from './emulator';

/** The embedded DynamoDB emulator (dynalite, in memory) and a client pointed at it. */
export interface DynamoEmulator {
  readonly port: number;
  /** `http://127.0.0.1:<port>`: the DynamoDB endpoint (`AWS_ENDPOINT_URL_DYNAMODB`). */
  readonly endpoint: string;
  readonly client: DynamoDBClient;
  /** Counts of the requests it answered, by operation (`PutItem`, `UpdateItem`, …), for benches. */
  readonly requests: ReadonlyMap<string, number>;
  stop(): Promise<void>;
}

/**
 * Starts dynalite in this process on 127.0.0.1 (`port` 0 picks a free one). Tables become
 * ACTIVE at once. Every request's operation (`X-Amz-Target`) is counted in `requests`.
 */
export async function startDynamo(options: { port: number; region: string }): Promise<DynamoEmulator> {
  const { default: dynalite } = (await import('dynalite')) as unknown as {
    default: typeof dynaliteFactory;
  };
  const server = dynalite({ createTableMs: 0, deleteTableMs: 0, updateTableMs: 0 });
  const requests = new Map<string, number>();
  server.prependListener('request', (req: { headers: Record<string, string | string[] | undefined> }) => {
    const target = String(req.headers['x-amz-target'] ?? '');
    const op = target.slice(target.indexOf('.') + 1) || 'unknown';
    requests.set(op, (requests.get(op) ?? 0) + 1);
  });
  await new Promise<void>((resolve, reject) => {
    const onError = (error: NodeJS.ErrnoException) => {
      server.off('listening', onListening);
      reject(
        error.code === 'EADDRINUSE'
          ? new LocalModeError(`port ${options.port} is in use; set LOCAL_DYNAMODB_PORT=<free port>`, {
              cause: error,
            })
          : error,
      );
    };
    const onListening = () => {
      server.off('error', onError);
      resolve();
    };
    server.once('error', onError);
    server.once('listening', onListening);
    server.listen(options.port, '127.0.0.1');
  });
  const port = (server.address() as AddressInfo).port;
  const endpoint = `http://127.0.0.1:${port}`;
  const client = new DynamoDBClient({ endpoint, region: options.region, credentials: LOCAL_CREDENTIALS });
  return {
    port,
    endpoint,
    client,
    requests,
    async stop() {
      client.destroy();
      server.closeAllConnections?.();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

/** What an `AWS::DynamoDB::Table` asks for that local mode does not reproduce (printed at startup). */
export function tableNotReproduced(table: TemplateResource): string[] {
  const p = table.properties;
  const out: string[] = [];
  if (p.TimeToLiveSpecification) out.push('TTL expiry (rows never expire)');
  if (
    (p.PointInTimeRecoverySpecification as { PointInTimeRecoveryEnabled?: unknown } | undefined)
      ?.PointInTimeRecoveryEnabled
  )
    out.push('point-in-time recovery');
  if (p.SSESpecification) out.push('encryption at rest');
  if (p.StreamSpecification) out.push('streams');
  if (p.ContributorInsightsSpecification) out.push('contributor insights');
  return out;
}

/**
 * The `CreateTable` input of an `AWS::DynamoDB::Table`: key schema, attribute definitions,
 * billing mode (provisioned throughput when given), global and local secondary indexes.
 */
export function tableInput(
  table: TemplateResource,
  resolver: Resolver,
  name: string,
): CreateTableCommandInput {
  const at = (property: string) => ({ resource: table.logicalId, property });
  const r = (property: string) => resolver.resolve(table.properties[property], at(property));
  const billing = (r('BillingMode') as string | undefined) ?? 'PROVISIONED';
  const throughput = r('ProvisionedThroughput') as CreateTableCommandInput['ProvisionedThroughput'];
  const gsis = r('GlobalSecondaryIndexes') as GlobalSecondaryIndex[] | undefined;
  const lsis = r('LocalSecondaryIndexes') as LocalSecondaryIndex[] | undefined;
  return {
    TableName: name,
    KeySchema: r('KeySchema') as CreateTableCommandInput['KeySchema'],
    AttributeDefinitions: r('AttributeDefinitions') as CreateTableCommandInput['AttributeDefinitions'],
    BillingMode: billing as CreateTableCommandInput['BillingMode'],
    ...(billing === 'PROVISIONED' ? { ProvisionedThroughput: throughput } : {}),
    ...(gsis?.length
      ? {
          GlobalSecondaryIndexes: gsis.map((g) => ({
            IndexName: g.IndexName,
            KeySchema: g.KeySchema,
            Projection: g.Projection,
            ...(billing === 'PROVISIONED' ? { ProvisionedThroughput: g.ProvisionedThroughput } : {}),
          })),
        }
      : {}),
    ...(lsis?.length ? { LocalSecondaryIndexes: lsis } : {}),
  };
}

/** Creates one `AWS::DynamoDB::Table` on the emulator; returns its name. */
export async function createTable(
  dynamo: DynamoEmulator,
  table: TemplateResource,
  resolver: Resolver,
): Promise<string> {
  const name = resolver.physicalName(table.logicalId);
  try {
    await dynamo.client.send(new CreateTableCommand(tableInput(table, resolver, name)));
  } catch (error) {
    throw new LocalModeError(
      `${table.logicalId} (AWS::DynamoDB::Table): the emulator refused it: ${(error as Error).message}`,
      { cause: error },
    );
  }
  return name;
}
