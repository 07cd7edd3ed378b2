import { SQSClient } from '@aws-sdk/client-sqs';
import type { APIGatewayProxyEvent, APIGatewayProxyResult, Context } from 'aws-lambda';
import { defaultRegistry } from '../shared/jobs/registry';
import { createLogger, createMetrics } from '../shared/runtime';
import { createApi } from './api';
import { fromEnvironment } from './config';

const config = fromEnvironment(process.env);
const logger = createLogger('producer');

const api = createApi({
  registry: defaultRegistry,
  sqs: new SQSClient({}),
  queues: { standardUrl: config.standardQueueUrl, fifoUrl: config.fifoQueueUrl },
  maxBodyBytes: config.maxBodyBytes,
  allowedProbeModes: config.allowedProbeModes,
  logger,
  metrics: createMetrics('producer'),
});

/** API Gateway REST proxy handler for `/v1/messages` and `/v1/messages/batch`. */
export const handler = async (
  event: APIGatewayProxyEvent,
  context: Context,
): Promise<APIGatewayProxyResult> => {
  logger.addContext(context);
  logger.appendKeys({ requestId: event.requestContext?.requestId });
  try {
    return await api(event);
  } finally {
    logger.resetKeys();
  }
};
