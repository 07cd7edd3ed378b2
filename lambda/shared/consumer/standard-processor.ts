import { BatchProcessor, EventType, processPartialResponse } from '@aws-lambda-powertools/batch';
import type { BatchProcessing } from './processing';

/**
 * The standard consumer's processor (`lambda/consumer`): records run in parallel
 * (`BatchProcessor`); only the failed ones are reported for retry.
 */
export function standardProcessing(): BatchProcessing {
  const processor = new BatchProcessor(EventType.SQS);
  return {
    fifo: false,
    process: (event, handler, context) =>
      processPartialResponse(event, handler, processor, { context, throwOnFullBatchFailure: false }),
  };
}
