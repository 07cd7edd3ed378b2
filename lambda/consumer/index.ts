import { BatchProcessor, EventType, processPartialResponse } from '@aws-lambda-powertools/batch';
import type { Context, SQSBatchResponse, SQSEvent } from 'aws-lambda';
import { createConsumerRuntime } from '../shared/consumer-handler';

const { logger, recordHandler, beforeBatch, afterBatch } = createConsumerRuntime('consumer');
const processor = new BatchProcessor(EventType.SQS);

/** Standard-queue consumer: records run in parallel; only failed ones are reported for retry. */
export const handler = async (event: SQSEvent, context: Context): Promise<SQSBatchResponse> => {
  logger.addContext(context);
  await beforeBatch(event);
  const response = await processPartialResponse(event, recordHandler, processor, {
    context,
    throwOnFullBatchFailure: false,
  });
  await afterBatch(response);
  return response;
};
