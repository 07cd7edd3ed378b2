/**
 * Local-mode throughput: N probe messages through the API → queue → consumer (standard queue, then
 * FIFO queue over many message groups), against baselines measured in the same run: the emulator
 * alone (SendMessageBatch + ReceiveMessage + DeleteMessageBatch of N messages through the SDK) and
 * a direct SendMessage at the API's concurrency (its p50 is the yardstick of the API p50), and
 * the floor: the requests every message must make, through the same SDK, the same emulators and
 * the functions' own status-table code, without API, sandboxes or handlers (issue 20, item 4; see
 * {@link floor}); each pipeline run's CPU per message is printed as a ratio to it. Also prints
 * where a POST's and a batch's milliseconds go (from the journal: the handler's own duration vs
 * the whole round trip). The POSTs come from a separate process (`load-generator.mjs`), as real
 * clients would, so the client's CPU does not land on local mode's event loop. Prints figures;
 * asserts nothing. Findings: bench/README.md.
 *
 *   npm run bench [-- --n 2000 --concurrency 32 --groups 200 --passes 2 --no-synth]
 */
import {
  CreateQueueCommand,
  DeleteMessageBatchCommand,
  PurgeQueueCommand,
  ReceiveMessageCommand,
  SendMessageBatchCommand,
  SendMessageCommand,
} from '@aws-sdk/client-sqs';
import { CreateTableCommand, DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { fork, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import * as path from 'node:path';
import { performance } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import { synthesize } from '../local';
import { BENCH_CDK_OUT } from '../tools/assembly';
import type { LocalHandle } from '../local';
import type { InvocationRecord } from '../local/control/journal';
import { isBusy, startStage, waitFor, type LocalStage } from '../tools/local-stage';
import { STAGES } from '../app/stages';
import { STATUS_TABLE_KEYS } from '../lambda/shared/status/keys';
import { LOCAL_CREDENTIALS } from '../local/aws/emulator';
import { functionEnv } from '../local/functions/environment';
import { FunctionHost } from '../local/functions/host';
import { createLocalLogger } from '../local/log';
import { localPseudoParameters, Resolver } from '../local/template/resolver';
import type { FunctionSpec } from '../local/template/topology';
import { build } from 'esbuild';
import { floorMaker, type FloorMaker } from './floor-requests';
import { functionBundling } from './function-bundling';

const { values } = parseArgs({
  options: {
    n: { type: 'string', default: '2000' },
    concurrency: { type: 'string', default: '32' },
    groups: { type: 'string', default: '200' },
    /** Reuse the bench assembly of an earlier run (A/B runs of local mode's code). */
    'no-synth': { type: 'boolean', default: false },
    /** Local mode's sandboxes per function without reserved concurrency (`functionConcurrency`). */
    'function-concurrency': { type: 'string' },
    /**
     * Passes of the pipeline runs (standard then FIFO, N messages each). The first pass meets
     * sandboxes that served only the warm-up (2 × concurrency messages: a few requests each, their
     * code barely past V8's interpreter); later passes meet sandboxes as warm as the floor's
     * isolate, which has made every request of the baselines and floor runs before it is measured.
     */
    passes: { type: 'string', default: '2' },
  },
});
const N = Number(values.n);
const CONCURRENCY = Number(values.concurrency);
const GROUPS = Number(values.groups);
const PASSES = Math.max(1, Number(values.passes));
const CORES = availableParallelism();

/** A difference with its sign: `+1.5`, `-0.3`. */
const signed = (x: number, digits: number) => `${x >= 0 ? '+' : ''}${x.toFixed(digits)}`;
const pct = (xs: number[], p: number) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))]!;
};

/** Runs `task(i)` for i < n, `concurrency` at a time; returns the wall time and each call's latency. */
async function closedLoop(n: number, concurrency: number, task: (i: number) => Promise<void>) {
  const latencies: number[] = [];
  let next = 0;
  const t = performance.now();
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < n) {
        const i = next++;
        const s = performance.now();
        await task(i);
        latencies.push(performance.now() - s);
      }
    }),
  );
  return { ms: performance.now() - t, latencies };
}

