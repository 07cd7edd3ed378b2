import { processPartialResponse, SqsFifoPartialProcessorAsync } from '@aws-lambda-powertools/batch';
import type { BatchProcessing } from './processing';

/**
 * FIFO group skipping is decided here. Records run one by one in queue order
 * (`SqsFifoPartialProcessorAsync`); with `skipGroupOnError: true`, once a record fails, the later
 * records of the same message group are not run and are reported failed with it (they would
 * otherwise overtake it), while other groups go on. Powertools' `shouldSkipCurrentGroup()` applies it.
 */
export const SKIP_GROUP_ON_ERROR = true;

/** The FIFO consumer's processor (`lambda/fifo-consumer`). */
export function fifoProcessing(): BatchProcessing {
  const processor = new SqsFifoPartialProcessorAsync();
  return {
    fifo: true,
    process: (event, handler, context) =>
      processPartialResponse(event, handler, processor, {
        context,
        skipGroupOnError: SKIP_GROUP_ON_ERROR,
        throwOnFullBatchFailure: false,
      }),
  };
}
