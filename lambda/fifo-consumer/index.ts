import { fromEnvironment } from '../consumer/config';
import { fifoProcessing } from '../shared/consumer/fifo-processor';
import { createConsumerHandler } from '../shared/consumer-runtime';

/**
 * FIFO consumer: records run one by one (`SqsFifoPartialProcessorAsync`); a failing record holds
 * back only the later records of its own message group (`skipGroupOnError`, decided in
 * `../shared/consumer/fifo-processor.ts`).
 */
export const handler = createConsumerHandler('fifo-consumer', fromEnvironment(process.env), fifoProcessing());
