/**
 * Requests per message, counted at the emulator boundary: runs local mode (the `local` stage's real
 * bundles) with the functions pointed at a counting proxy (`tools/counting-proxy.ts`), and watches
 * the event source mapping pollers' requests to the emulator (they run in this process) on Node's
 * `http.client.response.finish` diagnostics channel. Per scenario, sends probe messages to the
 * standard queue, waits until the pipeline is idle, and divides each actor's requests by action by
 * the number of messages. The sweeper is run on its own afterwards: once over empty DLQs, then
 * `--sweeps` times over what the scenarios left there (messages the consumer dead-lettered itself,
 * with its annotations), then `--sweeps` times over as many messages as a scenario sends put into
 * the standard DLQ the way the redrive policy moves them (no annotations; an envelope each, so a
 * status row can be its marker): requests per DLQ message on each run, S3, SQS and DynamoDB.
 * Prints figures; asserts nothing.
 *
 *   npm run bench:requests [-- --messages 100 --sweeps 3 --no-write]
 *
 * Unless `--no-write`, writes the figures to `cost/requests-per-message.json` (the cost model's
 * input), keeping its format and its figures that this bench does not measure (log bytes,
 * durations, archive record size, metric count). Pollers' empty receives are a per-mapping constant
 * (long polls of an idle queue), not per message: reported apart, as receives per mapping per
 * minute, and left out of the per-message figures.
 */
import { SendMessageBatchCommand } from '@aws-sdk/client-sqs';
import diagnosticsChannel from 'node:diagnostics_channel';
import { readFileSync, writeFileSync } from 'node:fs';
import type { ClientRequest, IncomingMessage } from 'node:http';
import { randomUUID } from 'node:crypto';
import * as path from 'node:path';
import { parseArgs } from 'node:util';
import { synthesize } from '../local';
import { BENCH_CDK_OUT } from '../tools/assembly';
import { CountingProxy, PROXIED_HEADER, type SeenRequest } from '../tools/counting-proxy';
import { depth, isBusy, startStage, waitFor, type LocalStage } from '../tools/local-stage';

const ROOT = path.join(__dirname, '..');
const COST_INPUT = path.join(ROOT, 'cost', 'requests-per-message.json');
/** Header of the bench's own SDK requests (queue depths), which are not counted. */
const UNCOUNTED_HEADER = 'x-bench-uncounted';

const { values } = parseArgs({
  options: {
    messages: { type: 'string', default: '100' },
    'no-write': { type: 'boolean', default: false },
    'skip-synth': { type: 'boolean', default: false },
    sweeps: { type: 'string', default: '3' },
  },
});
const SWEEPS = Number(values.sweeps);
if (!Number.isInteger(SWEEPS) || SWEEPS < 1) {
  process.stderr.write(`error: --sweeps must be a whole number, at least 1 (got "${values.sweeps}")\n`);
  process.exit(2);
}
const MESSAGES = Number(values.messages);
if (!Number.isInteger(MESSAGES) || MESSAGES < 10 || MESSAGES % 10 !== 0) {
  process.stderr.write(
    `error: --messages must be a multiple of 10, at least 10 (got "${values.messages}")\n`,
  );
  process.exit(2);
}

type Actor = 'producer' | 'consumer' | 'poller' | 'sweeper' | 'other';
type Counts = Record<Actor, Record<string, number>>;
const emptyCounts = (): Counts => ({ producer: {}, consumer: {}, poller: {}, sweeper: {}, other: {} });

let counts = emptyCounts();
let emptyReceives = 0;
let sweeping = false;
const add = (actor: Actor, op: string) => {
  counts[actor][op] = (counts[actor][op] ?? 0) + 1;
};

let sourceQueues = new Set<string>();
let dlqs = new Set<string>();

/** Which function made a request that came through the proxy (by what it touches). */
function actorOf(seen: SeenRequest): Actor {
  const { op, queueUrl } = seen;
  if (op.startsWith('s3:')) return sweeping ? 'sweeper' : 'consumer';
  if (queueUrl && sourceQueues.has(queueUrl)) {
    return op === 'sqs:SendMessage' || op === 'sqs:SendMessageBatch' ? 'producer' : 'consumer';
  }
  if (queueUrl && dlqs.has(queueUrl)) return op === 'sqs:SendMessage' ? 'consumer' : 'sweeper';
  return 'other';
}

