import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startProbeWitness, type ProbeWitness } from '../../tools/probe-witness';
import { archiveRecords, attemptsOf, startStage, waitFor, type LocalStage } from '../../tools/local-stage';
import { consumerInvocations, drainView, probe } from '../helpers/local';

// Real bundles under local mode: a `crash` probe kills its sandbox's runtime (process.exit), a
// `timeout` probe outlives its deadline. The witness counts the handlers' real successes, also
// those inside invocations that crashed afterwards (the journal reports those as failed).
let stage: LocalStage;
let witness: ProbeWitness;
beforeAll(async () => {
  witness = startProbeWitness();
  stage = await startStage({ logs: 'json' });
});
afterAll(async () => {
  await stage?.stop();
  witness?.stop();
});

const SETTLE_MS = 150_000;
const TEST_MS = 240_000;

/**
 * How often a good message's handler may succeed: once, except a batch-mate that ran before the
 * poison in the poison's first, fresh batch (no record of it was a suspect then; nothing but an
 * idempotency record can stop that re-run without adding requests to every batch). Its handler
 * body completed before the runtime died; it runs once more, as a suspect, and only once.
 */
function allowedRuns(firstCrash: readonly string[], poison: string, id: string): number[] {
  const at = firstCrash.indexOf(id);
  return at >= 0 && at < firstCrash.indexOf(poison) ? [1, 2] : [1];
}

async function accept(messages: ReturnType<typeof probe>[]): Promise<string[]> {
  const res = await stage.post('/v1/messages/batch', { messages });
  expect(res.status, res.text).toBe(202);
  return (res.body.results as { messageId: string }[]).map((r) => r.messageId);
}

/** Original message ids of what a DLQ holds (without taking it away). */
async function inDlq(logicalId: string): Promise<Set<string>> {
  return new Set(
    (await drainView(stage.sqs, stage.queue(logicalId).url)).map(
      (m) => m.MessageAttributes?.['original-message-id']?.StringValue ?? m.MessageId!,
    ),
  );
}

/** Waits until the poison message is in its DLQ and every good one has succeeded. */
async function settled(dlq: string, poison: string, good: readonly string[]): Promise<void> {
  await waitFor('the poison message in its DLQ', async () => (await inDlq(dlq)).has(poison), SETTLE_MS, 1000);
  await waitFor(
    'the good ones processed',
    () => good.every((id) => attemptsOf(stage.local, id).succeeded > 0),
    SETTLE_MS,
    500,
  );
}

describe('crash isolation, standard queue', () => {
  it(
    'dead-letters the crashing record alone; its batch-mates are processed exactly once',
    async () => {
      // Prepare: one batch of ten, the fourth kills the runtime
      const messages = Array.from({ length: 10 }, (_, i) =>
        probe(i === 3 ? { mode: 'crash', tag: 'std-crash' } : { mode: 'succeed', tag: `std-good-${i}` }),
      );

      // Act
      const ids = await accept(messages);
      const [poison, good] = [ids[3]!, ids.filter((_, i) => i !== 3)];

      // Assess
      await settled('StandardDlq', poison, good);
      const crashes = consumerInvocations(stage.local, 'consumer').filter(
        (i) => i.error && i.messageIds.includes(poison),
      );
      expect(crashes.length).toBeGreaterThanOrEqual(2);
      for (const id of good) {
        expect(allowedRuns(crashes[0]!.messageIds, poison, id), `good ${id}`).toContain(witness.runs.get(id));
        expect(attemptsOf(stage.local, id).succeeded).toBe(1);
      }
      const dlq = await inDlq('StandardDlq');
      expect(good.filter((id) => dlq.has(id))).toEqual([]);
      // Its runs all crashed: no failure of its own was ever recorded, so it is archived as unknown.
      expect((await archiveRecords(stage.s3, stage.bucket())).get(poison)?.record.failure.kind).toBe(
        'unknown',
      );
    },
    TEST_MS,
  );

  it(
    'fails a record that hangs past its deadline alone, and its batch-mates succeed once',
    async () => {
      // Prepare
      const messages = Array.from({ length: 6 }, (_, i) =>
        probe(
          i === 0 ? { mode: 'timeout', tag: 'std-hang' } : { mode: 'succeed', tag: `std-hang-mate-${i}` },
        ),
      );

      // Act
      const ids = await accept(messages);
      const [hang, good] = [ids[0]!, ids.slice(1)];

      // Assess
      await waitFor(
        'the hanging one in its DLQ',
        async () => (await inDlq('StandardDlq')).has(hang),
        SETTLE_MS,
        1000,
      );
      for (const id of good) expect(witness.runs.get(id), `good ${id}`).toBe(1);
      expect((await archiveRecords(stage.s3, stage.bucket())).get(hang)?.record.failure.kind).toBe(
        'exhausted',
      );
    },
    TEST_MS,
  );
});

describe('crash isolation, FIFO queue', () => {
  it(
    'dead-letters a crashing record; its group goes on in order and the other group succeeds once',
    async () => {
      // Prepare: group A with a record that kills the runtime second, and group B in the same batch
      const messages = [
        probe({ mode: 'succeed', tag: 'fifo-crash-a1' }, { orderingKey: 'crash-A' }),
        probe({ mode: 'crash', tag: 'fifo-crash' }, { orderingKey: 'crash-A' }),
        probe({ mode: 'succeed', tag: 'fifo-crash-a3' }, { orderingKey: 'crash-A' }),
        probe({ mode: 'succeed', tag: 'fifo-crash-a4' }, { orderingKey: 'crash-A' }),
        probe({ mode: 'succeed', tag: 'fifo-crash-b1' }, { orderingKey: 'crash-B' }),
        probe({ mode: 'succeed', tag: 'fifo-crash-b2' }, { orderingKey: 'crash-B' }),
      ];

      // Act
      const ids = await accept(messages);
      const [poison, good] = [ids[1]!, ids.filter((_, i) => i !== 1)];

      // Assess
      await settled('FifoDlq', poison, good);
      for (const id of good) expect(witness.runs.get(id), `good ${id}`).toBe(1);
      const dlq = await inDlq('FifoDlq');
      expect(good.filter((id) => dlq.has(id))).toEqual([]);
      // Group A's successes in send order, across the crashes.
      const groupA = [ids[0]!, ids[2]!, ids[3]!];
      expect(witness.order.filter((id) => groupA.includes(id))).toEqual(groupA);
      expect((await archiveRecords(stage.s3, stage.bucket())).get(poison)?.record.failure.kind).toBe(
        'unknown',
      );
    },
    TEST_MS,
  );

  it(
    'fails a record that hangs past its deadline; the other groups of its batch succeed once',
    async () => {
      // Prepare
      const messages = [
        probe({ mode: 'timeout', tag: 'fifo-hang' }, { orderingKey: 'hang-D' }),
        ...[1, 2, 3].map((i) =>
          probe({ mode: 'succeed', tag: `fifo-hang-mate-${i}` }, { orderingKey: 'hang-E' }),
        ),
      ];

      // Act
      const ids = await accept(messages);
      const [hang, good] = [ids[0]!, ids.slice(1)];

      // Assess
      await settled('FifoDlq', hang, good);
      for (const id of good) expect(witness.runs.get(id), `good ${id}`).toBe(1);
      expect((await archiveRecords(stage.s3, stage.bucket())).get(hang)?.record.failure.kind).toBe(
        'exhausted',
      );
    },
    TEST_MS,
  );
});
