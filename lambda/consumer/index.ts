import { standardProcessing } from '../shared/consumer/standard-processor';
import { createConsumerHandler } from '../shared/consumer-runtime';
import { fromEnvironment } from './config';

/**
 * Standard-queue consumer: records run in parallel (`BatchProcessor`); only failed ones are
 * reported for retry (`../shared/consumer/standard-processor.ts`).
 */
export const handler = createConsumerHandler('consumer', fromEnvironment(process.env), standardProcessing());