/** The pollers' requests: this process's own HTTP requests to the emulator that are not proxied. */
function watchPollers(emulatorPort: string): void {
  diagnosticsChannel.subscribe('http.client.response.finish', (message) => {
    const { request, response } = message as { request: ClientRequest; response: IncomingMessage };
    if (request.getHeader(PROXIED_HEADER) !== undefined || request.getHeader(UNCOUNTED_HEADER) !== undefined)
      return;
    if (!String(request.getHeader('host') ?? '').endsWith(`:${emulatorPort}`)) return;
    const target = request.getHeader('x-amz-target');
    if (typeof target !== 'string' || !target.startsWith('AmazonSQS.')) return;
    const op = `sqs:${target.slice('AmazonSQS.'.length)}`;
    // An empty ReceiveMessage answers `{}`; a non-empty one carries the messages.
    if (op === 'sqs:ReceiveMessage' && Number(response.headers['content-length'] ?? 0) <= 2) {
      emptyReceives += 1;
      return;
    }
    if (op === 'sqs:GetQueueAttributes') return add('other', op); // local mode's alarm evaluation
    add('poller', op);
  });
}

interface Scenario {
  readonly key: 'happySingle' | 'happyBatch' | 'retryThenSucceed' | 'permanent' | 'exhausted';
  readonly title: string;
  readonly payload: Record<string, unknown>;
  readonly batch: boolean;
}
const SCENARIOS: readonly Scenario[] = [
  { key: 'happySingle', title: 'single POST, succeeds', payload: { mode: 'succeed' }, batch: false },
  { key: 'happyBatch', title: 'batch POST of 10, succeeds', payload: { mode: 'succeed' }, batch: true },
  {
    key: 'retryThenSucceed',
    title: 'fails once, then succeeds',
    payload: { mode: 'succeed', failTimes: 1 },
    batch: true,
  },
  { key: 'permanent', title: 'permanent failure', payload: { mode: 'fail-permanent' }, batch: true },
  { key: 'exhausted', title: 'retries exhausted', payload: { mode: 'fail-always' }, batch: true },
];

/** Waits until nothing moves: no batch or invocation running, source queues empty, journal quiet. */
async function settle(stage: LocalStage, minInvocations: number): Promise<void> {
  let last = -1;
  let quiet = 0;
  await waitFor(
    'the pipeline to settle',
    async () => {
      const busy = await isBusy(stage.local);
      const left = (await Promise.all([...sourceQueues].map((url) => depth(stage.sqs, url)))).reduce(
        (a, b) => a + b,
        0,
      );
      const n = stage.local.journal.length;
      quiet = !busy && left === 0 && n === last && n >= minInvocations ? quiet + 1 : 0;
      last = n;
      return quiet >= 3;
    },
    120_000,
    200,
  );
}

const round = (x: number) => Math.round(x * 1000) / 1000;
const perMessage = (c: Record<string, number>, n: number) =>
  Object.fromEntries(
    Object.entries(c)
      .sort(([a], [b]) => a.localeCompare(b))
      .map(([op, v]) => [op.replace(/^(sqs|s3):/, ''), round(v / n)]),
  );
const byService = (c: Record<string, number>, n: number) => {
  const sqs = perMessage(Object.fromEntries(Object.entries(c).filter(([op]) => op.startsWith('sqs:'))), n);
  const s3 = perMessage(Object.fromEntries(Object.entries(c).filter(([op]) => op.startsWith('s3:'))), n);
  return { ...(Object.keys(sqs).length ? { sqs } : {}), ...(Object.keys(s3).length ? { s3 } : {}) };
};

