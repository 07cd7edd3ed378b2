/**
 * The floor as functions (issue 20, item 4): two bare handlers that make exactly the floor's
 * requests (`floor-requests.ts`) and nothing else, no API event, validation, envelope parse,
 * idempotency wrapper, logging or metrics. `local-throughput.ts` bundles this file as the
 * functions are bundled and runs it in local mode's own sandboxes (`local/functions/host.ts`), as
 * many as the pipeline's producer and consumer use, so that what isolation itself costs (an
 * isolate per sandbox, each with its own SDK copy, JIT and heap, and an invocation round trip per
 * message or batch) is measured apart from what the functions' code costs.
 */
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { SQSClient } from '@aws-sdk/client-sqs';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { floorMaker, type FloorRecord } from './floor-requests';

// Created at init, as the functions create theirs: endpoints from the sandbox's environment.
const floor = floorMaker(
  new SQSClient({}),
  DynamoDBDocumentClient.from(new DynamoDBClient({}), { marshallOptions: { removeUndefinedValues: true } }),
);

/** One message's producer side: `{ queueUrl, table, tag }`. */
export async function producer(event: { queueUrl: string; table: string; tag: string }): Promise<void> {
  await floor.produce(event.queueUrl, event.table, event.tag);
}

/** One received batch's consumer side: `{ table, records }` (the poller deletes the batch). */
export async function consumer(event: { table: string; records: FloorRecord[] }): Promise<void> {
  await floor.consume(event.table, event.records);
}
