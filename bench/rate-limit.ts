/**
 * A lane's rate limit (issue 22, item 3): the downstream calls per second its consumers reach
 * against the configured limit, and what the bucket and the deferrals cost in requests.
 *
 * For each configuration (limit, burst, sandboxes) a standard queue holds a backlog larger than
 * the limit can drain in the run; the real consumer core (`createConsumer`, as the Lambda entry
 * point wires it: status store, run states, idempotency on the status rows, the lane's
 * `DynamoRateLimiter`) runs in the configuration's sandboxes (one consumer and one limiter each, as in
 * separate Lambda sandboxes) fed by local mode's own event source mapping (`SqsPoller`: batch
 * size 10, no batching window), against the embedded emulators (fauxqs for SQS, dynalite for
 * the status table) through the real AWS SDK. The job is a "downstream call" that notes its time.
 *
 * Two variants per configuration, in the same run: `defer` (the consumer before reservations:
 * every record without a token now is deferred, `rateLimitHoldMs: 0`) and `reserve` (the
 * default: a token due within a second is reserved and waited for in-process). Then a capacity
 * line without a limit: the harness's own throughput, so a figure below the limit is the
 * mechanism's, not the machine's.
 *
 * Printed per line: the limit, the calls per second observed over the steady-state window (after
 * `--warmup` seconds, to the end of the run: the burst and the ramp-up left out), their ratio to
 * the limit, the most admissions (their slots: when each token was due) and the most downstream
 * calls in any 1 s window (GCRA bounds the slots by `perSecond + burst - 1`; a call lags its slot
 * by the time its timer fires late: the harness's event-loop delay is printed too), DynamoDB
 * requests on the bucket row per admitted run, and per run the deferrals (each one `deferred`
 * status write), the visibility changes and the redeliveries they cost, and all the consumers'
 * DynamoDB requests. Asserts nothing.
 *
 *   npm run bench:rate-limit [-- --configs 10x1x2,10x1x6,50x1x6 --seconds 15 --warmup 3]
 *   (a config is perSecond x burst x sandboxes)
 */
import { Logger } from '@aws-lambda-powertools/logger';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { S3Client } from '@aws-sdk/client-s3';
import {
  CreateQueueCommand,
  GetQueueAttributesCommand,
  SendMessageBatchCommand,
  SQSClient,
} from '@aws-sdk/client-sqs';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import type { Context, SQSEvent } from 'aws-lambda';
import { randomUUID } from 'node:crypto';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import { z } from 'zod';
import { LOCAL_CREDENTIALS, startEmulator } from '../local/aws/emulator';
import { Journal } from '../local/control/journal';
import { createLocalLogger } from '../local/log';
import { SqsPoller } from '../local/triggers/poller';
import type { InvokeOutcome } from '../local/functions/host';
import { S3ArchiveWriter } from '../lambda/shared/archive';
import { createConsumer, RATE_LIMIT_HOLD_MS } from '../lambda/shared/consumer';
import { PowertoolsRecordIdempotency } from '../lambda/shared/consumer/idempotency';
import { DynamoRateLimiter, type RateLimit, type RateLimiter } from '../lambda/shared/consumer/rate-limit';
import { DynamoRunStates } from '../lambda/shared/consumer/run-state';
import { standardProcessing } from '../lambda/shared/consumer/standard-processor';
import { createEnvelope } from '../lambda/shared/envelope';
import { JobRegistry } from '../lambda/shared/jobs/registry';
import type { JobDefinition } from '../lambda/shared/jobs/types';
import { DynamoStatusStore } from '../lambda/shared/status/dynamodb-store';
import { SafeStatusStore } from '../lambda/shared/status/safe-store';
import type { StatusStore } from '../lambda/shared/status/types';
import { startStatusTable } from '../test/helpers/status-table';