async function main(): Promise<void> {
  if (!values['skip-synth']) await synthesize('local', BENCH_CDK_OUT);
  let proxy: CountingProxy | undefined;
  let emulatorPort = '';
  const stage = await startStage({
    cdkOut: BENCH_CDK_OUT,
    frontEndpoint: async (emulator) => {
      emulatorPort = new URL(emulator).port;
      proxy = new CountingProxy(emulator, (seen) => add(actorOf(seen), seen.op));
      return proxy.start();
    },
  });
  stage.sqs.middlewareStack.add(
    (next) => (args) => {
      (args.request as { headers: Record<string, string> }).headers[UNCOUNTED_HEADER] = '1';
      return next(args);
    },
    { step: 'build', name: 'benchUncounted' },
  );
  sourceQueues = new Set([stage.queue('StandardQueue').url, stage.queue('FifoQueue').url]);
  dlqs = new Set([stage.queue('StandardDlq').url, stage.queue('FifoDlq').url]);
  watchPollers(emulatorPort);
  const [sweepRule] = stage.local.schedules();
  const mappings = 2;
  const results: Record<string, ScenarioResult> = {};

  try {
    // Pollers' empty receives over an idle window: a per-mapping constant.
    await settle(stage, 0);
    counts = emptyCounts();
    emptyReceives = 0;
    const idleMs = 10_000;
    await new Promise((r) => setTimeout(r, idleMs));
    const idleReceivesPerMappingMinute = (emptyReceives / mappings) * (60_000 / idleMs);

    /** One sweeper run: its SQS/S3 requests (by op) and its DynamoDB requests (by op). */
    const sweep = async (): Promise<SweepRun> => {
      counts = emptyCounts();
      sweeping = true;
      const dynamoBefore = await stage.local.dynamodbRequests();
      try {
        const run = stage.local.triggerSchedule(sweepRule!);
        if (!run) throw new Error(`no schedule ${sweepRule}`);
        await run;
        await settle(stage, 0);
      } finally {
        sweeping = false;
      }
      const dynamoAfter = await stage.local.dynamodbRequests();
      const dynamodb = Object.fromEntries(
        Object.entries(dynamoAfter)
          .map(([op, n]) => [`dynamodb:${op}`, n - (dynamoBefore[op] ?? 0)] as const)
          .filter(([, n]) => n > 0),
      );
      return { ...counts.sweeper, ...dynamodb };
    };
    const sweepEmpty = await sweep();

    for (const s of SCENARIOS) {
      await settle(stage, 0);
      const before = stage.local.journal.length;
      const dynamoBefore = await stage.local.dynamodbRequests();
      counts = emptyCounts();
      const started = Date.now();
      const entry = { type: 'probe', payload: { ...s.payload, tag: s.key } };
      const posts = s.batch
        ? Array.from({ length: MESSAGES / 10 }, () =>
            stage.post('/v1/messages/batch', { messages: Array.from({ length: 10 }, () => entry) }),
          )
        : Array.from({ length: MESSAGES }, () => stage.post('/v1/messages', entry));
      const answers = await Promise.all(posts);
      const refused = answers.filter((a) => a.status !== 202 && a.status !== 207);
      if (refused.length)
        throw new Error(`${s.key}: ${refused.length} requests refused: ${refused[0]!.text}`);
      await settle(stage, before + 1);
      const invocations: Record<string, number> = {};
      for (const i of stage.local.journal.list().slice(before)) {
        invocations[i.function] = (invocations[i.function] ?? 0) + 1;
      }
      if (Object.keys(invocations).some((f) => f.startsWith('DlqSweeper'))) {
        console.error(
          `warning: ${s.key}: the scheduled sweeper ran during the scenario; its S3 calls count as the consumer's`,
        );
      }
      results[s.key] = {
        counts,
        invocations,
        ms: Date.now() - started,
        dynamodb: dynamoDelta(dynamoBefore, await stage.local.dynamodbRequests()),
      };
    }

    const dlqMessages = (await Promise.all([...dlqs].map((url) => depth(stage.sqs, url)))).reduce(
      (a, b) => a + b,
      0,
    );
    // The scenarios' DLQ messages: the consumer dead-lettered each one itself.
    const sweepAnnotated: SweepRun[] = [];
    for (let i = 0; i < SWEEPS; i++) sweepAnnotated.push(await sweep());
    // As many messages as the redrive policy would move after crashes: no annotations.
    const moved = await putMovedMessages(stage, MESSAGES);
    const sweepMoved: SweepRun[] = [];
    for (let i = 0; i < SWEEPS; i++) sweepMoved.push(await sweep());
    const sweepFull = sweepAnnotated[sweepAnnotated.length - 1]!;

    const figures = {
      idleReceivesPerMappingMinute,
      sweepEmpty,
      sweepFull,
      dlqMessages,
      sweepAnnotated,
      sweepMoved,
      moved,
    };
    print(results, figures);
    if (!values['no-write']) write(results, figures);
  } finally {
    await stage.stop();
    await proxy?.stop();
  }
}