/** What the load generator answers for one closed-loop run of POSTs. */
type LoadResult = { ms: number; cpuMs: number; latencies: number[]; ids: string[] };

/** CPU time of this process so far (every thread: main, emulator, sandboxes), in ms. */
const cpuMs = () => {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1000;
};

/**
 * CPU time so far of the DynamoDB emulator, which runs in its own child process
 * (`local/aws/dynamodb.ts`) and so is not in {@link cpuMs}: utime + stime from `/proc` (Linux;
 * `undefined` elsewhere). Printed beside the floor's and the pipeline's figures, never added to
 * them, so that both leave it out the same way.
 */
function dynamoCpuMs(): number | undefined {
  try {
    for (const pid of readdirSync('/proc')) {
      if (!/^\d+$/.test(pid)) continue;
      let stat: string;
      let cmdline: string;
      try {
        stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
        cmdline = readFileSync(`/proc/${pid}/cmdline`, 'utf8');
      } catch {
        continue;
      }
      // Fields after the command's closing parenthesis: state, ppid, …, utime (14th), stime (15th).
      const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      if (Number(f[1]) !== process.pid || !cmdline.includes('dynalite-process')) continue;
      // Clock ticks of 10 ms (USER_HZ 100 on Linux).
      return (Number(f[11]) + Number(f[12])) * 10;
    }
  } catch {
    // No /proc.
  }
  return undefined;
}

/**
 * What the DynamoDB emulator did between {@link startDynamoMeter} and `read(n)`, per message:
 * writes and reads counted at its boundary (status rows + idempotency), each operation's count,
 * and its process's CPU ({@link dynamoCpuMs}; `undefined` where it cannot be read). The floor and
 * the pipeline runs measure it the same way.
 */
async function startDynamoMeter(stage: LocalStage) {
  const before = await stage.local.dynamodbRequests();
  const cpu0 = dynamoCpuMs();
  return async (n: number) => {
    const cpu1 = dynamoCpuMs();
    const after = await stage.local.dynamodbRequests();
    const delta = (op: string) => (after[op] ?? 0) - (before[op] ?? 0);
    const perMessage = (ops: string[]) => ops.reduce((sum, op) => sum + delta(op), 0) / n;
    return {
      writes: perMessage(WRITE_OPS),
      reads: perMessage(READ_OPS),
      byOp: Object.keys(after)
        .filter((op) => delta(op) > 0)
        .map((op) => `${op} ${(delta(op) / n).toFixed(2)}`)
        .join(', '),
      cpuMs: cpu0 === undefined || cpu1 === undefined ? undefined : (cpu1 - cpu0) / n,
    };
  };
}

/** What one floor run measured. */
interface FloorResult {
  /** CPU of this process per message (every thread: the bench's SDK calls, the emulator's worker, sandboxes). */
  readonly cpuMs: number;
  /** CPU of the DynamoDB emulator's process per message (`undefined`: not measurable here). */
  readonly dynamoCpuMs: number | undefined;
  readonly ms: number;
  /** DynamoDB writes and reads per message, counted at the emulator boundary as the pipeline's are. */
  readonly writes: number;
  readonly reads: number;
}

/** The floor proper: every request made here, in one isolate, with nothing around it. */
function inProcess(stage: LocalStage): FloorMaker {
  return floorMaker(stage.sqs, floorDb(stage));
}

/**
 * The floor in sandboxes: the same requests made by two bare functions (`floor-functions.ts`,
 * bundled as the functions are) in local mode's own sandboxes, one invocation per message on the
 * producer's side and one per received batch on the consumer's, with as many sandboxes as the
 * pipeline's producer and consumer may use. What it adds to the floor proper is what running
 * functions in isolates costs; what the pipeline adds to it is the functions' code and local
 * mode's API server, pollers and event plumbing.
 */