const { values } = parseArgs({
  options: {
    configs: { type: 'string', default: '10x1x2,10x1x6,50x1x6' },
    seconds: { type: 'string', default: '15' },
    warmup: { type: 'string', default: '3' },
  },
});
const SECONDS = Number(values.seconds);
const WARMUP = Number(values.warmup);
if (!(SECONDS > 0) || !(WARMUP >= 0) || WARMUP >= SECONDS) {
  console.error('error: --seconds must be > 0 and --warmup in [0, seconds)');
  process.exit(2);
}
interface Config {
  readonly limit: RateLimit | null;
  readonly workers: number;
}
const CONFIGS: Config[] = values.configs.split(',').map((c) => {
  const [perSecond, burst, workers] = c.split('x').map(Number);
  if (
    !(perSecond! > 0) ||
    !Number.isInteger(burst) ||
    burst! < 1 ||
    !Number.isInteger(workers) ||
    workers! < 1
  ) {
    console.error(`error: --configs: "${c}" is not perSecond x burst x sandboxes (e.g. 10x1x6)`);
    process.exit(2);
  }
  return { limit: { perSecond: perSecond!, burst: burst! }, workers: workers! };
});

const REGION = 'us-east-1';
const LAMBDA_TIMEOUT_MS = 30_000;

/** Counts requests by operation; `bucket` those on a rate-limit row. */
class Counter {
  readonly ops = new Map<string, number>();
  bucket = 0;
  /** Reads among {@link bucket} (`GetItem`; the rest are conditional `UpdateItem`s). */
  bucketReads = 0;
  add(op: string) {
    this.ops.set(op, (this.ops.get(op) ?? 0) + 1);
  }
  get(op: string) {
    return this.ops.get(op) ?? 0;
  }
}

/** Counts every request a client sends (the middleware sees the command's input). */
function counted<C extends DynamoDBClient | SQSClient>(client: C, counter: Counter): C {
  (client.middlewareStack as DynamoDBClient['middlewareStack']).add(
    (next, context) => async (args) => {
      counter.add(String(context.commandName));
      if (JSON.stringify(args.input).includes('~rate#')) {
        counter.bucket++;
        if (/^Get/.test(String(context.commandName))) counter.bucketReads++;
      }
      return next(args);
    },
    { step: 'initialize', name: 'benchCount' },
  );
  return client;
}

/** A Lambda context whose remaining time counts down from the function's timeout. */
function contextOf(timeoutMs: number): Context {
  const deadline = Date.now() + timeoutMs;
  return {
    getRemainingTimeInMillis: () => Math.max(0, deadline - Date.now()),
    functionName: 'bench-consumer',
    awsRequestId: randomUUID(),
  } as unknown as Context;
}

interface Result {
  readonly label: string;
  readonly limit: RateLimit | null;
  readonly workers: number;
  readonly observed: number;
  /** The most calls in any 1 s window, and the most admission slots. */
  readonly maxIn1s: number;
  readonly slotsMaxIn1s: number;
  readonly runs: number;
  readonly bucketPerRun: number;
  readonly bucketReadsPerRun: number;
  readonly deferralsPerRun: number;
  readonly visibilityPerRun: number;
  readonly redeliveriesPerRun: number;
  readonly dynamoPerRun: number;
  /** The harness's event-loop delay, p99 and max, ms. */
  readonly loopP99Ms: number;
  readonly loopMaxMs: number;
}

/** The most of `times` within any window of `windowMs`. */
function mostInWindow(times: readonly number[], windowMs: number): number {
  const sorted = [...times].sort((a, b) => a - b);
  let most = 0;
  let start = 0;
  for (let end = 0; end < sorted.length; end++) {
    while (sorted[end]! - sorted[start]! >= windowMs) start++;
    most = Math.max(most, end - start + 1);
  }
  return most;
}

