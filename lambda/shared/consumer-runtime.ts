import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { S3Client } from '@aws-sdk/client-s3';
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
import { installFaultGuard } from './consumer/fault-guard';
import type { BatchProcessing } from './consumer/processing';
import type { JobRegistry } from './jobs/registry';
import { createLogger, createMetrics } from './runtime';
import { DynamoStatusStore } from './status/dynamodb-store';
import { SafeStatusStore } from './status/safe-store';

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
  const consumer = createConsumer({
    registry,
    sqs: new SQSClient({}),
    archive: new S3ArchiveWriter(new S3Client({}), config.archiveBucket),
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
    ...(config.rateLimit
      ? { rateLimiter: new DynamoRateLimiter(db, config.statusTable, config.lane, config.rateLimit) }
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