async function inSandboxes(
  stage: LocalStage,
  sandboxes: { producer: number; consumer: number },
): Promise<FloorMaker & { stop(): Promise<void>; readonly sandboxes: () => string }> {
  const outdir = path.join(BENCH_CDK_OUT, 'floor-functions');
  await build({
    ...functionBundling(path.join(__dirname, '..'), path.join(outdir, 'index.mjs')),
    entryPoints: [path.join(__dirname, 'floor-functions.ts')],
    logLevel: 'error',
  });
  const logger = createLocalLogger('silent');
  const host = (name: string, maxConcurrency: number) => {
    const spec: FunctionSpec = {
      logicalId: `Floor${name}`,
      resource: {
        logicalId: `Floor${name}`,
        type: 'AWS::Lambda::Function',
        properties: {},
        metadata: {},
        dependsOn: [],
        stackName: 'bench-floor',
      },
      name: `bench-floor-${name.toLowerCase()}`,
      arn: `arn:aws:lambda:${stage.local.region}:000000000000:function:bench-floor-${name.toLowerCase()}`,
      file: path.join(outdir, 'index.mjs'),
      exportName: name.toLowerCase(),
      handler: `index.${name.toLowerCase()}`,
      runtime: 'nodejs24.x',
      timeoutSeconds: 30,
      memoryMb: 256,
    };
    const logGroupName = `/aws/lambda/${spec.name}`;
    return new FunctionHost({
      spec,
      env: functionEnv(spec, {
        resolver: new Resolver({ pseudo: localPseudoParameters('bench-floor'), resources: new Map() }),
        region: stage.local.region,
        endpoint: stage.local.awsEndpoint,
        dynamodbEndpoint: stage.local.env.dynamodbEndpoint,
        logGroupName,
      }),
      maxConcurrency,
      logger,
      logGroupName,
    });
  };
  const producer = host('Producer', sandboxes.producer);
  const consumer = host('Consumer', sandboxes.consumer);
  const invoke = async (h: FunctionHost, event: unknown) => {
    const out = await h.invoke(event);
    if (!out.ok) throw new Error(`floor function ${h.spec.name}: ${out.error.name}: ${out.error.message}`);
  };
  return {
    produce: (queueUrl, table, tag) => invoke(producer, { queueUrl, table, tag }),
    consume: (table, records) =>
      invoke(consumer, { table, records: records.map(({ MessageId, Body }) => ({ MessageId, Body })) }),
    sandboxes: () => `${producer.sandboxes} producer + ${consumer.sandboxes} consumer sandboxes`,
    stop: async () => {
      await Promise.all([producer.stop(), consumer.stop()]);
    },
  };
}

/**
 * A floor run (issue 20, item 4): what every message must cost, made with the functions' own SDK
 * clients and status code against the stage's emulators, with nothing else around it. Per
 * message, `CONCURRENCY` at a time as the API runs them: the producer's side
 * (`sendAndAccept`); then the consumer's side, as local mode's poller and the consumer make it:
 * `ReceiveMessage` of up to 10 with every attribute, the batch's writes (`processRecord` per
 * record) and one `DeleteMessageBatch` per receive. Up to {@link FLOOR_RECEIVERS} receives run at
 * a time (local mode's batches per mapping). `maker` makes the per-message requests: here
 * ({@link inProcess}) or in sandboxes ({@link inSandboxes}); the receives and deletes are made
 * here either way, as local mode's poller makes them. `table` is the status table written; when
 * `events` is given, the run also waits until the stage's bus has taken as many more events (the
 * completion relay's, one per `succeeded` write on the real table,
 * `lib/constructs/completion-events.ts`), so their CPU is inside the run.
 */
