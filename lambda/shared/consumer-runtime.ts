import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { SQSClient } from '@aws-sdk/client-sqs';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import type { Context, SQSBatchResponse, SQSEvent } from 'aws-lambda';
import type { ConsumerConfig } from '../consumer/config';
import { S3ArchiveWriter } from './archive';
import { createConsumer, type ConsumerSettings } from './consumer';
import { DynamoMarkerStore } from './consumer/culprit';
import { PowertoolsRecordIdempotency } from './consumer/idempotency';
import { DynamoRunStates } from './consumer/run-state';
import { DynamoRateLimiter } from './consumer/rate-limit';
import { DynamoQuota, rateThenQuota } from './consumer/quota';
import { installFaultGuard } from './consumer/fault-guard';
import type { BatchProcessing } from './consumer/processing';
import type { JobRegistry } from './jobs/registry';
import { createLogger, createMetrics } from './runtime';
import { DynamoStatusStore } from './status/dynamodb-store';
import { SafeStatusStore } from './status/safe-store';
import { compiledCatalog, type CatalogType, type CompiledValidator } from '../producer/catalog';
import { SqsChildEnqueuer } from './consumer/children';
import { S3ResultObjects } from './result-objects';
import { lazyS3Client } from './s3';

/** The app's job catalog as the generated entry points carry it (`lib/bundling/entries.ts`). */
export interface AppCatalog {
  readonly types: Readonly<Record<string, CatalogType>>;
  readonly validators: Readonly<Record<string, CompiledValidator>>;
  /** Each lane's deferral cap in seconds (the bound of `notBefore`). @default no bound */
  readonly deferralCaps?: Readonly<Record<string, number>>;
}

/** The consumer core's settings from a consumer's parsed configuration. */
export function consumerSettings(config: ConsumerConfig): ConsumerSettings {
  return {
    lane: config.lane,
    queueUrl: config.queueUrl,
    dlqUrl: config.dlqUrl,
    maxReceiveCount: config.maxReceiveCount,
    maxAttempts: config.maxAttempts,
    backoff: { baseSeconds: config.backoffBaseSeconds, capSeconds: config.backoffCapSeconds },
    maxDeferralSeconds: config.maxDeferralSeconds,
  };
}

/**
 * The Lambda handler of a consumer entry point. Module-scope wiring shared by both entry points
 * (clients, logger, metrics, and the consumer over the entry point's own processor), created once
 * per sandbox and reused across invocations.
 */
export function createConsumerHandler(
  serviceName: string,
  config: ConsumerConfig,
  processing: BatchProcessing,
  registry: JobRegistry,
  /** Every job type of the app (`ctx.enqueue`'s validation). @default `ctx.enqueue` throws */
  catalog?: AppCatalog,
) {
  const logger = createLogger(serviceName);
  logger.appendKeys({ lane: config.lane });
  const metrics = createMetrics(serviceName);
  const dynamodb = new DynamoDBClient({});
  const db = DynamoDBDocumentClient.from(dynamodb, { marshallOptions: { removeUndefinedValues: true } });
  // A job's unhandled rejection or timer error fails its record, not the runtime (`consumer/fault-guard.ts`).
  installFaultGuard((error) =>
    logger.error('a job raised an error after its record had finished; dropped', { error }),
  );
  const statusStore = new DynamoStatusStore(db, {
    tableName: config.statusTable,
    retentionDays: config.statusRetentionDays,
  });
  const sqs = new SQSClient({});
  // Made on first use: S3 serves only archive records and large results (./s3.ts).
  const s3 = lazyS3Client();
  const consumer = createConsumer({
    registry,
    sqs,
    archive: new S3ArchiveWriter(s3, config.archiveBucket),
    results: new S3ResultObjects(s3, config.resultBucket),
    ...(catalog
      ? {
          children: new SqsChildEnqueuer({
            catalog: compiledCatalog(catalog.types, catalog.validators),
            sqs,
            queues: {
              standardUrl: config.standardQueueUrl,
              fifoUrl: config.fifoQueueUrl,
              lanes: config.laneQueueUrls,
            },
            allowedProbeModes: config.allowedProbeModes,
            probePolicy: config.probePolicy,
            ...(catalog.deferralCaps ? { maxNotBeforeSeconds: catalog.deferralCaps } : {}),
            // Not wrapped: a child's row or the parent's list that cannot be written fails the
            // parent's run, whose retry enqueues the same ids again.
            status: statusStore,
          }),
        }
      : {}),
    logger,
    metrics,
    settings: consumerSettings(config),
    processing,
    status: new SafeStatusStore(statusStore, logger, metrics),
    // One BatchGetItem per invocation that holds redeliveries: their runs, for crash isolation and
    // the attempt budget; none for a batch of first deliveries (`consumer/run-state.ts`).
    runStates: new DynamoRunStates(db, config.statusTable),
    // Written around a suspect's lone run (FIFO; `consumer/culprit.ts`); read with the rows above.
    markers: new DynamoMarkerStore(db, config.statusTable),
    // The lane's rate limit: one bucket row on the status table shared by all its consumers.
    // With a quota per window: the rate first, then the window's counter row (`consumer/quota.ts`).
    ...(config.rateLimit
      ? {
          rateLimiter: config.rateLimit.quota
            ? rateThenQuota(
                new DynamoRateLimiter(db, config.statusTable, config.lane, config.rateLimit),
                new DynamoQuota(db, config.statusTable, config.lane, config.rateLimit.quota),
              )
            : new DynamoRateLimiter(db, config.statusTable, config.lane, config.rateLimit),
        }
      : {}),
    // Its records live on the status rows and carry the `processing`/`succeeded` transitions.
    idempotency: new PowertoolsRecordIdempotency({
      db,
      tableName: config.statusTable,
      windowSeconds: config.idempotencyWindowSeconds,
      retentionDays: config.statusRetentionDays,
      store: statusStore,
    }),
  });
  return async (event: SQSEvent, context: Context): Promise<SQSBatchResponse> => {
    logger.addContext(context);
    return consumer.processBatch(event, context);
  };
}
