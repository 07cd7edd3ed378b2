import fc from 'fast-check';
import type { SQSRecord } from 'aws-lambda';
import { beforeEach, describe, expect, it } from 'vitest';
import { backoffSeconds } from '../../lambda/shared/backoff';
import { DLQ_ATTR } from '../../lambda/shared/dlq-attributes';
import { FakeAws, s3Error, sqsError } from '../helpers/aws-fakes';
import { accountedMemo, consumer, failedIds, FIFO_SETTINGS, STANDARD_SETTINGS } from '../helpers/consumer';
import { recordingRegistry } from '../helpers/jobs';
import { fakeContext, jobRecord, probeRecord, type JobRecordOptions } from '../helpers/sqs-events';

const aws = new FakeAws();
beforeEach(() => aws.reset());

const MAX_RECEIVE = STANDARD_SETTINGS.maxReceiveCount;

/** How a record's job behaves on this delivery, and how it is expected to end. */
const KINDS = {
  succeed: ['probe-succeed', 'probe-recovered', 'email'],
  retryable: ['probe-fail-always', 'probe-transient'],
  permanent: ['probe-fail-permanent', 'not-json', 'unknown-type', 'bad-payload'],
  slow: ['probe-timeout', 'probe-sleep'],
} as const;
type Outcome = keyof typeof KINDS;
type Kind = (typeof KINDS)[Outcome][number];

interface Spec {
  readonly outcome: Outcome;
  readonly kind: Kind;
  readonly group: string;
  readonly receiveCount: number;
  readonly archiveFails: boolean;
  readonly dlqFails: boolean;
}

const outcomeArb: fc.Arbitrary<Outcome> = fc.oneof(
  { arbitrary: fc.constant('succeed' as const), weight: 4 },
  { arbitrary: fc.constant('retryable' as const), weight: 3 },
  { arbitrary: fc.constant('permanent' as const), weight: 3 },
  // Slow records cost their whole (tiny) deadline: keep them rarer so runs stay fast.
  { arbitrary: fc.constant('slow' as const), weight: 1 },
);
const specArb: fc.Arbitrary<Spec> = outcomeArb.chain((outcome) =>
  fc.record({
    outcome: fc.constant(outcome),
    kind: fc.constantFrom<Kind>(...KINDS[outcome]),
    group: fc.constantFrom('g1', 'g2', 'g3'),
    receiveCount: fc.integer({ min: 1, max: MAX_RECEIVE + 1 }),
    archiveFails: fc.boolean(),
    dlqFails: fc.boolean(),
  }),
);
const batchArb = fc.array(specArb, { minLength: 1, maxLength: 10 });
const randomArb = fc.double({ min: 0, max: 1, maxExcluded: true, noNaN: true });

function toRecord(spec: Spec, index: number, fifo: boolean): SQSRecord {
  const opts: Omit<JobRecordOptions, 'type' | 'payload'> = {
    messageId: `m${index}-${spec.kind}`,
    receiveCount: spec.receiveCount,
    ...(fifo ? { messageGroupId: spec.group } : {}),
  };
  const n = spec.receiveCount;
  switch (spec.kind) {
    case 'probe-succeed':
      return probeRecord({ mode: 'succeed' }, opts);
    case 'probe-recovered':
      return probeRecord({ mode: 'succeed', failTimes: n - 1 }, opts);
    case 'email':
      return jobRecord({
        ...opts,
        type: 'email.send',
        payload: { to: 'a@example.com', subject: 's', body: 'b' },
      });
    case 'probe-fail-always':
      return probeRecord({ mode: 'fail-always' }, opts);
    case 'probe-transient':
      return probeRecord({ mode: 'succeed', failTimes: n }, opts);
    case 'probe-fail-permanent':
      return probeRecord({ mode: 'fail-permanent' }, opts);
    case 'not-json': {
      const r = probeRecord({ mode: 'succeed' }, opts);
      return { ...r, body: r.body.slice(0, -1) };
    }
    case 'unknown-type':
      return jobRecord({ ...opts, type: 'no.such.type', payload: {} });
    case 'bad-payload':
      return jobRecord({ ...opts, type: 'email.send', payload: { to: 42 } });
    case 'probe-timeout':
      return probeRecord({ mode: 'timeout' }, opts);
    case 'probe-sleep':
      return probeRecord({ mode: 'sleep', sleepMs: 60_000 }, opts);
  }
}

/**
 * True when the consumer dead-letters the record itself on a retryable failure (final attempt:
 * without status rows every earlier receive counts as a run, so the `maxAttempts`-th receive).
 */
const exhaustedHere = (spec: Spec) =>
  spec.outcome !== 'succeed' && spec.outcome !== 'permanent' && spec.receiveCount >= MAX_RECEIVE;

