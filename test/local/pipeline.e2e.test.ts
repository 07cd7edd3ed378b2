import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { consumerInvocations, drainView, probe, waitForIdle } from '../helpers/local';
import { archiveRecords, attemptsOf, startStage, waitFor, type LocalStage } from '../../tools/local-stage';

// End-to-end through local mode: the real bundles, the embedded emulator, HTTP and the SDK only.
let stage: LocalStage;
beforeAll(async () => {
  stage = await startStage();
});
afterAll(async () => {
  await stage?.stop();
});

async function accepted(body: unknown, headers?: Record<string, string>): Promise<string> {
  const res = await stage.post('/v1/messages', body, headers);
  expect(res.status, res.text).toBe(202);
  return res.body.messageId as string;
}

const succeeded = (id: string) => () => attemptsOf(stage.local, id).succeeded > 0;

/** Body envelope ids of the messages in a DLQ. */
async function dlqEnvelopeIds(queue: string): Promise<Map<string, Record<string, string | undefined>>> {
  const messages = await drainView(stage.sqs, stage.queue(queue).url);
  return new Map(
    messages.map((m) => [
      (JSON.parse(m.Body!) as { id: string }).id,
      Object.fromEntries(Object.entries(m.MessageAttributes ?? {}).map(([k, v]) => [k, v.StringValue])),
    ]),
  );
}

describe('local pipeline, happy path', () => {
  it('processes one message of each shipped job type exactly once', async () => {
    // Act
    const ids = await Promise.all([
      accepted({
        type: 'email.send',
        payload: { to: 'ana@example.com', subject: 'Welcome', body: 'Hello Ana' },
      }),
      accepted({
        type: 'report.generate',
        payload: { reportId: 'r-1', format: 'csv', from: '2026-01-01', to: '2026-01-31' },
      }),
      accepted({
        type: 'activity.recorded',
        orderingKey: 'user-1',
        payload: { userId: 'user-1', action: 'login', seq: 1 },
      }),
      accepted(probe({ mode: 'succeed', tag: 'happy' })),
    ]);

    // Assess
    for (const id of ids) await waitFor(`success of ${id}`, succeeded(id));
    for (const id of ids)
      expect(attemptsOf(stage.local, id)).toEqual({ attempts: 1, succeeded: 1, failed: 0 });
    const fifo = consumerInvocations(stage.local, 'fifo').filter((i) => i.messageIds.includes(ids[2]!));
    expect(fifo).toHaveLength(1);
  });
});

describe('standard consumer, partial batch failure', () => {
  it('retries only the failed record, never its batch-mates', async () => {
    // Prepare: one batch of 10, the 5th fails once.
    const messages = Array.from({ length: 10 }, (_, i) =>
      probe({ mode: 'succeed', failTimes: i === 4 ? 1 : 0, tag: `partial-${i}` }),
    );

    // Act
    const res = await stage.post('/v1/messages/batch', { messages });

    // Assess
    expect(res.status).toBe(202);
    const ids = (res.body.results as { messageId: string }[]).map((r) => r.messageId);
    await waitFor('all ten processed', () => ids.every((id) => attemptsOf(stage.local, id).succeeded > 0));
    expect(attemptsOf(stage.local, ids[4]!)).toEqual({ attempts: 2, succeeded: 1, failed: 1 });
    for (const [i, id] of ids.entries()) {
      if (i !== 4)
        expect(attemptsOf(stage.local, id), `batch-mate ${i}`).toEqual({
          attempts: 1,
          succeeded: 1,
          failed: 0,
        });
    }
    const failing = consumerInvocations(stage.local, 'consumer').find((inv) =>
      inv.batchItemFailures.includes(ids[4]!),
    )!;
    expect(failing.batchItemFailures).toEqual([ids[4]]);
    expect(failing.error).toBeNull();
  });
});

