import { SQSClient } from '@aws-sdk/client-sqs';
import type { APIGatewayProxyEvent, APIGatewayProxyResult, Context } from 'aws-lambda';
import { PROBE_MODES, type ProbeMode } from '../shared/jobs/probe';
import { defaultRegistry } from '../shared/jobs/registry';
import { createLogger, createMetrics, requireEnv, requireIntEnv } from '../shared/runtime';
import { createApi } from './api';

const logger = createLogger('producer');
const allowed = requireEnv('ALLOWED_PROBE_MODES')
  .split(',')
  .map((m) => m.trim())
  .filter((m): m is ProbeMode => (PROBE_MODES as readonly string[]).includes(m));

const api = createApi({
  registry: defaultRegistry,
  sqs: new SQSClient({}),
  queues: { standardUrl: requireEnv('STANDARD_QUEUE_URL'), fifoUrl: requireEnv('FIFO_QUEUE_URL') },
  maxBodyBytes: requireIntEnv('MAX_BODY_BYTES'),
  allowedProbeModes: allowed,
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