async function floor(
  stage: LocalStage,
  maker: FloorMaker,
  queueUrl: string,
  table: string,
  n: number,
  events?: { readonly before: number },
): Promise<FloorResult> {
  const dynamo = await startDynamoMeter(stage);
  const cpu0 = cpuMs();
  const t0 = performance.now();
  const tag = randomUUID();
  await closedLoop(n, CONCURRENCY, (i) => maker.produce(queueUrl, table, `floor-${tag}-${i}`));
  let received = 0;
  await Promise.all(
    Array.from({ length: FLOOR_RECEIVERS }, async () => {
      while (received < n) {
        const r = await stage.sqs.send(
          new ReceiveMessageCommand({
            QueueUrl: queueUrl,
            MaxNumberOfMessages: 10,
            WaitTimeSeconds: 1,
            MessageSystemAttributeNames: ['All'],
            MessageAttributeNames: ['All'],
          }),
        );
        const messages = r.Messages ?? [];
        received += messages.length;
        if (messages.length === 0) continue;
        await maker.consume(table, messages);
        await stage.sqs.send(
          new DeleteMessageBatchCommand({
            QueueUrl: queueUrl,
            Entries: messages.map((m, j) => ({ Id: String(j), ReceiptHandle: m.ReceiptHandle! })),
          }),
        );
      }
    }),
  );
  if (events)
    await waitFor(
      `${n} completion events of the floor's succeeded writes`,
      () => stage.local.events().length >= events.before + n,
      120_000,
      100,
    );
  const cpu = cpuMs() - cpu0;
  const ms = performance.now() - t0;
  const d = await dynamo(n);
  return { cpuMs: cpu / n, dynamoCpuMs: d.cpuMs, ms, writes: d.writes, reads: d.reads };
}

/** The mean of floor runs (each field). */
function meanFloor(runs: readonly FloorResult[]): FloorResult {
  const m = (f: (r: FloorResult) => number) => runs.reduce((sum, r) => sum + f(r), 0) / runs.length;
  return {
    cpuMs: m((r) => r.cpuMs),
    dynamoCpuMs: runs.some((r) => r.dynamoCpuMs === undefined) ? undefined : m((r) => r.dynamoCpuMs!),
    ms: m((r) => r.ms),
    writes: m((r) => r.writes),
    reads: m((r) => r.reads),
  };
}

/**
 * Waits until the stage runs nothing (no invocation, no poller's batch) twice, 1.5 s apart: longer
 * than the completion relay's batching window (1 s), so that no stream batch is still gathering.
 */
async function settle(stage: LocalStage): Promise<void> {
  for (let i = 0; i < 2; i++) {
    await waitFor('the stage idle', async () => !(await isBusy(stage.local)), 120_000, 100);
    await new Promise((r) => setTimeout(r, 1500));
  }
  await waitFor('the stage idle', async () => !(await isBusy(stage.local)), 120_000, 100);
}

/** Concurrent receives of the floor's consumer side (local mode's default batches per mapping). */
const FLOOR_RECEIVERS = 5;
const WRITE_OPS = ['PutItem', 'UpdateItem', 'DeleteItem', 'BatchWriteItem'];
const READ_OPS = ['GetItem', 'Query', 'Scan', 'BatchGetItem'];

let floorDbClient: DynamoDBDocumentClient | undefined;
/** The functions' DynamoDB document client (`consumer-runtime.ts`, the producer's handler), pointed at the stage's emulator. */
function floorDb(stage: LocalStage): DynamoDBDocumentClient {
  floorDbClient ??= DynamoDBDocumentClient.from(
    new DynamoDBClient({
      endpoint: stage.local.env.dynamodbEndpoint,
      region: stage.local.region,
      credentials: LOCAL_CREDENTIALS,
    }),
    { marshallOptions: { removeUndefinedValues: true } },
  );
  return floorDbClient;
}

/** Runs `n` POSTs, `CONCURRENCY` at a time, from the load-generator process. */
function postFromLoadGenerator(
  child: ChildProcess,
  stage: LocalStage,
  job: { n: number; label: string; groups: number; tagPrefix?: string },
): Promise<LoadResult> {
  return new Promise((resolve, reject) => {
    const onMessage = (msg: { type: string; message?: string } & Partial<LoadResult>) => {
      child.off('message', onMessage);
      if (msg.type === 'done') resolve(msg as LoadResult);
      else reject(new Error(`load generator: ${msg.message}`));
    };
    child.on('message', onMessage);
    child.send({
      type: 'run',
      apiUrl: stage.local.apiUrl,
      apiKey: stage.local.apiKey,
      concurrency: CONCURRENCY,
      ...job,
    });
  });
}

