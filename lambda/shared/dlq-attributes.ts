import type { MessageAttributeValue } from '@aws-sdk/client-sqs';
import type { SQSRecord } from 'aws-lambda';
import { queueNameFromArn } from './archive';

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

/** The attributes of a permanently failed record sent to its DLQ: its own plus {@link DLQ_ATTR}. */
export function deadLetterAttributes(
  record: SQSRecord,
  errorName: string,
): Record<string, MessageAttributeValue> {
  return {
    ...toSdkAttributes(record.messageAttributes),
    [DLQ_ATTR.failureKind]: str('permanent'),
    [DLQ_ATTR.errorName]: str(errorName),
    [DLQ_ATTR.originalMessageId]: str(record.messageId),
    [DLQ_ATTR.sourceQueue]: str(queueNameFromArn(record.eventSourceARN)),
  };
}
