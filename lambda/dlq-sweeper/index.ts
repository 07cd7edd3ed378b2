import { S3Client } from '@aws-sdk/client-s3';
import { SQSClient } from '@aws-sdk/client-sqs';
import type { Context } from 'aws-lambda';
import { S3ArchiveWriter } from '../shared/archive';
import { MetricUnit } from '@aws-lambda-powertools/metrics';
import { createLogger, createMetrics } from '../shared/runtime';
import { sweep, type SweepResult } from '../shared/sweeper';
import { fromEnvironment } from './config';

const config = fromEnvironment(process.env);
const logger = createLogger('dlq-sweeper');
const metrics = createMetrics('dlq-sweeper');
const sqs = new SQSClient({});
const archive = new S3ArchiveWriter(new S3Client({}), config.archiveBucket, { checkFirst: true });

/** Scheduled: archives DLQ messages that have no archive record yet. */
export const handler = async (_event: unknown, context: Context): Promise<SweepResult> => {
  logger.addContext(context);
  const result = await sweep(config.sweptQueues, {
    sqs,
    archive,
    logger,
    deadline: () => context.getRemainingTimeInMillis(),
  });
  logger.info('sweep finished', { ...result });
  metrics.addMetric('archived', MetricUnit.Count, result.archived);
  metrics.addMetric('archiveFailed', MetricUnit.Count, result.failed);
  metrics.publishStoredMetrics();
  return result;
};