/** One scenario's counts. */
interface ScenarioResult {
  readonly counts: Counts;
  readonly invocations: Record<string, number>;
  readonly ms: number;
  /** DynamoDB requests of every function together (the emulator does not tell callers apart). */
  readonly dynamodb: { readUnits: number; writeUnits: number };
}

const DYNAMO_WRITES = ['PutItem', 'UpdateItem', 'DeleteItem', 'BatchWriteItem'];
const DYNAMO_READS = ['GetItem', 'Query', 'Scan', 'BatchGetItem'];

/** Reads and writes between two counts of local mode's DynamoDB emulator (items < 1 KB: 1 unit each). */
function dynamoDelta(before: Record<string, number>, after: Record<string, number>) {
  const sum = (ops: string[]) => ops.reduce((n, op) => n + (after[op] ?? 0) - (before[op] ?? 0), 0);
  return { readUnits: sum(DYNAMO_READS), writeUnits: sum(DYNAMO_WRITES) };
}

/** One sweeper run's requests by op (`sqs:…`, `s3:…`, `dynamodb:…`). */
type SweepRun = Record<string, number>;

interface SweepFigures {
  readonly sweepEmpty: SweepRun;
  /** The last run over the scenarios' DLQ messages (the consumer's, annotated). */
  readonly sweepFull: SweepRun;
  readonly dlqMessages: number;
  readonly idleReceivesPerMappingMinute: number;
  /** Each run over the scenarios' DLQ messages. */
  readonly sweepAnnotated: readonly SweepRun[];
  /** Each run after {@link moved} unannotated messages were added to the standard DLQ. */
  readonly sweepMoved: readonly SweepRun[];
  readonly moved: number;
}

/**
 * Puts `n` probe envelopes into the standard DLQ as the redrive policy moves a message (body only,
 * no consumer annotations), through the bench's own uncounted client.
 */
async function putMovedMessages(stage: LocalStage, n: number): Promise<number> {
  const url = stage.queue('StandardDlq').url;
  for (let i = 0; i < n; i += 10) {
    await stage.sqs.send(
      new SendMessageBatchCommand({
        QueueUrl: url,
        Entries: Array.from({ length: Math.min(10, n - i) }, (_, j) => ({
          Id: String(j),
          MessageBody: JSON.stringify({
            v: 1,
            id: randomUUID(),
            type: 'probe',
            payload: { mode: 'crash', tag: 'moved-by-redrive' },
            createdAt: new Date().toISOString(),
            correlationId: 'bench-requests',
          }),
        })),
      }),
    );
  }
  return n;
}

/** Requests of `run` beyond `empty` (a run over empty DLQs), per DLQ message. */
function perDlqMessage(run: SweepRun, empty: SweepRun, messages: number): Record<string, number> {
  const out: Record<string, number> = {};
  for (const [op, n] of Object.entries(run)) {
    const extra = n - (empty[op] ?? 0);
    if (extra > 0 && messages > 0) out[op] = round(extra / messages);
  }
  return out;
}

