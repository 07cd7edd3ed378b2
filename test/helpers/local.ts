/**
 * What only the local end-to-end tests need on top of `tools/local-stage.ts`: the journal by
 * consumer, a non-destructive view of a queue, waiting for the pipeline to be idle, and the probe
 * request body.
 */
import { ReceiveMessageCommand, type Message, type SQSClient } from '@aws-sdk/client-sqs';
import type { InvocationRecord, LocalHandle } from '../../local';
import { depth, isBusy, waitFor, type LocalStage } from '../../tools/local-stage';

/** A probe job request (docs/DESIGN.md §5): `payload` says what the consumer does with it. */
export const probe = (payload: Record<string, unknown>, extra: Record<string, unknown> = {}) => ({
  type: 'probe',
  payload,
  ...extra,
});

/** Invocations of the standard (`consumer`) or FIFO (`fifo`) consumer. */
export function consumerInvocations(local: LocalHandle, which: 'consumer' | 'fifo'): InvocationRecord[] {
  const prefix = which === 'fifo' ? 'FifoConsumer' : 'Consumer';
  return local.journal.list().filter((i) => i.function.startsWith(prefix));
}

/** Every message of a queue (received with a short visibility, so they come back). */
export async function drainView(sqs: SQSClient, url: string): Promise<Message[]> {
  const seen = new Map<string, Message>();
  for (let i = 0; i < 20; i++) {
    const out = await sqs.send(
      new ReceiveMessageCommand({
        QueueUrl: url,
        MaxNumberOfMessages: 10,
        VisibilityTimeout: 5,
        WaitTimeSeconds: 0,
        MessageSystemAttributeNames: ['All'],
        MessageAttributeNames: ['All'],
      }),
    );
    if (!out.Messages?.length) break;
    for (const m of out.Messages) seen.set(m.MessageId!, m);
  }
  return [...seen.values()];
}

/** What moves in the local stage: queue depths, invocations so far, and work in progress. */
async function activity(stage: LocalStage): Promise<{ snapshot: string; busy: boolean }> {
  const depths = await Promise.all(Object.values(stage.local.env.queues).map((q) => depth(stage.sqs, q.url)));
  const busy = await isBusy(stage.local);
  return { snapshot: JSON.stringify([depths, stage.local.journal.length]), busy };
}

/**
 * Waits until the pipeline is idle: no invocation or batch running, and the queue depths and the
 * journal unchanged over `quietPolls` consecutive polls. What a request enqueued is then in a
 * queue or in the journal, so "nothing happened" can be asserted without a fixed sleep.
 */
export async function waitForIdle(stage: LocalStage, quietPolls = 3, everyMs = 100): Promise<void> {
  let last = '';
  let quiet = 0;
  await waitFor(
    'the local pipeline to be idle',
    async () => {
      const { snapshot, busy } = await activity(stage);
      quiet = !busy && snapshot === last ? quiet + 1 : 0;
      last = snapshot;
      return quiet >= quietPolls;
    },
    30_000,
    everyMs,
  );
}