async function main() {
  const emulator = await startEmulator({ port: 0, region: REGION });
  const table = await startStatusTable();
  const bucketName = `bench-archive-${Date.now()}`;
  const { CreateBucketCommand } = await import('@aws-sdk/client-s3');
  await emulator.s3.send(new CreateBucketCommand({ Bucket: bucketName }));
  const logger = new Logger({ serviceName: 'bench-rate-limit', logLevel: 'ERROR' });
  const localLogger = createLocalLogger('silent');
  const producerStore = new DynamoStatusStore(table.db, { tableName: table.tableName, retentionDays: 1 });
  let runIndex = 0;

  async function run(config: Config, holdMs: number, label: string): Promise<Result> {
    const n = ++runIndex;
    const lane = `bench-${n}`;
    // Prepare: the queue and its DLQ (receives are spent by deferrals: a high maxReceiveCount,
    // as a lane's deferral.maxSteps sets it).
    const dlqUrl = (await emulator.sqs.send(new CreateQueueCommand({ QueueName: `${lane}-dlq` }))).QueueUrl!;
    const dlqArn = (
      await emulator.sqs.send(
        new GetQueueAttributesCommand({ QueueUrl: dlqUrl, AttributeNames: ['QueueArn'] }),
      )
    ).Attributes!.QueueArn!;
    const name = `${lane}-queue`;
    const url = (
      await emulator.sqs.send(
        new CreateQueueCommand({
          QueueName: name,
          Attributes: {
            VisibilityTimeout: String(LAMBDA_TIMEOUT_MS / 1000 + 5),
            RedrivePolicy: JSON.stringify({ deadLetterTargetArn: dlqArn, maxReceiveCount: 1000 }),
          },
        }),
      )
    ).QueueUrl!;
    const arn = (
      await emulator.sqs.send(new GetQueueAttributesCommand({ QueueUrl: url, AttributeNames: ['QueueArn'] }))
    ).Attributes!.QueueArn!;

    // The backlog: more than the limit drains in the run (the capacity line: a fixed 3,000).
    const backlog = config.limit ? Math.ceil(config.limit.perSecond * (SECONDS + 2) * 1.3) + 50 : 3000;
    for (let i = 0; i < backlog; i += 10) {
      const envelopes = Array.from({ length: Math.min(10, backlog - i) }, (_, j) =>
        createEnvelope({ type: 'bench.call', payload: { n: i + j }, correlationId: randomUUID() }),
      );
      const out = await emulator.sqs.send(
        new SendMessageBatchCommand({
          QueueUrl: url,
          Entries: envelopes.map((e, j) => ({ Id: String(j), MessageBody: JSON.stringify(e) })),
        }),
      );
      // The producer's `accepted` row of each (not counted: the consumer's requests are).
      await Promise.all(
        (out.Successful ?? []).map((s) => {
          const e = envelopes[Number(s.Id)]!;
          return producerStore.accepted({
            id: e.id,
            type: e.type,
            queue: 'standard',
            lane,
            messageId: s.MessageId!,
            acceptedAt: e.createdAt,
            correlationId: e.correlationId,
          });
        }),
      );
    }

    // The downstream: each call's time; and each admission's slot (when its token is due).
    const calls: number[] = [];
    const slots: number[] = [];
    const noteSlots = (limiter: RateLimiter): RateLimiter => ({
      async take(now, lookaheadMs) {
        const admission = await limiter.take(now, lookaheadMs);
        if (admission.admitted) slots.push(now.getTime() + admission.waitMs);
        return admission;
      },
    });
    const job: JobDefinition = {
      type: 'bench.call',
      description: 'a call to a rate-limited downstream',
      schema: z.object({ n: z.number() }),
      ordered: false,
      handle: async () => {
        calls.push(Date.now());
        return undefined;
      },
    };
    const registry = new JobRegistry([job]);
    const dynamo = new Counter();
    const sqs = new Counter();
    let deferredWrites = 0;
    let delivered = 0;
    const common = { region: REGION, credentials: LOCAL_CREDENTIALS };
    const db = DynamoDBDocumentClient.from(
      counted(new DynamoDBClient({ ...common, endpoint: table.dynamo.endpoint }), dynamo),
      { marshallOptions: { removeUndefinedValues: true } },
    );
    const consumerSqs = counted(
      new SQSClient({ ...common, endpoint: emulator.endpoint, useQueueUrlAsEndpoint: false }),
      sqs,
    );
    const s3 = new S3Client({ ...common, endpoint: emulator.endpoint, forcePathStyle: true });
    // One consumer per sandbox, wired as `lambda/shared/consumer-runtime.ts` does.
    const sandboxes = Array.from({ length: config.workers }, () => {
      const statusStore = new DynamoStatusStore(db, { tableName: table.tableName, retentionDays: 1 });
      const status = new SafeStatusStore(statusStore, logger);
      // The same store, noting each `deferred` write.
      const noting = new Proxy(status, {
        get(target, prop, receiver) {
          const value: unknown = Reflect.get(target, prop, receiver);
          if (prop !== 'deferred') return value;
          return (...args: Parameters<StatusStore['deferred']>) => {
            deferredWrites++;
            return target.deferred(...args);
          };
        },
      });
      return createConsumer({
        registry,
        sqs: consumerSqs,
        archive: new S3ArchiveWriter(s3, bucketName),
        logger,
        settings: {
          lane,
          queueUrl: url,
          dlqUrl,
          maxReceiveCount: 1000,
          maxAttempts: 3,
          backoff: { baseSeconds: 1, capSeconds: 4 },
          maxDeferralSeconds: 86_400,
        },
        processing: standardProcessing(),
        status: noting,
        runStates: new DynamoRunStates(db, table.tableName),
        ...(config.limit
          ? { rateLimiter: noteSlots(new DynamoRateLimiter(db, table.tableName, lane, config.limit)) }
          : {}),
        rateLimitHoldMs: holdMs,
        idempotency: new PowertoolsRecordIdempotency({
          db,
          tableName: table.tableName,
          windowSeconds: 3600,
          retentionDays: 1,
          store: statusStore,
        }),
      });
    });
    const free = [...sandboxes];
    const host = {
      async invoke(event: unknown): Promise<InvokeOutcome> {
        const sandbox = free.pop()!;
        const startedAt = new Date();
        const records = (event as SQSEvent).Records;
        delivered += records.length;
        try {
          const payload = await sandbox.processBatch({ Records: records }, contextOf(LAMBDA_TIMEOUT_MS));
          return {
            requestId: randomUUID(),
            startedAt,
            durationMs: Date.now() - startedAt.getTime(),
            ok: true,
            payload,
          };
        } catch (error) {
          return {
            requestId: randomUUID(),
            startedAt,
            durationMs: Date.now() - startedAt.getTime(),
            ok: false,
            error: { errorType: (error as Error).name, errorMessage: (error as Error).message, trace: [] },
          } as unknown as InvokeOutcome;
        } finally {
          free.push(sandbox);
        }
      },
    };
    const poller = new SqsPoller({
      mapping: {
        logicalId: `Mapping${n}`,
        functionId: `Consumer${n}`,
        queueId: 'Queue',
        batchSize: 10,
        maxBatchingWindowSeconds: 0,
        reportBatchItemFailures: true,
        enabled: true,
      },
      queue: { logicalId: 'Queue', name, url, arn, fifo: false },
      host: host as never,
      sqs: emulator.sqs,
      journal: new Journal(10_000),
      region: REGION,
      logger: localLogger,
      concurrency: config.workers,
    });

    // Act (the harness's event-loop delay measured meanwhile: a late timer is a late call)
    const loop = monitorEventLoopDelay({ resolution: 10 });
    loop.enable();
    const started = Date.now();
    poller.start();
    await new Promise((r) => setTimeout(r, SECONDS * 1000));
    const ended = Date.now();
    loop.disable();
    await poller.stop(LAMBDA_TIMEOUT_MS);

    // Assess: the steady-state window [started + warmup, ended).
    const from = started + WARMUP * 1000;
    const inWindow = calls.filter((t) => t >= from && t < ended).length;
    const observed = inWindow / ((ended - from) / 1000);
    const runs = calls.length;
    const per = (x: number) => (runs === 0 ? Number.NaN : x / runs);
    const visibility =
      sqs.get('ChangeMessageVisibilityCommand') + sqs.get('ChangeMessageVisibilityBatchCommand');
    const dynamoTotal = [...dynamo.ops.values()].reduce((a, b) => a + b, 0);
    return {
      label,
      limit: config.limit,
      workers: config.workers,
      observed,
      maxIn1s: mostInWindow(calls, 1000),
      slotsMaxIn1s: mostInWindow(slots, 1000),
      runs,
      bucketPerRun: per(dynamo.bucket),
      bucketReadsPerRun: per(dynamo.bucketReads),
      deferralsPerRun: per(deferredWrites),
      visibilityPerRun: per(visibility),
      // Deliveries that did not run (deferred): each comes back once more.
      redeliveriesPerRun: per(Math.max(0, delivered - runs)),
      dynamoPerRun: per(dynamoTotal),
      loopP99Ms: loop.percentile(99) / 1e6,
      loopMaxMs: loop.max / 1e6,
    };
  }

  const results: Result[] = [];
  try {
    for (const config of CONFIGS) {
      for (const [label, hold] of [
        ['defer', 0],
        ['reserve', RATE_LIMIT_HOLD_MS],
      ] as const) {
        const r = await run(config, hold, label);
        results.push(r);
        print(r);
      }
    }
    const capacity = await run(
      { limit: null, workers: Math.max(...CONFIGS.map((c) => c.workers)) },
      0,
      'no limit',
    );
    results.push(capacity);
    print(capacity);
  } finally {
    await emulator.stop();
    await table.stop();
  }
  console.log(
    `\n${SECONDS} s per line, steady state after ${WARMUP} s; DynamoDB counts are the consumers' requests ` +
      '(status rows, idempotency, run states, the bucket); a deferral is one `deferred` status write, one ' +
      'visibility change and one redelivery (a share of a ReceiveMessage: up to 10 records per receive).',
  );
}

