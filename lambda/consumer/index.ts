import type { Context, SQSBatchResponse, SQSEvent } from 'aws-lambda';
import { createConsumerRuntime } from '../shared/consumer-handler';

const { logger, consumer } = createConsumerRuntime('consumer');

/** Standard-queue consumer: records run in parallel; only failed ones are reported for retry. */
export const handler = async (event: SQSEvent, context: Context): Promise<SQSBatchResponse> => {
  logger.addContext(context);
  return consumer.processBatch(event, context);
};