function print(results: Record<string, ScenarioResult>, f: SweepFigures): void {
  console.log(
    `Requests per message, counted at the emulator boundary (${MESSAGES} messages per scenario, local stage)`,
  );
  for (const s of SCENARIOS) {
    const r = results[s.key]!;
    console.log(`\n  ${s.title} (${s.key}, ${(r.ms / 1000).toFixed(1)} s)`);
    for (const actor of ['producer', 'poller', 'consumer', 'other'] as const) {
      const pm = perMessage(r.counts[actor], MESSAGES);
      if (Object.keys(pm).length) console.log(`    ${actor.padEnd(9)} ${JSON.stringify(pm)}`);
    }
    const inv = Object.entries(r.invocations).map(
      ([fn, n]) => `${fn.replace(/[0-9A-F]{8}$/, '')} ${round(n / MESSAGES)}`,
    );
    console.log(`    invocations per message: ${inv.join(', ')}`);
    console.log(
      `    DynamoDB (all functions) ${round(r.dynamodb.writeUnits / MESSAGES)} writes + ${round(r.dynamodb.readUnits / MESSAGES)} reads per message`,
    );
  }
  const batch = results.happyBatch!.counts;
  const sends = (batch.producer['sqs:SendMessageBatch'] ?? 0) / MESSAGES;
  const receives = (batch.poller['sqs:ReceiveMessage'] ?? 0) / MESSAGES;
  const deletes = (batch.poller['sqs:DeleteMessageBatch'] ?? 0) / MESSAGES;
  const ratio = (sends + receives + deletes) / 0.3;
  console.log(
    `\n  happy path, batch POSTs: ${round(sends)} send + ${round(receives)} receive + ${round(deletes)} delete per message = ${ratio.toFixed(2)}x the goal (0.1 + 0.1 + 0.1; within 1.2x: ${ratio <= 1.2 ? 'yes' : 'no'})`,
  );
  console.log(
    `  pollers' empty receives (per mapping, not per message): ${f.idleReceivesPerMappingMinute.toFixed(1)} per minute`,
  );
  console.log(`  sweeper over empty DLQs, per run: ${JSON.stringify(perMessage(f.sweepEmpty, 1))}`);
  console.log(
    `  sweeper over the scenarios' ${f.dlqMessages} DLQ messages (dead-lettered by the consumer), per run:`,
  );
  f.sweepAnnotated.forEach((run, i) =>
    console.log(
      `    run ${i + 1}: ${JSON.stringify(perMessage(run, 1))}; per DLQ message ${JSON.stringify(perDlqMessage(run, f.sweepEmpty, f.dlqMessages))}`,
    ),
  );
  console.log(
    `  + ${f.moved} messages moved the redrive policy's way (no annotations) into the standard DLQ, per run:`,
  );
  f.sweepMoved.forEach((run, i) =>
    console.log(
      `    run ${i + 1}: ${JSON.stringify(perMessage(run, 1))}; per moved message ${JSON.stringify(perDlqMessage(run, f.sweepFull, f.moved))}`,
    ),
  );
}

