/**
 * What one status-table write costs the caller in CPU, through the real SDK (the consumers'
 * `DynamoDBDocumentClient` + `UpdateCommand`) against the embedded DynamoDB emulator, which runs in
 * its own process (`local/aws/dynamodb.ts`), so this process's CPU is the client's alone. Baseline
 * in the same run: the same number of `GetItem`s of a missing key (the smallest request the table
 * answers), so the figure can be read against the SDK's fixed cost per call.
 *
 * Why it exists (issue 11, point 5): every message costs three such writes (issue 8: producer
 * `accepted`, consumer in-progress + `processing`, completed + `succeeded`), and the local
 * throughput goal (end to end >= 0.5 x the emulator alone) leaves about 2.8 ms of CPU per message
 * on 2 cores (`npm run bench` prints the baseline). Flags: `--n` (calls per figure, default 2000).
 *
 *   npm run bench:status-writes
 */
import { CreateTableCommand, DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient, GetCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { parseArgs } from 'node:util';
import { startDynamo } from '../local/aws/dynamodb';
import { LOCAL_CREDENTIALS } from '../local/aws/emulator';

const TABLE = 'bench-status';

async function cpuPerCall(n: number, call: (i: number) => Promise<unknown>): Promise<number> {
  const start = process.cpuUsage();
  for (let i = 0; i < n; i++) await call(i);
  const used = process.cpuUsage(start);
  return (used.user + used.system) / 1000 / n;
}

async function main(): Promise<void> {
  const { values } = parseArgs({ options: { n: { type: 'string', default: '2000' } } });
  const n = Number(values.n);
  if (!Number.isInteger(n) || n < 4 || n % 4 !== 0)
    throw new Error(`--n must be a positive multiple of 4, got ${values.n}`);
  const dynamo = await startDynamo({ port: 0, region: 'eu-west-1' });
  try {
    const raw = new DynamoDBClient({
      endpoint: dynamo.endpoint,
      region: 'eu-west-1',
      credentials: LOCAL_CREDENTIALS,
    });
    await raw.send(
      new CreateTableCommand({
        TableName: TABLE,
        KeySchema: [{ AttributeName: 'pk', KeyType: 'HASH' }],
        AttributeDefinitions: [{ AttributeName: 'pk', AttributeType: 'S' }],
        BillingMode: 'PAY_PER_REQUEST',
      }),
    );
    const db = DynamoDBDocumentClient.from(raw, { marshallOptions: { removeUndefinedValues: true } });
    // A status transition's shape: several SET clauses, a condition, the row back.
    const update = (i: number) =>
      db.send(
        new UpdateCommand({
          TableName: TABLE,
          Key: { pk: `msg#${i}` },
          UpdateExpression:
            'SET #status = :s, updatedAt = :now, attempts = if_not_exists(attempts, :zero) + :one, runLog = list_append(if_not_exists(runLog, :none), :ids)',
          ConditionExpression: 'attribute_not_exists(#status) OR #status <> :succeeded',
          ExpressionAttributeNames: { '#status': 'status' },
          ExpressionAttributeValues: {
            ':s': 'processing',
            ':now': new Date().toISOString(),
            ':zero': 0,
            ':one': 1,
            ':none': [],
            ':ids': [`m-${i}`],
            ':succeeded': 'succeeded',
          },
          ReturnValues: 'ALL_NEW',
        }),
      );
    const get = (i: number) => db.send(new GetCommand({ TableName: TABLE, Key: { pk: `none#${i}` } }));
    // Warm (connections, JIT), then alternate the two in rounds so that neither gets the warmer half.
    await cpuPerCall(n, (i) => update(1_000_000 + i));
    await cpuPerCall(n, get);
    const rounds = 4;
    let baseline = 0;
    let write = 0;
    for (let r = 0; r < rounds; r++) {
      baseline += (await cpuPerCall(n / rounds, (i) => get(r * n + i))) / rounds;
      write += (await cpuPerCall(n / rounds, (i) => update(r * n + i))) / rounds;
    }
    console.log(`status-table write cost through the SDK, ${n} calls each, Node ${process.version}`);
    console.log(`  baseline: GetItem of a missing key   ${baseline.toFixed(3)} ms client CPU per call`);
    console.log(
      `  UpdateItem (a status transition)     ${write.toFixed(3)} ms client CPU per call (${(write / baseline).toFixed(2)}x the baseline)`,
    );
    console.log(`  three per message (issue 8)          ${(3 * write).toFixed(2)} ms client CPU per message`);
  } finally {
    await dynamo.stop();
  }
}

main().catch((error: unknown) => {
  console.error(error instanceof Error ? error.message : String(error));
  process.exitCode = 1;
});
