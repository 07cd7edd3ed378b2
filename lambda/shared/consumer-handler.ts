import { S3Client } from '@aws-sdk/client-s3';
import { SQSClient } from '@aws-sdk/client-sqs';
import { S3ArchiveWriter } from './archive';
import { createConsumer, type ConsumerSettings } from './consumer';
import { defaultRegistry } from './jobs/registry';
import { createLogger, createMetrics, requireEnv, requireIntEnv } from './runtime';

/** Reads a consumer's settings from the environment the stack gives it. */
export function consumerSettingsFromEnv(env: NodeJS.ProcessEnv = process.env): ConsumerSettings {
  return {
    queueUrl: requireEnv('QUEUE_URL', env),
    dlqUrl: requireEnv('DLQ_URL', env),
    fifo: requireEnv('QUEUE_KIND', env) === 'fifo',
    maxReceiveCount: requireIntEnv('MAX_RECEIVE_COUNT', env),
    backoff: {
      baseSeconds: requireIntEnv('BACKOFF_BASE_SECONDS', env),
      capSeconds: requireIntEnv('BACKOFF_CAP_SECONDS', env),
    },
  };
}

/** Module-scope wiring shared by both consumer entry points: clients, logger, metrics, consumer. */
export function createConsumerRuntime(serviceName: string) {
  const logger = createLogger(serviceName);
  const metrics = createMetrics(serviceName);
  const sqs = new SQSClient({});
  const archive = new S3ArchiveWriter(new S3Client({}), requireEnv('ARCHIVE_BUCKET'));
  const consumer = createConsumer({
    registry: defaultRegistry,
    sqs,
    archive,
    logger,
    metrics,
    settings: consumerSettingsFromEnv(),
  });
  return { logger, metrics, consumer };
}
