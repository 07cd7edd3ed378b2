import { processPartialResponse, SqsFifoPartialProcessorAsync } from '@aws-lambda-powertools/batch';
import type { Context, SQSBatchResponse, SQSEvent } from 'aws-lambda';
import { createConsumerRuntime } from '../shared/consumer-handler';

const { logger, recordHandler, beforeBatch, afterBatch } = createConsumerRuntime('fifo-consumer');
// The async variant of SqsFifoPartialProcessor: records run one by one, and after a failure the
// later records of the same message group are reported as failed without being run.
const processor = new SqsFifoPartialProcessorAsync();

/** FIFO consumer: a failing record holds back only the later records of its own group. */
export const handler = async (event: SQSEvent, context: Context): Promise<SQSBatchResponse> => {
  logger.addContext(context);
  await beforeBatch(event);
  const response = await processPartialResponse(event, recordHandler, processor, {
    context,
    skipGroupOnError: true,
    throwOnFullBatchFailure: false,
  });
  await afterBatch(response);
  return response;
};
