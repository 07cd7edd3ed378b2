import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { S3Client } from '@aws-sdk/client-s3';
import { SQSClient } from '@aws-sdk/client-sqs';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import type { Context } from 'aws-lambda';
import { S3ArchiveWriter } from '../shared/archive';
import { createLogger, createMetrics } from '../shared/runtime';
import { DynamoStatusStore } from '../shared/status/dynamodb-store';
import { SafeStatusStore } from '../shared/status/safe-store';
import { publishSweepMetrics, sweep, type SweepResult } from '../shared/sweeper';
import { fromEnvironment } from './config';

const config = fromEnvironment(process.env);
const logger = createLogger('dlq-sweeper');
const metrics = createMetrics('dlq-sweeper');
const sqs = new SQSClient({});
const archive = new S3ArchiveWriter(new S3Client({}), config.archiveBucket, { checkFirst: true });
const status = new SafeStatusStore(
  new DynamoStatusStore(DynamoDBDocumentClient.from(new DynamoDBClient({})), {
    tableName: config.statusTable,
    retentionDays: config.statusRetentionDays,
  }),
  logger,
  metrics,
);

/** Scheduled: archives DLQ messages that have no archive record yet. */
export const handler = async (_event: unknown, context: Context): Promise<SweepResult> => {
  logger.addContext(context);
  const result = await sweep(config.sweptQueues, {
    sqs,
    archive,
    logger,
    status,
    deadline: () => context.getRemainingTimeInMillis(),
  });
  logger.info('sweep finished', { ...result });
  publishSweepMetrics(metrics, result);
  return result;
};