describe('FIFO consumer', () => {
  it('keeps send order per key under a transient failure, and another group is not held back', async () => {
    // Prepare: key A's first message fails once; key B's messages never fail.
    const messages = [
      probe({ mode: 'succeed', failTimes: 1, tag: 'A1' }, { orderingKey: 'order-A' }),
      probe({ mode: 'succeed', tag: 'A2' }, { orderingKey: 'order-A' }),
      probe({ mode: 'succeed', tag: 'B1' }, { orderingKey: 'order-B' }),
      probe({ mode: 'succeed', tag: 'A3' }, { orderingKey: 'order-A' }),
      probe({ mode: 'succeed', tag: 'B2' }, { orderingKey: 'order-B' }),
    ];

    // Act
    const res = await stage.post('/v1/messages/batch', { messages });

    // Assess
    expect(res.status).toBe(202);
    const [a1, a2, b1, a3, b2] = (res.body.results as { messageId: string }[]).map((r) => r.messageId) as [
      string,
      string,
      string,
      string,
      string,
    ];
    await waitFor('all five processed', () =>
      [a1, a2, b1, a3, b2].every((id) => attemptsOf(stage.local, id).succeeded > 0),
    );
    const order: string[] = [];
    for (const inv of consumerInvocations(stage.local, 'fifo')) {
      for (const id of inv.messageIds)
        if (!inv.batchItemFailures.includes(id) && !order.includes(id)) order.push(id);
    }
    const pos = (id: string) => order.indexOf(id);
    expect(pos(a1)).toBeLessThan(pos(a2));
    expect(pos(a2)).toBeLessThan(pos(a3));
    expect(pos(b1)).toBeLessThan(pos(b2));
    expect(attemptsOf(stage.local, a1)).toMatchObject({ succeeded: 1, failed: 1 });
    expect(attemptsOf(stage.local, b1)).toEqual({ attempts: 1, succeeded: 1, failed: 0 });
    expect(attemptsOf(stage.local, b2)).toEqual({ attempts: 1, succeeded: 1, failed: 0 });
  });

  it('deduplicates a repeated Idempotency-Key: one message is processed', async () => {
    // Act
    const body = probe({ mode: 'succeed', tag: 'idempotent' }, { orderingKey: 'idem-1' });
    const first = await stage.post('/v1/messages', body, { 'Idempotency-Key': 'order-991-confirmation' });
    const second = await stage.post('/v1/messages', body, { 'Idempotency-Key': 'order-991-confirmation' });

    // Assess
    expect(first.status).toBe(202);
    expect(second.status).toBe(202);
    const ids = new Set<string>([first.body.messageId, second.body.messageId]);
    await waitFor('the first processed', succeeded(first.body.messageId));
    await waitForIdle(stage);
    const processed = consumerInvocations(stage.local, 'fifo').flatMap((i) =>
      i.messageIds.filter((id) => ids.has(id)),
    );
    expect(processed).toEqual([first.body.messageId]);
  });
});

