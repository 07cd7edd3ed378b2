import {
  CreateTableCommand,
  DynamoDBClient,
  type CreateTableCommandInput,
  type GlobalSecondaryIndex,
  type LocalSecondaryIndex,
} from '@aws-sdk/client-dynamodb';
import { fork } from 'node:child_process';
import * as path from 'node:path';
import { LocalModeError } from '../errors';
import type { TemplateResource } from '../template/reader';
import type { Resolver } from '../template/resolver';
import { LOCAL_CREDENTIALS } from './emulator';
import { TableStream, type CapturedWrite } from './streams';

/** The embedded DynamoDB emulator (dynalite, in memory, in its own process) and a client pointed at it. */
export interface DynamoEmulator {
  readonly port: number;
  /** `http://127.0.0.1:<port>`: the DynamoDB endpoint (`AWS_ENDPOINT_URL_DYNAMODB`). */
  readonly endpoint: string;
  readonly client: DynamoDBClient;
  /** Requests it answered so far, by operation (`PutItem`, `UpdateItem`, …), for benches. */
  requests(): Promise<Record<string, number>>;
  /**
   * Turns on the stream of table `table` (its `StreamSpecification`): from then on every write
   * that changes an item is appended to the returned {@link TableStream}, in write order.
   */
  enableStream(
    table: string,
    spec: { readonly viewType: string; readonly keys: readonly string[]; readonly streamArn: string },
  ): Promise<TableStream>;
  /** The stream of a table, once enabled. */
  stream(table: string): TableStream | undefined;
  stop(): Promise<void>;
}

type ChildMessage =
  | { type: 'ready'; port: number }
  | { type: 'error'; code?: string; message: string }
  | { type: 'counts'; counts: Record<string, number> }
  | { type: 'stream'; table: string; record: CapturedWrite }
  | { type: 'stream-enabled'; id: number };

/**
 * Starts dynalite in a child process on 127.0.0.1 (`port` 0 picks a free one), so its CPU work
 * stays off the main event loop (API, pollers, fauxqs). Tables become ACTIVE at once. The child
 * counts every request's operation (`X-Amz-Target`).
 */
export async function startDynamo(options: { port: number; region: string }): Promise<DynamoEmulator> {
  const child = fork(path.join(__dirname, 'dynalite-process.mjs'), [String(options.port)], {
    execArgv: [],
    stdio: ['ignore', 'ignore', 'inherit', 'ipc'],
  });
  const port = await new Promise<number>((resolve, reject) => {
    const onExit = (code: number | null) =>
      reject(new LocalModeError(`the DynamoDB emulator exited (code ${code})`));
    child.once('exit', onExit);
    child.once('message', (m: ChildMessage) => {
      child.off('exit', onExit);
      if (m.type === 'ready') resolve(m.port);
      else if (m.type === 'error')
        reject(
          m.code === 'EADDRINUSE'
            ? new LocalModeError(`port ${options.port} is in use; set LOCAL_DYNAMODB_PORT=<free port>`)
            : new LocalModeError(`the DynamoDB emulator did not start: ${m.message}`),
        );
    });
  });
  const endpoint = `http://127.0.0.1:${port}`;
  const client = new DynamoDBClient({ endpoint, region: options.region, credentials: LOCAL_CREDENTIALS });
  const streams = new Map<string, TableStream>();
  child.on('message', (m: ChildMessage) => {
    if (m.type === 'stream') streams.get(m.table)?.append(m.record);
  });
  let nextId = 0;
  return {
    port,
    endpoint,
    client,
    stream: (table) => streams.get(table),
    async enableStream(table, spec) {
      const existing = streams.get(table);
      if (existing) return existing;
      const stream = new TableStream({ table, streamArn: spec.streamArn, region: options.region });
      streams.set(table, stream);
      const id = ++nextId;
      await new Promise<void>((resolve) => {
        const onMessage = (m: ChildMessage) => {
          if (m.type !== 'stream-enabled' || m.id !== id) return;
          child.off('message', onMessage);
          resolve();
        };
        child.on('message', onMessage);
        child.send({ type: 'enable-stream', id, table, viewType: spec.viewType, keys: spec.keys });
      });
      return stream;
    },
    requests: () =>
      new Promise((resolve) => {
        const onMessage = (m: ChildMessage) => {
          if (m.type !== 'counts') return;
          child.off('message', onMessage);
          resolve(m.counts);
        };
        child.on('message', onMessage);
        child.send({ type: 'counts' });
      }),
    async stop() {
      client.destroy();
      if (child.exitCode !== null || child.signalCode !== null) return;
      await new Promise<void>((resolve) => {
        child.once('exit', () => resolve());
        child.kill('SIGTERM');
      });
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

/**
 * The stream an `AWS::DynamoDB::Table` asks for (`StreamSpecification.StreamViewType`) and its
 * key attribute names; `undefined` without one.
 */
export function streamSpecOf(
  table: TemplateResource,
  resolver: Resolver,
): { readonly viewType: string; readonly keys: readonly string[] } | undefined {
  const at = (property: string) => ({ resource: table.logicalId, property });
  const spec = resolver.resolve(table.properties.StreamSpecification, at('StreamSpecification')) as
    { StreamViewType?: string } | undefined;
  if (!spec?.StreamViewType) return undefined;
  const keys = (
    resolver.resolve(table.properties.KeySchema, at('KeySchema')) as { AttributeName: string }[]
  ).map((k) => k.AttributeName);
  return { viewType: spec.StreamViewType, keys };
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
