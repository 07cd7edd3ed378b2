import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { SQSClient } from '@aws-sdk/client-sqs';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import type { APIGatewayProxyEvent, APIGatewayProxyResult, Context } from 'aws-lambda';
import { createLogger, createMetrics } from '../shared/runtime';
import { DynamoStatusStore } from '../shared/status/dynamodb-store';
import { SafeStatusStore } from '../shared/status/safe-store';
import { createApi } from './api';
import type { AppCatalog } from '../shared/consumer-runtime';
import { S3ResultObjects } from '../shared/result-objects';
import { lazyS3Client } from '../shared/s3';
import { compiledCatalog } from './catalog';
import { fromEnvironment } from './config';
import { DynamoIdempotencyKeys } from './idempotency-keys';

/**
 * The producer's Lambda handler over the app's job catalog. Its generated entry point
 * (`lib/bundling/entries.ts`) passes the catalog built at synth: each type's routing facts and
 * its payload validator, compiled from the type's JSON Schema (no job code is bundled).
 */
export function createProducerHandler(catalog: AppCatalog) {
  const config = fromEnvironment(process.env);
  const logger = createLogger('producer');
  const metrics = createMetrics('producer');
  const db = DynamoDBDocumentClient.from(new DynamoDBClient({}), {
    marshallOptions: { removeUndefinedValues: true },
  });

  const api = createApi({
    catalog: compiledCatalog(catalog.types, catalog.validators),
    sqs: new SQSClient({}),
    queues: {
      standardUrl: config.standardQueueUrl,
      fifoUrl: config.fifoQueueUrl,
      lanes: config.laneQueueUrls,
    },
    auth: { mode: config.authMode, apiKeyTenants: config.apiKeyTenants },
    maxBodyBytes: config.maxBodyBytes,
    allowedProbeModes: config.allowedProbeModes,
    probePolicy: config.probePolicy,
    ...(catalog.deferralCaps ? { maxNotBeforeSeconds: catalog.deferralCaps } : {}),
    logger,
    metrics,
    status: new SafeStatusStore(
      new DynamoStatusStore(db, { tableName: config.statusTable, retentionDays: config.statusRetentionDays }),
      logger,
      metrics,
    ),
    // Made on first use: only a large result's read needs S3 (../shared/s3.ts).
    results: new S3ResultObjects(lazyS3Client(), config.resultBucket),
    idempotencyKeys: new DynamoIdempotencyKeys(db, {
      tableName: config.statusTable,
      windowSeconds: config.idempotencyWindowSeconds,
    }),
  });

  /** API Gateway REST proxy handler for `/v1/messages`, `/v1/messages/batch` and `/v1/messages/{id}`. */
  return async (event: APIGatewayProxyEvent, context: Context): Promise<APIGatewayProxyResult> => {
    logger.addContext(context);
    logger.appendKeys({ requestId: event.requestContext?.requestId });
    try {
      return await api(event);
    } finally {
      logger.resetKeys();
    }
  };
}