/** Whether the record ends failed (reported for retry) when its handler runs. */
function failsWhenRun(spec: Spec): boolean {
  if (spec.outcome === 'succeed') return false;
  if (spec.outcome === 'permanent' || exhaustedHere(spec)) return spec.archiveFails || spec.dlqFails;
  return true;
}

interface Batch {
  readonly specs: readonly Spec[];
  readonly records: readonly SQSRecord[];
  readonly byId: ReadonlyMap<string, { spec: Spec; record: SQSRecord }>;
}

async function runBatch(specs: readonly Spec[], fifo: boolean, random: number) {
  aws.reset();
  const records = specs.map((s, i) => toRecord(s, i, fifo));
  const byId = new Map(records.map((r, i) => [r.messageId, { spec: specs[i]!, record: r }]));
  aws.failPut = (key) => {
    const id = key.slice(key.lastIndexOf('/') + 1, -'.json'.length);
    return byId.get(id)?.spec.archiveFails ? s3Error(500) : undefined;
  };
  aws.failSend = (input) => {
    const id = input.MessageAttributes?.[DLQ_ATTR.originalMessageId]?.StringValue ?? '';
    return byId.get(id)?.spec.dlqFails ? sqsError() : undefined;
  };
  const { registry, runs } = recordingRegistry();
  // 300 ms left, 250 ms kept for bookkeeping: each record gets 50 ms.
  const context = fakeContext({ remainingMs: 300, frozen: true });
  // The failure policy under arbitrary receive counts: earlier deliveries failed on their own
  // (crash isolation has its own tests, crash-isolation*.test.ts).
  const memo = accountedMemo(records);
  const response = await consumer({ fifo, registry, random: () => random, memo }).run(records, context);
  return { batch: { specs, records, byId } satisfies Batch, response, runs, failed: failedIds(response) };
}

const archivedId = (key: string | undefined) => key!.slice(key!.lastIndexOf('/') + 1, -'.json'.length);

/** Invariants that hold for both queue kinds. */
function assertBookkeeping(batch: Batch, failed: readonly string[], fifo: boolean, random: number) {
  const failedSet = new Set(failed);
  const successfulPuts = new Set(aws.archived().map((r) => r.messageId));

  // Permanent failures are archived before they are sent to the DLQ, and only then acknowledged.
  aws.log.forEach((call, i) => {
    if (call.op !== 'SendMessage') return;
    const id = call.input.MessageAttributes![DLQ_ATTR.originalMessageId]!.StringValue!;
    const putBefore = aws.log.slice(0, i).some((c) => c.op === 'PutObject' && archivedId(c.input.Key) === id);
    expect(putBefore, `archive write precedes the DLQ send of ${id}`).toBe(true);
    expect(batch.byId.get(id)!.spec.archiveFails, `no DLQ send for ${id} after a failed archive write`).toBe(
      false,
    );
    expect(call.input.QueueUrl).toBe(fifo ? FIFO_SETTINGS.dlqUrl : STANDARD_SETTINGS.dlqUrl);
  });

  for (const { spec, record } of batch.byId.values()) {
    const acknowledged = !failedSet.has(record.messageId);
    // Nothing is acknowledged unless it succeeded, or it is archived and dead-lettered.
    if (acknowledged && spec.outcome !== 'succeed') {
      if (!exhaustedHere(spec)) expect(spec.outcome, `${record.messageId} acknowledged`).toBe('permanent');
      expect(successfulPuts.has(record.messageId)).toBe(true);
      const sent = aws
        .sends()
        .filter((s) => s.MessageAttributes![DLQ_ATTR.originalMessageId]!.StringValue === record.messageId);
      expect(sent).toHaveLength(1);
      expect(sent[0]!.MessageBody).toBe(record.body);
    }
  }

  // Backoff: every visibility change of a retried record is within the bounds of its attempt;
  // the last attempt is archived as exhausted and released at once instead.
  for (const change of aws.visibilityChanges()) {
    const entry = [...batch.byId.values()].find((e) => e.record.receiptHandle === change.ReceiptHandle)!;
    expect(failedSet.has(entry.record.messageId)).toBe(true);
    const n = entry.spec.receiveCount;
    if (n >= MAX_RECEIVE) {
      expect(change.VisibilityTimeout).toBe(0);
      // Exhausted; or a permanent failure whose archive/DLQ step failed (then its provisional or
      // permanent record stands).
      const kind = aws.archived().find((r) => r.messageId === entry.record.messageId)?.failure.kind;
      if (entry.spec.outcome === 'permanent') expect(['permanent', 'unknown', undefined]).toContain(kind);
      else expect(kind).toBe('exhausted');
    } else {
      const d = Math.min(
        STANDARD_SETTINGS.backoff.capSeconds,
        STANDARD_SETTINGS.backoff.baseSeconds * 2 ** (n - 1),
      );
      expect(change.VisibilityTimeout).toBeGreaterThanOrEqual(Math.ceil(d / 2));
      expect(change.VisibilityTimeout).toBeLessThanOrEqual(d);
      expect(change.VisibilityTimeout).toBe(backoffSeconds(n, STANDARD_SETTINGS.backoff, () => random));
    }
  }
}

