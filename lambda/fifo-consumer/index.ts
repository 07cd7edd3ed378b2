import type { Context, SQSBatchResponse, SQSEvent } from 'aws-lambda';
import { createConsumerRuntime } from '../shared/consumer-handler';

const { logger, consumer } = createConsumerRuntime('fifo-consumer');

/**
 * FIFO consumer: records run one by one (`SqsFifoPartialProcessorAsync`); a failing record holds
 * back only the later records of its own message group.
 */
export const handler = async (event: SQSEvent, context: Context): Promise<SQSBatchResponse> => {
  logger.addContext(context);
  return consumer.processBatch(event, context);
};
