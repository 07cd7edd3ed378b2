/**
 * What the tests of local mode's SQS poller (`local/triggers/poller.ts`) share: a mapping spec, a
 * started poller (region `us-east-1`, silent logs), a function host that records the events it is invoked with, a successful invocation outcome, and
 * waiting for a condition.
 */
import type { SQSEvent } from 'aws-lambda';
import type { FunctionHost, InvokeOutcome } from '../../local/functions/host';
import { createLocalLogger } from '../../local/log';
import type { MappingSpec } from '../../local/template/topology';
import { SqsPoller, type SqsPollerOptions } from '../../local/triggers/poller';

/** A mapping of `Queue` to `Consumer`: batch size 10, no batching window, partial batch responses. */
export const mappingSpec = (over: Partial<MappingSpec> = {}): MappingSpec => ({
  logicalId: 'Mapping',
  functionId: 'Consumer',
  queueId: 'Queue',
  batchSize: 10,
  maxBatchingWindowSeconds: 0,
  reportBatchItemFailures: true,
  enabled: true,
  ...over,
});

/** A successful invocation that returned `payload`. */
export const ok = (payload: unknown): InvokeOutcome => ({
  requestId: 'r',
  startedAt: new Date(),
  durationMs: 1,
  ok: true,
  payload,
});

/** A function host that pushes each event onto `events` and answers with `respond`. */
export function recordingHost(events: SQSEvent[], respond: (event: SQSEvent) => InvokeOutcome): FunctionHost {
  return {
    invoke: async (event: SQSEvent) => {
      events.push(event);
      return respond(event);
    },
  } as unknown as FunctionHost;
}

/** Polls `check` every 20 ms until it holds; throws after `ms`. */
export async function until(check: () => boolean, ms: number): Promise<void> {
  const end = Date.now() + ms;
  while (!check()) {
    if (Date.now() > end) throw new Error('timed out');
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** Starts a poller in `us-east-1` with silent logs. */
export function startPoller(options: Omit<SqsPollerOptions, 'region' | 'logger'>): SqsPoller {
  const poller = new SqsPoller({ ...options, region: 'us-east-1', logger: createLocalLogger('silent') });
  poller.start();
  return poller;
}