/**
 * The journal's records from now on, as they are recorded, and the ids of the messages that some
 * invocation of a function with a given prefix processed successfully. Read from the journal's
 * listener, not by scanning `journal.list()`: a run polls it every 50 ms, and a scan copies (and
 * sorts) up to the journal's 50,000 records each time, CPU of this process that grew with every
 * pass and was counted as the pipeline's (about 3 ms per message by the 9th pass of 2,000).
 */
function recordInvocations(local: LocalHandle) {
  const records: InvocationRecord[] = [];
  const succeeded = new Map<string, Set<string>>();
  const stop = local.journal.onRecord((inv) => {
    records.push(inv);
    for (const id of inv.messageIds) {
      if (inv.batchItemFailures.includes(id)) continue;
      let ids = succeeded.get(inv.function);
      if (!ids) succeeded.set(inv.function, (ids = new Set()));
      ids.add(id);
    }
  });
  return {
    records,
    stop,
    /** Whether every id was processed successfully by some function whose name starts with `prefix`. */
    allSucceeded(prefix: string, ids: readonly string[]): boolean {
      const sets = [...succeeded].filter(([fn]) => fn.startsWith(prefix)).map(([, set]) => set);
      return ids.every((id) => sets.some((set) => set.has(id)));
    },
  };
}

/** One POST per message through the API until every message was processed by the consumer. */
async function pipeline(stage: LocalStage, child: ChildProcess, label: string, fifo: boolean) {
  const journal = recordInvocations(stage.local);
  try {
    const dynamoMeter = await startDynamoMeter(stage);
    const {
      ms,
      latencies,
      ids,
      cpuMs: clientCpuMs,
    } = await postFromLoadGenerator(child, stage, {
      n: N,
      label,
      groups: fifo ? GROUPS : 0,
    });
    const ingest = { ms, latencies };
    const consumer = fifo ? 'FifoConsumer' : 'Consumer';
    await waitFor(`every ${label} message processed`, () => journal.allSucceeded(consumer, ids), 300_000, 50);
    const invocations = journal.records.filter((i) => i.function.startsWith(consumer));
    const producer = journal.records.filter((i) => i.messageIds.length === 0).map((i) => i.durationMs);
    // DynamoDB requests per message, counted at the emulator boundary (status rows + idempotency).
    const { cpuMs: dynamoCpu, ...dynamo } = await dynamoMeter(N);
    return { ingest, invocations, producer, clientCpuMs, dynamo, dynamoCpu };
  } finally {
    journal.stop();
  }
}

