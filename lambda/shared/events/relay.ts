import type { Logger } from '@aws-lambda-powertools/logger';
import { PutEventsCommand, type EventBridgeClient } from '@aws-sdk/client-eventbridge';
import { unmarshall } from '@aws-sdk/util-dynamodb';
import type { AttributeValue } from '@aws-sdk/client-dynamodb';
import type { DynamoDBBatchResponse, DynamoDBRecord, DynamoDBStreamEvent } from 'aws-lambda';
import { completionEventOf, type CompletionEntry } from './completion';

/** `PutEvents` takes at most 10 entries per call. */
const PUT_EVENTS_MAX_ENTRIES = 10;

/** What the relay needs. */
export interface RelayDeps {
  readonly events: EventBridgeClient;
  readonly busName: string;
  readonly logger: Logger;
}

/** The message of the relay's log line per published event (`ops events` filters on it). */
export const PUBLISHED_MESSAGE = 'completion event published';

/**
 * The fields of that line: ids, outcome and counters for `ops events`; never the result, the
 * tenant or the error message (logs carry no personal data).
 */
export function publishedLogFields(entry: CompletionEntry): Record<string, unknown> {
  const d = entry.detail;
  return {
    envelopeId: d.id,
    eventId: d.eventId,
    detailType: entry.DetailType,
    correlationId: d.correlationId,
    type: d.type,
    lane: d.lane,
    status: d.status,
    attempts: d.attempts,
    failureKind: d.failure?.kind ?? null,
  };
}

const imageOf = (image: unknown): Record<string, unknown> | undefined =>
  image ? unmarshall(image as Record<string, AttributeValue>) : undefined;

/**
 * The completion relay (`lambda/completion-relay`): the status table's stream, filtered by its
 * event source mapping to rows whose new status is terminal, becomes completion events on the
 * stage's bus (`./completion.ts`). Records are published in stream order, ten per `PutEvents`;
 * the first record whose event the bus did not take, and every later one, is reported failed
 * (`batchItemFailures` with its sequence number), so the mapping retries from there and nothing
 * after a failure is skipped. Records that are not terminal transitions publish nothing.
 */
export async function relayCompletions(
  event: DynamoDBStreamEvent,
  deps: RelayDeps,
): Promise<DynamoDBBatchResponse> {
  const pending: { record: DynamoDBRecord; entry: CompletionEntry }[] = [];
  for (const record of event.Records) {
    const entry = completionEventOf(imageOf(record.dynamodb?.OldImage), imageOf(record.dynamodb?.NewImage));
    if (entry) pending.push({ record, entry });
  }
  for (let i = 0; i < pending.length; i += PUT_EVENTS_MAX_ENTRIES) {
    const chunk = pending.slice(i, i + PUT_EVENTS_MAX_ENTRIES);
    let firstFailed = -1;
    try {
      const out = await deps.events.send(
        new PutEventsCommand({
          Entries: chunk.map(({ entry }) => ({
            EventBusName: deps.busName,
            Source: entry.Source,
            DetailType: entry.DetailType,
            Detail: entry.Detail,
            Resources: [],
          })),
        }),
      );
      if ((out.FailedEntryCount ?? 0) > 0) {
        firstFailed = (out.Entries ?? []).findIndex((e) => e.ErrorCode !== undefined);
        // Stryker disable next-line EqualityOperator: equivalent: `<= 0` also sets 0 when it is already 0
        if (firstFailed < 0) firstFailed = 0;
        const failed = out.Entries?.[firstFailed];
        deps.logger.warn('the bus refused completion events; retrying from the first', {
          failedEntryCount: out.FailedEntryCount,
          errorCode: failed?.ErrorCode,
          errorMessage: failed?.ErrorMessage,
        });
      }
    } catch (error) {
      deps.logger.warn('PutEvents failed; retrying the batch from this chunk', { error });
      firstFailed = 0;
    }
    if (firstFailed >= 0) {
      const from = chunk[firstFailed]!.record;
      return { batchItemFailures: [{ itemIdentifier: from.dynamodb?.SequenceNumber ?? '' }] };
    }
    for (const { entry } of chunk) deps.logger.info(PUBLISHED_MESSAGE, publishedLogFields(entry));
  }
  return { batchItemFailures: [] };
}
