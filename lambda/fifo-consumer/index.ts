import type { Context, SQSBatchResponse, SQSEvent } from 'aws-lambda';
import { fromEnvironment } from '../consumer/config';
import { fifoProcessing } from '../shared/consumer/fifo-processor';
import { createConsumerRuntime } from '../shared/consumer-runtime';

const { logger, consumer } = createConsumerRuntime(
  'fifo-consumer',
  fromEnvironment(process.env),
  fifoProcessing(),
);

/**
 * FIFO consumer: records run one by one (`SqsFifoPartialProcessorAsync`); a failing record holds
 * back only the later records of its own message group (`../shared/consumer/fifo-processor.ts`).
 */
export const handler = async (event: SQSEvent, context: Context): Promise<SQSBatchResponse> => {
  logger.addContext(context);
  return consumer.processBatch(event, context);
};