async function main() {
  let t = performance.now();
  if (!values['no-synth']) await synthesize('local', BENCH_CDK_OUT);
  const synthMs = performance.now() - t;
  t = performance.now();
  const stage = await startStage({
    cdkOut: BENCH_CDK_OUT,
    ...(values['function-concurrency']
      ? { functionConcurrency: Number(values['function-concurrency']) }
      : {}),
  });
  const startMs = performance.now() - t;
  console.error(`synth ${synthMs.toFixed(0)} ms, start to ready ${startMs.toFixed(0)} ms`);
  const child = fork(path.join(__dirname, 'load-generator.mjs'), [], { execArgv: [], stdio: 'inherit' });
  try {
    // Baseline: the emulator alone.
    const { QueueUrl } = await stage.sqs.send(new CreateQueueCommand({ QueueName: 'bench-baseline' }));
    let cpu = cpuMs();
    t = performance.now();
    for (let i = 0; i < N; i += 10) {
      await stage.sqs.send(
        new SendMessageBatchCommand({
          QueueUrl,
          Entries: Array.from({ length: Math.min(10, N - i) }, (_, j) => ({
            Id: String(j),
            MessageBody: `{"i":${i + j}}`,
          })),
        }),
      );
    }
    let got = 0;
    while (got < N) {
      const r = await stage.sqs.send(
        new ReceiveMessageCommand({ QueueUrl, MaxNumberOfMessages: 10, WaitTimeSeconds: 1 }),
      );
      const ms = r.Messages ?? [];
      got += ms.length;
      if (ms.length) {
        await stage.sqs.send(
          new DeleteMessageBatchCommand({
            QueueUrl,
            Entries: ms.map((m, j) => ({ Id: String(j), ReceiptHandle: m.ReceiptHandle! })),
          }),
        );
      }
    }
    const baselineMs = performance.now() - t;
    const baselineCpu = cpuMs() - cpu;
    cpu = cpuMs();

    // Direct SendMessage at the API's concurrency: the yardstick of the API p50.
    const direct = await closedLoop(N, CONCURRENCY, async (i) => {
      await stage.sqs.send(new SendMessageCommand({ QueueUrl, MessageBody: `{"direct":${i}}` }));
    });
    const directCpu = cpuMs() - cpu;
    await stage.sqs.send(new PurgeQueueCommand({ QueueUrl }));

    // Warm-up (cold starts of the producer's and consumers' sandboxes are not throughput).
    const warmJournal = recordInvocations(stage.local);
    const warm = await postFromLoadGenerator(child, stage, {
      n: CONCURRENCY * 2,
      label: 'standard',
      groups: 0,
      tagPrefix: 'warm',
    });
    const warmFifo = await postFromLoadGenerator(child, stage, {
      n: CONCURRENCY * 2,
      label: 'fifo',
      groups: CONCURRENCY * 2,
      tagPrefix: 'warm',
    });
    // The floor and the runs measure CPU: nothing of the warm-up may still be running then.
    await waitFor(
      'every warm-up message processed',
      () =>
        warmJournal.allSucceeded('Consumer', warm.ids) &&
        warmJournal.allSucceeded('FifoConsumer', warmFifo.ids),
      300_000,
      100,
    );
    warmJournal.stop();
    await settle(stage);

    // The floor: on a copy of the status table's key schema without a stream (the floor proper),
    // then on the stage's status table itself (its stream → the completion relay → the bus).
    const floorQueue = (await stage.sqs.send(new CreateQueueCommand({ QueueName: 'bench-floor' }))).QueueUrl!;
    const statusTable = stage.local.env.tables.StatusTable ?? Object.values(stage.local.env.tables)[0]!;
    const floorTable = 'bench-floor-status';
    await floorDb(stage).send(
      new CreateTableCommand({
        TableName: floorTable,
        KeySchema: [{ AttributeName: STATUS_TABLE_KEYS.partitionKey, KeyType: 'HASH' }],
        AttributeDefinitions: [{ AttributeName: STATUS_TABLE_KEYS.partitionKey, AttributeType: 'S' }],
        BillingMode: 'PAY_PER_REQUEST',
      }),
    );
    const here = inProcess(stage);
    await floor(stage, here, floorQueue, floorTable, CONCURRENCY * 2); // warm-up (connections, JIT)
    // The floor in sandboxes: as many as the pipeline's producer (local mode's default per
    // function) and standard consumer (its mapping's concurrency on stage local) may use.
    const sandboxed = await inSandboxes(stage, {
      producer: Number(values['function-concurrency'] ?? 10),
      consumer: STAGES.local.consumer?.maxConcurrency ?? 4,
    });
    // Its warm-up: as many messages as a pipeline pass, so that its sandboxes are as warm as the
    // pipeline's in its second pass (which is what the ratio compares).
    await floor(stage, sandboxed, floorQueue, floorTable, CONCURRENCY * 2 + N);
    // Two rounds, alternating, so that no variant gets the quieter part of the run.
    const floors: FloorResult[] = [];
    const floorsWithEvents: FloorResult[] = [];
    const floorsInSandboxes: FloorResult[] = [];
    for (let round = 0; round < 2; round++) {
      await settle(stage);
      floors.push(await floor(stage, here, floorQueue, floorTable, N));
      await settle(stage);
      floorsWithEvents.push(
        await floor(stage, here, floorQueue, statusTable, N, { before: stage.local.events().length }),
      );
      await settle(stage);
      floorsInSandboxes.push(await floor(stage, sandboxed, floorQueue, floorTable, N));
    }
    const sandboxesUsed = sandboxed.sandboxes();
    await sandboxed.stop();
    const floorRun = meanFloor(floors);
    const floorInSandboxes = meanFloor(floorsInSandboxes);
    const floorWithEvents = meanFloor(floorsWithEvents);
    await settle(stage);

    const runs: {
      label: string;
      pass: number;
      r: Awaited<ReturnType<typeof pipeline>> & {
        totalMs: number;
        cpuMs: number;
        rssMb: number;
        heapMb: number;
      };
    }[] = [];
    for (let pass = 1; pass <= PASSES; pass++) {
      for (const [label, fifo] of [
        ['standard', false],
        ['fifo', true],
      ] as const) {
        const c0 = cpuMs();
        const t0 = performance.now();
        const r = await pipeline(stage, child, label, fifo);
        const cpu = cpuMs() - c0;
        const totalMs = performance.now() - t0;
        await settle(stage);
        // Every isolate's heap is inside the process's RSS: one that grew pass after pass would show here.
        runs.push({
          label,
          pass,
          r: {
            ...r,
            totalMs,
            cpuMs: cpu,
            rssMb: process.memoryUsage().rss / 2 ** 20,
            heapMb: process.memoryUsage().heapUsed / 2 ** 20,
          },
        });
      }
    }

    const rate = (ms: number) => (N / (ms / 1000)).toFixed(0);
    const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / Math.max(1, xs.length);
    const directP50 = pct(direct.latencies, 50);
    console.log(
      `local-mode throughput, N=${N}, API concurrency ${CONCURRENCY}, FIFO groups ${GROUPS}, Node ${process.version}`,
    );
    console.log(`  synth                          ${(synthMs / 1000).toFixed(1)} s`);
    console.log(`  start to ready (no synth)      ${startMs.toFixed(0)} ms`);
    const perMsg = (ms: number) => (ms / N).toFixed(2);
    console.log(
      `  baseline: emulator alone       ${rate(baselineMs)} msg/s (send+receive+delete, ${baselineMs.toFixed(0)} ms; CPU ${perMsg(baselineCpu)} ms/msg)`,
    );
    console.log(
      `  direct SendMessage             ${rate(direct.ms)} msg/s, p50 ${directP50.toFixed(1)} ms (${CONCURRENCY} concurrent; CPU ${perMsg(directCpu)} ms/msg)`,
    );
    const dynamoPart = (ms: number | undefined) =>
      ms === undefined ? '' : `; DynamoDB emulator's own process ${ms.toFixed(2)} ms/msg, not counted`;
    console.log(
      `  floor (send + 1/10 receive + 1/10 delete + ${floorRun.writes.toFixed(0)} status writes)  CPU ${perMsg(floorRun.cpuMs * N)} ms/msg (${rate(floorRun.ms)} msg/s; ${floorRun.writes.toFixed(2)} writes + ${floorRun.reads.toFixed(2)} reads per message, a table without stream${dynamoPart(floorRun.dynamoCpuMs)})`,
    );
    console.log(
      `  floor on the stage's status table  CPU ${perMsg(floorWithEvents.cpuMs * N)} ms/msg (its stream → completion relay → bus: ${signed(floorWithEvents.cpuMs - floorRun.cpuMs, 2)} ms/msg${dynamoPart(floorWithEvents.dynamoCpuMs)})`,
    );
    console.log(
      `  floor in sandboxes (the same requests by bare functions in local mode's sandboxes: ${sandboxesUsed})  CPU ${perMsg(floorInSandboxes.cpuMs * N)} ms/msg (${rate(floorInSandboxes.ms)} msg/s; ${signed(floorInSandboxes.cpuMs - floorRun.cpuMs, 2)} ms/msg for the isolates and invocations, ${(floorInSandboxes.cpuMs / floorRun.cpuMs).toFixed(2)}× the floor${dynamoPart(floorInSandboxes.dynamoCpuMs)})`,
    );
    /** A run's CPU per message: local mode's process and the load generator's. */
    const cpuPerMessage = (r: (typeof runs)[number]['r']) => (r.cpuMs + r.clientCpuMs) / N;
    const floorRatio = (r: (typeof runs)[number]['r']) => cpuPerMessage(r) / floorRun.cpuMs;
    const sandboxedRatio = (r: (typeof runs)[number]['r']) => cpuPerMessage(r) / floorInSandboxes.cpuMs;
    for (const { label, pass, r } of runs) {
      const p50 = pct(r.ingest.latencies, 50);
      const sizes = r.invocations.map((i) => i.messageIds.length);
      console.log(
        `  ${label}, pass ${pass} of ${PASSES} (${pass === 1 ? 'sandboxes fresh from the warm-up' : `every sandbox served pass ${pass - 1}`}):`,
      );
      console.log(
        `    API ingest (202s)            ${rate(r.ingest.ms)} msg/s (${r.ingest.ms.toFixed(0)} ms)`,
      );
      console.log(`    end to end (POST → processed) ${rate(r.totalMs)} msg/s (${r.totalMs.toFixed(0)} ms)`);
      console.log(`    ratio end-to-end / baseline  ${(baselineMs / r.totalMs).toFixed(2)}`);
      console.log(
        `    API latency p50 / p95 / p99  ${p50.toFixed(1)} / ${pct(r.ingest.latencies, 95).toFixed(1)} / ${pct(r.ingest.latencies, 99).toFixed(1)} ms (${(p50 / directP50).toFixed(1)}× direct SendMessage p50)`,
      );
      console.log(
        `    producer handler p50         ${pct(r.producer, 50).toFixed(1)} ms of the POST's ${p50.toFixed(1)} (rest: waiting for a free sandbox, API server, hop)`,
      );
      console.log(
        `    CPU per message              ${perMsg(r.cpuMs)} ms in local mode's process + ${perMsg(r.clientCpuMs)} ms in the client → CPU-bound ceiling ${((CORES * 1000) / cpuPerMessage(r)).toFixed(0)} msg/s on ${CORES} cores`,
      );
      console.log(
        `    ratio to floor               ${floorRatio(r).toFixed(2)}× (${cpuPerMessage(r).toFixed(2)} / ${floorRun.cpuMs.toFixed(2)} ms/msg${dynamoPart(r.dynamoCpu)})`,
      );
      console.log(
        `    ratio to floor in sandboxes  ${sandboxedRatio(r).toFixed(2)}× (${cpuPerMessage(r).toFixed(2)} / ${floorInSandboxes.cpuMs.toFixed(2)} ms/msg)`,
      );
      console.log(
        `    DynamoDB per message         ${r.dynamo.writes.toFixed(2)} writes + ${r.dynamo.reads.toFixed(2)} reads (${r.dynamo.byOp})`,
      );
      console.log(
        `    memory after the run         ${r.rssMb.toFixed(0)} MB (RSS of local mode's process, every sandbox included; its main isolate's heap ${r.heapMb.toFixed(0)} MB)`,
      );
      console.log(
        `    consumer invocations         ${r.invocations.length} (mean batch ${mean(sizes).toFixed(1)}, mean duration ${mean(r.invocations.map((i) => i.durationMs)).toFixed(1)} ms)`,
      );
    }
    const ratios = (pass: number, of: typeof floorRatio) =>
      runs
        .filter((x) => x.pass === pass)
        .map((x) => `${x.label} ${of(x.r).toFixed(2)}×`)
        .join(', ');
    console.log(
      `  CPU per message against the floor: ${PASSES > 1 ? `warm (pass ${PASSES}) ${ratios(PASSES, floorRatio)}; ` : ''}first pass ${ratios(1, floorRatio)}`,
    );
    console.log(
      `  CPU per message against the floor in sandboxes: ${PASSES > 1 ? `warm (pass ${PASSES}) ${ratios(PASSES, sandboxedRatio)}; ` : ''}first pass ${ratios(1, sandboxedRatio)}`,
    );
  } finally {
    child.disconnect();
    await stage.stop();
  }
}

main().catch((error) => {
  console.error(`error: ${(error as Error).message}`);
  process.exit(1);
});
