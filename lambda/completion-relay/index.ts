import { EventBridgeClient } from '@aws-sdk/client-eventbridge';
import type { Context, DynamoDBBatchResponse, DynamoDBStreamEvent } from 'aws-lambda';
import { relayCompletions } from '../shared/events/relay';
import { createLogger } from '../shared/runtime';
import { fromEnvironment } from './config';

const config = fromEnvironment(process.env);
const logger = createLogger('completion-relay');
const events = new EventBridgeClient({});

/**
 * The status table's stream (terminal transitions only: the mapping's filter) → completion
 * events on the stage's bus (docs/DESIGN.md §3.6, `../shared/events/relay.ts`).
 */
export const handler = async (
  event: DynamoDBStreamEvent,
  context: Context,
): Promise<DynamoDBBatchResponse> => {
  logger.addContext(context);
  return relayCompletions(event, { events, busName: config.eventBusName, logger });
};
