import type { SQSRecord } from 'aws-lambda';
import { EnvelopeV1 } from '../envelope-schema';
import type { StatusSubject } from '../status/types';

/**
 * The status subject of a record whose body is a v1 envelope (`undefined` otherwise: such a
 * record has no envelope id, and the consumer fails it as permanent without a status row), with
 * the envelope's tenant for log lines.
 */
export function subjectOf(
  record: Pick<SQSRecord, 'body' | 'messageId'>,
  fifo: boolean,
  lane?: string,
): StatusSubject | undefined {
  let parsed: unknown;
  try {
    parsed = JSON.parse(record.body);
  } catch {
    return undefined;
  }
  const r = EnvelopeV1.safeParse(parsed);
  if (!r.success) return undefined;
  return {
    id: r.data.id,
    type: r.data.type,
    queue: fifo ? 'fifo' : 'standard',
    ...(lane === undefined ? {} : { lane }),
    messageId: record.messageId,
    acceptedAt: r.data.createdAt,
    correlationId: r.data.correlationId,
    ...(r.data.parentId !== undefined ? { parentId: r.data.parentId } : {}),
    ...(r.data.tenant !== undefined ? { tenant: r.data.tenant } : {}),
  };
}