function write(results: Record<string, ScenarioResult>, f: SweepFigures): void {
  const current = JSON.parse(readFileSync(COST_INPUT, 'utf8')) as {
    scenarios: Record<string, Record<string, Record<string, unknown> | number | string>>;
    dlqSweep: Record<string, unknown> & {
      perRun: Record<string, unknown>;
      perDlqMessagePerRun: Record<string, unknown>;
    };
    idlePolling: Record<string, unknown>;
  } & Record<string, unknown>;
  const invocationsOf = (inv: Record<string, number>, prefix: string) =>
    round(
      Object.entries(inv)
        .filter(([fn]) => fn.startsWith(prefix))
        .reduce((a, [, n]) => a + n, 0) / MESSAGES,
    );
  for (const s of SCENARIOS) {
    const r = results[s.key]!;
    const old = current.scenarios[s.key] ?? {};
    const oldProducer = (old.producer ?? {}) as Record<string, unknown>;
    const oldConsumer = (old.consumer ?? {}) as Record<string, unknown>;
    const producerInvocations = invocationsOf(r.invocations, 'IngestProducer');
    current.scenarios[s.key] = {
      ...old,
      $comment: `${s.title}: measured by bench/requests-per-message.ts.`,
      producer: {
        apiRequests: producerInvocations,
        invocations: producerInvocations,
        ...byService(r.counts.producer, MESSAGES),
        ...(oldProducer.logBytes === undefined ? {} : { logBytes: oldProducer.logBytes }),
      },
      poller: byService(r.counts.poller, MESSAGES),
      consumer: {
        invocations: invocationsOf(r.invocations, 'ConsumerHandler'),
        ...byService(r.counts.consumer, MESSAGES),
        // Every function's DynamoDB requests (producer `accepted`, consumers' runs, sweeper),
        // here because the emulator does not tell callers apart; the bill is the same.
        dynamodb: {
          readUnits: round(r.dynamodb.readUnits / MESSAGES),
          writeUnits: round(r.dynamodb.writeUnits / MESSAGES),
        },
        ...(oldConsumer.logBytes === undefined ? {} : { logBytes: oldConsumer.logBytes }),
      },
    };
  }
  const sweepers = Math.max(1, dlqs.size);
  const emptyRun = f.sweepEmpty;
  const byServiceOf = (c: Record<string, number>) => ({
    sqs: pick(c, 'sqs:'),
    s3: pick(c, 's3:'),
    ...(Object.keys(pick(c, 'dynamodb:')).length ? { dynamodb: pick(c, 'dynamodb:') } : {}),
  });
  const annotated = perDlqMessage(f.sweepFull, emptyRun, f.dlqMessages);
  const movedFirst = perDlqMessage(f.sweepMoved[0]!, f.sweepFull, f.moved);
  const movedLater = perDlqMessage(f.sweepMoved[f.sweepMoved.length - 1]!, f.sweepFull, f.moved);
  current.dlqSweep = {
    ...current.dlqSweep,
    $comment: `Measured by bench/requests-per-message.ts: one run over empty DLQs (perRun, per queue); ${f.sweepAnnotated.length} runs over the ${f.dlqMessages} messages the scenarios left in the DLQs, which the consumer dead-lettered itself (perDlqMessagePerRun: the increment per message of a run, the same on every run); then ${f.moved} messages put into the standard DLQ the way the redrive policy moves them (movedByRedrive, per message: its first run and each later one). The sweeper reads every DLQ to the end on every run (messages stay for inspection); S3 and the status table only for a message without the consumer's annotations, and after its first run only the status row.`,
    perRun: { ...current.dlqSweep.perRun, sqsPerQueue: perMessage(scale(emptyRun, 1 / sweepers), 1) },
    perDlqMessagePerRun: byServiceOf(annotated),
    movedByRedrive: { firstRun: byServiceOf(movedFirst), laterRuns: byServiceOf(movedLater) },
  };
  current.idlePolling = {
    ...current.idlePolling,
    measuredEmptyReceivesPerMappingMinute: round(f.idleReceivesPerMappingMinute),
  };
  current.status = 'measured';
  current.source = `bench/requests-per-message.ts, ${MESSAGES} messages per scenario, on ${new Date().toISOString().slice(0, 10)}`;
  current.$comment =
    'Requests, invocations and log bytes per message, by actor and scenario, read by cost/model.ts. Request and ' +
    'invocation figures are counted at the emulator boundary by bench/requests-per-message.ts (npm run ' +
    'bench:requests), which overwrites them and keeps the rest. Consumer logBytes were measured once in process ' +
    '(the consumer core at INFO over batches of 10, one EMF document per batch; 2026-12-01); producer log bytes, ' +
    'durations, archive record size and metric count are estimates from code reading. `poller` is the event source mapping (non-empty ReceiveMessage, ' +
    'DeleteMessageBatch); its empty receives are a per-mapping constant (idlePolling), not per message. Per-batch ' +
    "figures hold at `measuredWith.batchSize` and the model rescales them to each mapping's BatchSize; exhausted " +
    "figures hold at `measuredWith.maxAttempts` (the consumer's attempt budget; the model rescales them to each consumer's MAX_ATTEMPTS).";
  writeFileSync(COST_INPUT, `${JSON.stringify(current, null, 2)}\n`);
  console.log(`\n  wrote ${path.relative(ROOT, COST_INPUT)}`);
}

/** The ops of `c` under `prefix` (`sqs:`), without it. */
const pick = (c: Record<string, number>, prefix: string) =>
  Object.fromEntries(
    Object.entries(c)
      .filter(([op]) => op.startsWith(prefix))
      .sort(([a], [b]) => a.localeCompare(b))
      .map(([op, n]) => [op.slice(prefix.length), n]),
  );

const scale = (c: Record<string, number>, k: number) =>
  Object.fromEntries(Object.entries(c).map(([op, n]) => [op, n * k]));

main().catch((error: unknown) => {
  process.stderr.write(`error: ${error instanceof Error ? error.message : String(error)}\n`);
  process.exit(1);
});
