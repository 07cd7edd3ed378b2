import type { MessageAttributeValue } from '@aws-sdk/client-sqs';
import type { SQSRecord } from 'aws-lambda';
import { queueNameFromArn, type FailureKind } from './archive';

/**
 * Attribute names the consumer adds to a message it moves to the DLQ itself; the DLQ sweeper
 * reads them back to archive the message with its cause.
 */
export const DLQ_ATTR = {
  failureKind: 'failure-kind',
  errorName: 'failure-error',
  originalMessageId: 'original-message-id',
  sourceQueue: 'source-queue',
} as const;

/** Converts Lambda's lower-camel message attributes to the SDK's form. */
export function toSdkAttributes(
  attrs: SQSRecord['messageAttributes'],
): Record<string, MessageAttributeValue> {
  const out: Record<string, MessageAttributeValue> = {};
  for (const [name, a] of Object.entries(attrs ?? {})) {
    if (a.stringValue !== undefined && a.stringValue !== null)
      out[name] = { DataType: a.dataType, StringValue: a.stringValue };
    else if (a.binaryValue !== undefined && a.binaryValue !== null)
      out[name] = { DataType: a.dataType, BinaryValue: Buffer.from(a.binaryValue, 'base64') };
  }
  return out;
}

const str = (v: string): MessageAttributeValue => ({ DataType: 'String', StringValue: v });

/** Longest `failure-error` value: keeps the added attributes inside `DLQ_ATTRIBUTE_RESERVE_BYTES`. */
export const MAX_ERROR_NAME_LENGTH = 256;

/**
 * The attributes of a record the consumer sends to its DLQ itself (a permanent failure; on a FIFO
 * queue also a record whose retries are exhausted, or a crash-isolation culprit, kind `unknown`):
 * its own plus {@link DLQ_ATTR} (the error name cut to
 * {@link MAX_ERROR_NAME_LENGTH}).
 */
export function deadLetterAttributes(
  record: SQSRecord,
  errorName: string,
  kind: FailureKind = 'permanent',
): Record<string, MessageAttributeValue> {
  return {
    ...toSdkAttributes(record.messageAttributes),
    [DLQ_ATTR.failureKind]: str(kind),
    [DLQ_ATTR.errorName]: str(errorName.slice(0, MAX_ERROR_NAME_LENGTH)),
    [DLQ_ATTR.originalMessageId]: str(record.messageId),
    [DLQ_ATTR.sourceQueue]: str(queueNameFromArn(record.eventSourceARN)),
  };
}
