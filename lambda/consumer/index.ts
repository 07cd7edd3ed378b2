import type { Context, SQSBatchResponse, SQSEvent } from 'aws-lambda';
import { standardProcessing } from '../shared/consumer/standard-processor';
import { createConsumerRuntime } from '../shared/consumer-runtime';
import { fromEnvironment } from './config';

const { logger, consumer } = createConsumerRuntime(
  'consumer',
  fromEnvironment(process.env),
  standardProcessing(),
);

/** Standard-queue consumer: records run in parallel; only failed ones are reported for retry. */
export const handler = async (event: SQSEvent, context: Context): Promise<SQSBatchResponse> => {
  logger.addContext(context);
  return consumer.processBatch(event, context);
};