describe('failures', () => {
  it('sends a permanent failure to the DLQ and the archive at once, without retrying it', async () => {
    // Act
    const id = await accepted(probe({ mode: 'fail-permanent', tag: 'permanent' }));

    // Assess
    const dlq = await waitFor('the message in the standard DLQ', async () => {
      const m = await drainView(stage.sqs, stage.queue('StandardDlq').url);
      return m.find((x) => x.MessageAttributes?.['original-message-id']?.StringValue === id);
    });
    expect(dlq.MessageAttributes?.['failure-kind']?.StringValue).toBe('permanent');
    expect(dlq.MessageAttributes?.['failure-error']?.StringValue).toBe('ProbePermanentError');
    const archived = (await archiveRecords(stage.s3, stage.bucket())).get(id);
    expect(archived?.record.failure).toMatchObject({ kind: 'permanent', errorName: 'ProbePermanentError' });
    expect(archived?.key).toMatch(
      new RegExp(`^failed/${stage.queue('StandardQueue').name}/\\d{4}/\\d{2}/\\d{2}/${id}\\.json$`),
    );
    expect(archived?.record.body).toBe(dlq.Body);
    // The DLQ copy and the record are written inside the invocation, which is journaled after it ends.
    await waitFor('its run in the journal', succeeded(id));
    expect(attemptsOf(stage.local, id)).toEqual({ attempts: 1, succeeded: 1, failed: 0 });
  });

  it('archives an exhausted message after its last run and sends it to the DLQ', async () => {
    // Act
    const id = await accepted(probe({ mode: 'fail-always', tag: 'exhausted' }));

    // Assess: maxAttempts is 3 on stage local. The final attempt writes a provisional record
    // (kind "unknown") before it runs and replaces it when it fails; the consumer then sends the
    // message to the DLQ, so the archive is read again once it is there.
    const provisional = await waitFor(
      'the archive record of the final attempt',
      async () => (await archiveRecords(stage.s3, stage.bucket())).get(id)?.record,
      45_000,
      500,
    );
    const envelopeId = (JSON.parse(provisional.body) as { id: string }).id;
    await waitFor(
      'the message in the DLQ',
      async () => (await dlqEnvelopeIds('StandardDlq')).has(envelopeId),
      45_000,
      500,
    );
    const record = (await archiveRecords(stage.s3, stage.bucket())).get(id)?.record;
    expect(record?.failure.kind).toBe('exhausted');
    expect(record?.receiveCount).toBe(3);
    // The last invocation acknowledged it (the consumer moved it), so the journal counts it done,
    // once that invocation has ended (the DLQ copy is sent inside it).
    await waitFor('its last run in the journal', succeeded(id));
    expect(attemptsOf(stage.local, id)).toEqual({ attempts: 3, succeeded: 1, failed: 2 });
  });

  it('redelivers the records of a crashed invocation', async () => {
    // Act
    const id = await accepted(probe({ mode: 'crash', tag: 'crash' }));

    // Assess
    const crashed = await waitFor('the crash', () =>
      consumerInvocations(stage.local, 'consumer').find((i) => i.messageIds.includes(id) && i.error !== null),
    );
    expect(crashed.batchItemFailures).toContain(id);
    await waitFor('a redelivery', () => attemptsOf(stage.local, id).attempts >= 2, 60_000, 500);
  });

  it('fails a record that outlives its deadline and redelivers it', async () => {
    // Act
    const id = await accepted(probe({ mode: 'timeout', tag: 'timeout' }));

    // Assess
    await waitFor('two attempts', () => attemptsOf(stage.local, id).attempts >= 2, 60_000, 500);
    expect(attemptsOf(stage.local, id).succeeded).toBe(0);
  });

  it('raises the DLQ depth alarm once a message is dead-lettered', async () => {
    // Prepare: a message of its own in the standard DLQ (a permanent failure goes there at once).
    const id = await accepted(probe({ mode: 'fail-permanent', tag: 'dlq-alarm' }));
    await waitFor('the message in the standard DLQ', async () =>
      (await drainView(stage.sqs, stage.queue('StandardDlq').url)).some(
        (m) => m.MessageAttributes?.['original-message-id']?.StringValue === id,
      ),
    );

    // Assess
    const dlqName = stage.queue('StandardDlq').name;
    const alarm = await waitFor('the DLQ alarm in ALARM', () =>
      stage.local
        .alarms()
        .find(
          (a) =>
            a.queue === dlqName && a.metric === 'ApproximateNumberOfMessagesVisible' && a.state === 'ALARM',
        ),
    );
    expect(alarm.threshold).toBe(1);
  });
});

describe('batch endpoint', () => {
  it('answers 207 with per-entry results and enqueues only the valid entries', async () => {
    // Act
    const res = await stage.post('/v1/messages/batch', {
      messages: [
        probe({ mode: 'succeed', tag: 'b-ok' }),
        { type: 'no.such.type', payload: {} },
        probe({ mode: 'succeed' }, { orderingKey: 'batch-k' }),
      ],
    });

    // Assess
    expect(res.status).toBe(207);
    const [ok, bad, fifo] = res.body.results;
    expect(ok).toMatchObject({ index: 0, queue: 'standard', messageId: expect.any(String) });
    expect(bad).toMatchObject({ index: 1, error: { code: 'UnknownType' } });
    expect(fifo).toMatchObject({ index: 2, queue: 'fifo', sequenceNumber: expect.any(String) });
    await waitFor('both processed', () =>
      [ok.messageId, fifo.messageId].every((id: string) => attemptsOf(stage.local, id).succeeded > 0),
    );
  });
});