const fmt = (x: number, d = 2) => (Number.isFinite(x) ? x.toFixed(d) : '-');
let header = false;
function print(r: Result) {
  if (!header) {
    console.log(
      [
        'variant'.padEnd(9),
        'limit/s'.padStart(7),
        'burst'.padStart(5),
        'sandboxes'.padStart(9),
        'observed/s'.padStart(10),
        'ratio'.padStart(6),
        'max in 1 s: slots'.padStart(17),
        'calls'.padStart(5),
        'runs'.padStart(5),
        'bucket req/run (reads)'.padStart(22),
        'deferrals/run'.padStart(13),
        'visibility chg/run'.padStart(18),
        'redeliveries/run'.padStart(16),
        'DynamoDB req/run'.padStart(16),
        'loop delay p99/max ms'.padStart(21),
      ].join(' '),
    );
    header = true;
  }
  console.log(
    [
      r.label.padEnd(9),
      (r.limit ? String(r.limit.perSecond) : '-').padStart(7),
      (r.limit ? String(r.limit.burst) : '-').padStart(5),
      String(r.workers).padStart(9),
      fmt(r.observed, 1).padStart(10),
      (r.limit ? fmt(r.observed / r.limit.perSecond, 3) : '-').padStart(6),
      (r.limit ? String(r.slotsMaxIn1s) : '-').padStart(17),
      String(r.maxIn1s).padStart(5),
      String(r.runs).padStart(5),
      `${fmt(r.bucketPerRun)} (${fmt(r.bucketReadsPerRun)})`.padStart(22),
      fmt(r.deferralsPerRun).padStart(13),
      fmt(r.visibilityPerRun).padStart(18),
      fmt(r.redeliveriesPerRun).padStart(16),
      fmt(r.dynamoPerRun).padStart(16),
      `${fmt(r.loopP99Ms, 0)}/${fmt(r.loopMaxMs, 0)}`.padStart(21),
    ].join(' '),
  );
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
