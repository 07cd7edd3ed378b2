import { SendMessageCommand } from '@aws-sdk/client-sqs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createEnvelope } from '../../lambda/shared/envelope';
import { consumerInvocations, drainView, probe } from '../helpers/local';
import { FaultProxy } from '../../tools/fault-proxy';
import {
  archiveRecords,
  attemptsOf,
  depth,
  startStage,
  waitFor,
  type LocalStage,
} from '../../tools/local-stage';

// Infrastructure faults injected at the network boundary between the real bundles and the
// emulator; the handlers know nothing of it. (The fault run, with faults, crashes and timeouts
// at random, is fault.e2e.test.ts: a file of its own, so that the suite's longest file starts
// its run at once.)
let stage: LocalStage;
let proxy: FaultProxy;
beforeAll(async () => {
  stage = await startStage({
    frontEndpoint: async (emulator: string) => {
      proxy = new FaultProxy(emulator);
      return proxy.start(0);
    },
  });
});
afterAll(async () => {
  await stage?.stop();
  await proxy?.stop();
});

describe('SQS refusing sends', () => {
  it('answers 503 QueueUnavailable with Retry-After, enqueues nothing, and accepts the retry', async () => {
    // Prepare
    const stop = proxy.inject({ match: 'sqs:SendMessage*', kind: 'error', status: 503 });
    const body = probe({ mode: 'succeed', tag: 'refused' }, { orderingKey: 'refused-1' });

    // Act
    const single = await stage.post('/v1/messages', body, { 'Idempotency-Key': 'refused-1' });
    const batch = await stage.post('/v1/messages/batch', { messages: [probe({ mode: 'succeed' }), body] });
    stop();

    // Assess
    for (const res of [single, batch]) {
      expect(res.status, res.text).toBe(503);
      expect(res.body.error.code).toBe('QueueUnavailable');
      expect(res.headers.get('retry-after')).toBe('1');
    }
    expect(await depth(stage.sqs, stage.queue('StandardQueue').url)).toBe(0);
    expect(await depth(stage.sqs, stage.queue('FifoQueue').url)).toBe(0);
    const retry = await stage.post('/v1/messages', body, { 'Idempotency-Key': 'refused-1' });
    expect(retry.status).toBe(202);
    await waitFor(
      'the retried message processed',
      () => attemptsOf(stage.local, retry.body.messageId).succeeded > 0,
    );
  });

  it('retries a permanent failure whose DLQ send fails, and dead-letters it once SQS is back', async () => {
    // Prepare: SendMessage refused before the message exists. The message goes straight onto the
    // queue (the test's client talks to the emulator, not through the proxy), so only the
    // consumer's DLQ send meets the fault.
    const stop = proxy.inject({ match: 'sqs:SendMessage', kind: 'error', status: 503 });
    const envelope = createEnvelope({
      type: 'probe',
      payload: { mode: 'fail-permanent', tag: 'dlq-down' },
      correlationId: 'fault-e2e',
    });
    const sent = await stage.sqs.send(
      new SendMessageCommand({
        QueueUrl: stage.queue('StandardQueue').url,
        MessageBody: JSON.stringify(envelope),
      }),
    );
    const id = sent.MessageId!;

    // Act + Assess: reported failed while the DLQ is unreachable, and not in the DLQ meanwhile.
    await waitFor('a failed attempt', () => attemptsOf(stage.local, id).failed > 0);
    const inDlqMeanwhile = (await drainView(stage.sqs, stage.queue('StandardDlq').url)).some(
      (m) => m.MessageAttributes?.['original-message-id']?.StringValue === id,
    );
    stop();
    expect(inDlqMeanwhile).toBe(false);
    const dlq = await waitFor('the message in the DLQ', async () =>
      (await drainView(stage.sqs, stage.queue('StandardDlq').url)).find(
        (m) => m.MessageAttributes?.['original-message-id']?.StringValue === id,
      ),
    );
    expect(dlq.MessageAttributes?.['failure-kind']?.StringValue).toBe('permanent');
    expect((await archiveRecords(stage.s3, stage.bucket())).get(id)?.record.failure.kind).toBe('permanent');
  });
});

describe('S3 refusing writes', () => {
  it('keeps a failing message on its queue while the archive is down, and archives it afterwards', async () => {
    // Prepare
    const stop = proxy.inject({ match: 's3:PutObject', kind: 'error', status: 503 });
    const id = (await stage.post('/v1/messages', probe({ mode: 'fail-permanent', tag: 's3-down' }))).body
      .messageId as string;

    // Act: the first attempt cannot archive, so it must not be acknowledged.
    await waitFor('a failed attempt', () => attemptsOf(stage.local, id).failed > 0);
    const inDlqMeanwhile = (await drainView(stage.sqs, stage.queue('StandardDlq').url)).some(
      (m) => m.MessageAttributes?.['original-message-id']?.StringValue === id,
    );
    stop();

    // Assess
    expect(inDlqMeanwhile).toBe(false);
    const archived = await waitFor(
      'the archive record',
      async () => (await archiveRecords(stage.s3, stage.bucket())).get(id),
      30_000,
      500,
    );
    expect(archived.record.failure.kind).toBe('permanent');
    expect(consumerInvocations(stage.local, 'consumer').some((i) => i.batchItemFailures.includes(id))).toBe(
      true,
    );
  });
});