describe('consumer (properties)', () => {
  it('standard: batchItemFailures are exactly the records that did not succeed', async () => {
    await fc.assert(
      fc.asyncProperty(batchArb, randomArb, async (specs, random) => {
        // Act
        const { batch, failed } = await runBatch(specs, false, random);

        // Assess
        const expected = batch.records.filter((_, i) => failsWhenRun(specs[i]!)).map((r) => r.messageId);
        expect([...failed].sort()).toEqual([...expected].sort());
        expect(new Set(failed).size).toBe(failed.length);
        assertBookkeeping(batch, failed, false, random);
      }),
      { numRuns: 100 },
    );
  });

  it('FIFO: a failure holds back the rest of its group only, and nothing after it in the group succeeds', async () => {
    await fc.assert(
      fc.asyncProperty(batchArb, randomArb, async (specs, random) => {
        // Act
        const { batch, failed, runs } = await runBatch(specs, true, random);

        // Assess: the model of SqsFifoPartialProcessorAsync with skipGroupOnError
        const failedGroups = new Set<string>();
        const expectedFailed: string[] = [];
        const expectedRuns: string[] = [];
        const skipped: string[] = [];
        batch.records.forEach((r, i) => {
          const spec = specs[i]!;
          if (failedGroups.has(spec.group)) {
            expectedFailed.push(r.messageId);
            skipped.push(r.messageId);
            return;
          }
          if (!['not-json', 'unknown-type', 'bad-payload'].includes(spec.kind))
            expectedRuns.push(r.messageId);
          if (failsWhenRun(spec)) {
            failedGroups.add(spec.group);
            expectedFailed.push(r.messageId);
          }
        });
        expect(failed).toEqual(expectedFailed);
        // Per group, in order (a group holding a final attempt runs before the others: crash isolation).
        const groupOf = (id: string) => batch.byId.get(id)!.spec.group;
        const byGroup = (ids: readonly string[]) =>
          Object.fromEntries(['g1', 'g2', 'g3'].map((g) => [g, ids.filter((id) => groupOf(id) === g)]));
        expect(byGroup(runs)).toEqual(byGroup(expectedRuns));
        expect([...runs].sort()).toEqual([...expectedRuns].sort());

        // Never a success after an earlier failure of the same group.
        const failedSet = new Set(failed);
        const seenFailure = new Set<string>();
        for (const r of batch.records) {
          const group = r.attributes.MessageGroupId!;
          if (seenFailure.has(group))
            expect(failedSet.has(r.messageId), `${r.messageId} after a failure`).toBe(true);
          if (failedSet.has(r.messageId)) seenFailure.add(group);
        }

        // Records held back were not touched: no archive, DLQ or visibility call for them — but
        // for the provisional record every final-attempt record gets before the batch runs, which
        // a held-back record keeps (the skipped message may go to the DLQ with the batch).
        const isProvisional = (body: unknown) =>
          (JSON.parse(String(body)) as { failure: { errorName: string } }).failure.errorName ===
          'FinalAttemptInterrupted';
        const touched = new Set([
          ...aws
            .puts()
            .filter((p) => !isProvisional(p.Body))
            .map((p) => archivedId(p.Key)),
          ...aws.sends().map((s) => s.MessageAttributes![DLQ_ATTR.originalMessageId]!.StringValue!),
          ...aws
            .visibilityChanges()
            .map((c) => batch.records.find((r) => r.receiptHandle === c.ReceiptHandle)!.messageId),
        ]);
        for (const id of skipped) expect(touched.has(id), `${id} was held back`).toBe(false);
        for (const [i, r] of batch.records.entries()) {
          const spec = specs[i]!;
          if (!skipped.includes(r.messageId) || spec.receiveCount < MAX_RECEIVE || spec.archiveFails)
            continue;
          const kept = aws.archived().find((a) => a.messageId === r.messageId);
          expect(kept?.failure.errorName, `${r.messageId} keeps its provisional record`).toBe(
            'FinalAttemptInterrupted',
          );
        }

        for (const s of aws.sends()) {
          const id = s.MessageAttributes![DLQ_ATTR.originalMessageId]!.StringValue!;
          expect(s.MessageGroupId).toBe(batch.byId.get(id)!.record.attributes.MessageGroupId);
          expect(s.MessageDeduplicationId).toBe(id);
        }
        assertBookkeeping(batch, failed, true, random);
      }),
      { numRuns: 100 },
    );
  });
});
