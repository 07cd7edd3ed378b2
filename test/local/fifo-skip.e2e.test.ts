import { SendMessageBatchCommand } from '@aws-sdk/client-sqs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { encodeMessage } from '../../lambda/shared/message-codec';
import { consumerInvocations } from '../helpers/local';
import { attemptsOf, startStage, waitFor, type LocalStage } from '../../tools/local-stage';

/*
 * The FIFO consumer's own skip path end to end (real bundle, patched emulator, local poller): a
 * batch holds several messages of one group (sent in one SendMessageBatch, encoded as the producer
 * encodes them: the producer itself sends one entry per group per call); when the second fails, Powertools'
 * SqsFifoPartialProcessor skips the third and fourth and reports all three failed; they come back
 * together, in their order.
 */
let stage: LocalStage;
beforeAll(async () => {
  stage = await startStage();
});
afterAll(async () => {
  await stage?.stop();
});

describe('FIFO consumer over several messages of one group', () => {
  it('delivers four messages of a group in one batch; a failure of the 2nd holds back the 3rd and 4th, which return in order', async () => {
    // Act
    const messages = [
      { mode: 'succeed', tag: 'G1' },
      { mode: 'succeed', failTimes: 1, tag: 'G2' },
      { mode: 'succeed', tag: 'G3' },
      { mode: 'succeed', tag: 'G4' },
    ].map((payload) =>
      encodeMessage(
        { type: 'probe', payload, orderingKey: 'skip-group' },
        { correlationId: 'fifo-skip', now: new Date() },
      ),
    );
    const out = await stage.sqs.send(
      new SendMessageBatchCommand({
        QueueUrl: stage.queue('FifoQueue').url,
        Entries: messages.map((m, i) => ({ Id: String(i), ...m.params })),
      }),
    );

    // Assess
    expect(out.Failed ?? []).toEqual([]);
    const byId = new Map(out.Successful!.map((s) => [s.Id, s.MessageId!]));
    const ids = messages.map((_, i) => byId.get(String(i))!);
    await waitFor(
      'all four processed',
      () => ids.every((id) => attemptsOf(stage.local, id).succeeded > 0),
      30_000,
    );
    const batches = consumerInvocations(stage.local, 'fifo').filter((i) =>
      i.messageIds.some((id) => ids.includes(id)),
    );
    expect(batches.map((b) => b.messageIds)).toEqual([ids, ids.slice(1)]);
    expect(batches[0]!.batchItemFailures).toEqual(ids.slice(1));
    expect(batches[1]!.batchItemFailures).toEqual([]);
    expect(batches[0]!.error).toBeNull();
  }, 40_000);
});
