import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { BatchGetCommand, DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { mockClient } from 'aws-sdk-client-mock';
import { z } from 'zod';
import { afterAll, beforeEach, describe, expect, it } from 'vitest';
import type { SQSRecord } from 'aws-lambda';
import { SandboxDeliveryMemo } from '../../lambda/shared/consumer/delivery-memo';
import { RUN_ATTRIBUTES } from '../../lambda/shared/consumer/idempotency';
import { RUN_LOG_ATTRIBUTE } from '../../lambda/shared/status/keys';
import {
  DynamoRunStates,
  failedOnItsOwn,
  runFactsOf,
  type RunFacts,
  type RunStates,
} from '../../lambda/shared/consumer/run-state';
import { defineJob, type JobDefinition } from '../../lambda/shared/jobs/types';
import { FakeAws } from '../helpers/aws-fakes';
import { consumer, failedIds, FIFO_SETTINGS, STANDARD_SETTINGS } from '../helpers/consumer';
import { recordingRegistry } from '../helpers/jobs';
import { jobRecord, probeRecord } from '../helpers/sqs-events';

const aws = new FakeAws();
beforeEach(() => aws.reset());

/** What the queue and the archive looked like when the stand-in for a crashing job started. */
interface AtCrash {
  deletes: (readonly string[])[];
  archiveKeys: string[];
}

/**
 * A job standing in for one that kills the runtime: it notes what had been done before it
 * started, then fails (a unit test cannot lose its process).
 */
function crashJob(seen: AtCrash[]): JobDefinition {
  return defineJob({
    type: 'test.crash',
    description: 'stands in for a runtime crash',
    schema: z.object({}),
    ordered: false,
    async handle() {
      seen.push({ deletes: aws.deletes().map((d) => [...d]), archiveKeys: [...aws.objects.keys()] });
      throw new Error('the runtime would have died here');
    },
  }) as unknown as JobDefinition;
}

const ok = (receiveCount = 1, group?: string) =>
  probeRecord({ mode: 'succeed' }, { receiveCount, ...(group ? { messageGroupId: group } : {}) });
const failing = (receiveCount = 1, group?: string) =>
  probeRecord({ mode: 'fail-always' }, { receiveCount, ...(group ? { messageGroupId: group } : {}) });
const crashing = (receiveCount: number, group?: string) =>
  jobRecord({ type: 'test.crash', payload: {}, receiveCount, ...(group ? { messageGroupId: group } : {}) });
const handles = (records: readonly SQSRecord[]) => records.map((r) => r.receiptHandle);

describe('standard consumer: crash isolation', () => {
  it('deletes the fresh successes, in batches of 10, before a suspect runs', async () => {
    // Prepare
    const seen: AtCrash[] = [];
    const { registry } = recordingRegistry([crashJob(seen)]);
    const fresh = Array.from({ length: 12 }, () => ok());
    const suspect = crashing(2);

    // Act
    const res = await consumer({ registry }).run([suspect, ...fresh]);

    // Assess
    expect(seen).toHaveLength(1);
    expect(seen[0]!.deletes.map((d) => d.length)).toEqual([10, 2]);
    expect(seen[0]!.deletes.flat().sort()).toEqual(handles(fresh).sort());
    expect(failedIds(res)).toEqual([suspect.messageId]);
  });

  it('runs one suspect and hands the others back with short, staggered delays', async () => {
    // Prepare: the batch-mates of a crash, back with receive count 2, and a fresh one
    const { registry, runs } = recordingRegistry();
    const [s1, s2, s3, f] = [ok(2), ok(2), ok(2), ok()];

    // Act
    const res = await consumer({ registry }).run([s1!, s2!, f!, s3!]);

    // Assess
    expect(runs).toEqual([f!.messageId, s1!.messageId]);
    expect(aws.visibilityChanges().map((v) => [v.ReceiptHandle, v.VisibilityTimeout])).toEqual([
      [s2!.receiptHandle, 2],
      [s3!.receiptHandle, 5],
    ]);
    expect(failedIds(res)).toEqual([s2!.messageId, s3!.messageId]);
    // The hand-backs happen before anything runs.
    expect(aws.indexOf((c) => c.op === 'ChangeMessageVisibility')).toBe(0);
  });

  it('adds no request to a batch of retries that failed on their own in this sandbox', async () => {
    // Prepare
    const memo = new SandboxDeliveryMemo();
    const c = consumer({ memo });
    const retried = failing(1);
    await c.run([retried, ok()]);
    aws.reset();

    // Act: the next delivery of the failed record, with a new batch-mate
    const again = { ...retried, attributes: { ...retried.attributes, ApproximateReceiveCount: '2' } };
    const res = await c.run([again, ok()]);

    // Assess: one ordinary run, its only request the retry's backoff
    expect(failedIds(res)).toEqual([retried.messageId]);
    expect(aws.log.map((l) => l.op)).toEqual(['ChangeMessageVisibility']);
  });

  it('keeps a handed-back suspect a suspect, and accounts for the suspect that ran and failed', async () => {
    // Prepare
    const memo = new SandboxDeliveryMemo();
    const [ran, handedBack] = [failing(2), ok(2)];

    // Act
    await consumer({ memo }).run([ran, handedBack]);

    // Assess
    expect(memo.accountedUpTo(ran.messageId)).toBe(2);
    expect(memo.accountedUpTo(handedBack.messageId)).toBeUndefined();
  });

  it('keeps the provisional record of a final-attempt suspect and drops those of early-deleted ones', async () => {
    // Prepare: maxReceiveCount 5; both on their final attempt, one of them known to be innocent
    const seen: AtCrash[] = [];
    const { registry } = recordingRegistry([crashJob(seen)]);
    const memo = new SandboxDeliveryMemo();
    const innocent = ok(5);
    memo.account(innocent.messageId, 4);
    const suspect = crashing(5);

    // Act
    const res = await consumer({ registry, memo }).run([suspect, innocent]);

    // Assess: when the suspect starts, only its own provisional record is left
    expect(seen[0]!.deletes).toEqual([[innocent.receiptHandle]]);
    expect(seen[0]!.archiveKeys).toHaveLength(1);
    expect(seen[0]!.archiveKeys[0]).toContain(suspect.messageId);
    // Its failure on the final attempt is exhausted: archived, sent to the DLQ by the consumer.
    expect(failedIds(res)).toEqual([]);
    expect(aws.sends().map((m) => m.MessageAttributes!['original-message-id']!.StringValue)).toEqual([
      suspect.messageId,
    ]);
  });

  it('reports the batch as before when an early delete fails', async () => {
    // Prepare
    aws.failDelete = () => new Error('SQS unavailable');
    const { registry, runs } = recordingRegistry();
    const [s, f] = [ok(2), ok()];

    // Act
    const res = await consumer({ registry }).run([s!, f!]);

    // Assess
    expect(runs).toEqual([f!.messageId, s!.messageId]);
    expect(failedIds(res)).toEqual([]);
  });
});

describe('FIFO consumer: crash isolation', () => {
  it('holds back the later records of a suspect group only; other groups flow first', async () => {
    // Prepare
    const { registry, runs } = recordingRegistry();
    const [a1, b1, a2, b2] = [failing(2, 'A'), ok(1, 'B'), ok(1, 'A'), ok(1, 'B')];

    // Act
    const res = await consumer({ fifo: true, registry }).run([a1!, b1!, a2!, b2!]);

    // Assess
    expect(runs).toEqual([b1!.messageId, b2!.messageId, a1!.messageId]);
    expect(aws.deletes()).toEqual([[b1!.receiptHandle, b2!.receiptHandle]]);
    expect(failedIds(res)).toEqual([a1!.messageId, a2!.messageId]);
  });

  it('never runs a suspect after an earlier record of its group failed', async () => {
    // Prepare: a1 failed on its own before; a2 was its batch-mate in a crashed batch
    const memo = new SandboxDeliveryMemo();
    const { registry, runs } = recordingRegistry();
    const [a1, a2, b1] = [failing(2, 'A'), ok(2, 'A'), ok(1, 'B')];
    memo.account(a1!.messageId, 1);

    // Act
    const res = await consumer({ fifo: true, registry, memo }).run([a1!, a2!, b1!]);

    // Assess
    expect(runs).toEqual([a1!.messageId, b1!.messageId]);
    expect(failedIds(res)).toEqual([a1!.messageId, a2!.messageId]);
  });

  it('runs the final-attempt suspects of several groups one after another, deleting between them', async () => {
    // Prepare: stage dev's maxReceiveCount is 5
    const seen: AtCrash[] = [];
    const { registry, runs } = recordingRegistry([crashJob(seen)]);
    const max = FIFO_SETTINGS.maxReceiveCount;
    const [a1, c1] = [ok(max, 'A'), crashing(max, 'C')];

    // Act
    const res = await consumer({ fifo: true, registry }).run([a1!, c1!]);

    // Assess: a1 ran first and was deleted before the crash stand-in started; the stand-in's
    // failure on its final attempt is dead-lettered by the consumer (FIFO)
    expect(runs).toEqual([a1!.messageId, c1!.messageId]);
    expect(seen[0]!.deletes).toEqual([[a1!.receiptHandle]]);
    expect(failedIds(res)).toEqual([]);
    expect(aws.sends().map((s) => s.MessageDeduplicationId)).toEqual([c1!.messageId]);
  });

  it('stops a group at its first failure: a later final-attempt segment does not overtake it', async () => {
    // Prepare
    const { registry, runs } = recordingRegistry();
    const max = FIFO_SETTINGS.maxReceiveCount;
    // (a1 is not on its final attempt, so its failure is retried and holds the group back)
    const [a1, a2] = [failing(max - 1, 'A'), ok(max, 'A')];

    // Act
    const res = await consumer({ fifo: true, registry }).run([a1!, a2!]);

    // Assess
    expect(runs).toEqual([a1!.messageId]);
    expect(failedIds(res)).toEqual([a1!.messageId, a2!.messageId]);
  });
});

describe('crash isolation: what the status rows say', () => {
  const envelopeIdOf = (r: SQSRecord) => (JSON.parse(r.body) as { id: string }).id;
  /** The facts of a record that failed on its own on every earlier delivery. */
  const ownFailure = (r: SQSRecord): RunFacts => ({
    runs: Number(r.attributes.ApproximateReceiveCount) - 1,
    status: 'retrying',
    runInProgress: false,
    failure: undefined,
  });
  /** Rows in memory: the facts given per record (by default: failed on its own); `fail`: reads fail. */
  const rows = (
    failedOnTheirOwn: SQSRecord[],
    opts: { fail?: boolean; facts?: Map<SQSRecord, RunFacts> } = {},
  ) => {
    const reads: string[][] = [];
    const known = new Map([
      ...failedOnTheirOwn.map((r) => [r, ownFailure(r)] as const),
      ...(opts.facts ?? new Map<SQSRecord, RunFacts>()),
    ]);
    const states: RunStates = {
      async read(redeliveries) {
        reads.push(redeliveries.map((r) => r.id));
        const out = new Map<string, RunFacts>();
        if (opts.fail) return out;
        for (const [r, f] of known)
          if (redeliveries.some((x) => x.messageId === r.messageId)) out.set(r.messageId, f);
        return out;
      },
    };
    return { states, reads };
  };

  it('runs a retry from another sandbox with the fresh records when its row shows it failed on its own', async () => {
    // Prepare: s1, s2 failed on their own in another sandbox (no memo entry here)
    const { registry, runs } = recordingRegistry();
    const [s1, s2, f] = [ok(2), ok(2), ok()];
    const { states, reads } = rows([s1!, s2!]);

    // Act
    const res = await consumer({ registry, runStates: states }).run([s1!, s2!, f!]);

    // Assess: one read for both, nothing handed back, no early delete
    expect(reads).toEqual([[envelopeIdOf(s1!), envelopeIdOf(s2!)]]);
    expect(runs.sort()).toEqual([s1!, s2!, f!].map((r) => r.messageId).sort());
    expect(failedIds(res)).toEqual([]);
    expect(aws.visibilityChanges()).toEqual([]);
    expect(aws.deletes()).toEqual([]);
  });

  it('keeps a record whose row does not show a failure of its own a suspect', async () => {
    // Prepare: `crashed` was running or never ran in a crashed batch; `retried` failed on its own
    const { registry, runs } = recordingRegistry();
    const [crashed, retried, f] = [ok(2), ok(2), ok()];
    const { states } = rows([retried!]);

    // Act
    await consumer({ registry, runStates: states }).run([crashed!, retried!, f!]);

    // Assess: the fresh ones (f, and `retried`) first, deleted early; then the suspect alone
    expect(runs).toEqual([retried!.messageId, f!.messageId, crashed!.messageId]);
    expect(aws.deletes()).toEqual([[retried!.receiptHandle, f!.receiptHandle]]);
  });

  it('falls back to the memo alone when the rows cannot be read', async () => {
    // Prepare
    const { registry, runs } = recordingRegistry();
    const [s1, s2, f] = [ok(2), ok(2), ok()];
    const { states } = rows([s1!, s2!], { fail: true });

    // Act
    const res = await consumer({ registry, runStates: states }).run([s1!, s2!, f!]);

    // Assess: as without rows: f, then s1 alone; s2 handed back
    expect(runs).toEqual([f!.messageId, s1!.messageId]);
    expect(failedIds(res)).toEqual([s2!.messageId]);
  });

  it('reads nothing for a batch of first deliveries', async () => {
    const { registry } = recordingRegistry();
    const { states, reads } = rows([]);
    await consumer({ registry, runStates: states }).run([ok(), ok()]);
    expect(reads).toEqual([]);
  });

  /** Stage local's policy: 3 runs, the redrive policy at 30 receives. */
  const BUDGET = { maxAttempts: 3, maxReceiveCount: 30 };
  const budgeted = (fifo = false) => ({ ...(fifo ? FIFO_SETTINGS : STANDARD_SETTINGS), ...BUDGET });
  const facts = (runs: number, more: Partial<RunFacts> = {}): RunFacts => ({
    runs,
    status: 'processing',
    runInProgress: true,
    failure: undefined,
    ...more,
  });
  const sentIds = () => aws.sends().map((m) => m.MessageAttributes!['original-message-id']!.StringValue);

  it('gives up a record whose runs are used up without running it: archive (unknown), DLQ, acknowledged', async () => {
    // Prepare: its 3 runs all crashed (the last left its run in progress); a fresh batch-mate
    const { registry, runs } = recordingRegistry();
    const [usedUp, fresh] = [ok(5), ok()];
    const { states } = rows([], { facts: new Map([[usedUp!, facts(3)]]) });

    // Act
    const res = await consumer({ registry, runStates: states, settings: budgeted() }).run([usedUp!, fresh!]);

    // Assess
    expect(runs).toEqual([fresh!.messageId]);
    expect(failedIds(res)).toEqual([]);
    expect(aws.archived().map((r) => [r.messageId, r.failure.kind, r.failure.errorName])).toEqual([
      [usedUp!.messageId, 'unknown', 'AttemptsUsedUp'],
    ]);
    expect(sentIds()).toEqual([usedUp!.messageId]);
  });

  it('FIFO: gives up a used-up head so the records of its group behind it run in the same batch', async () => {
    // Prepare
    const { registry, runs } = recordingRegistry();
    const [head, a2, a3] = [ok(4, 'A'), ok(1, 'A'), ok(1, 'A')];
    const { states } = rows([], { facts: new Map([[head!, facts(3)]]) });

    // Act
    const res = await consumer({ fifo: true, registry, runStates: states, settings: budgeted(true) }).run([
      head!,
      a2!,
      a3!,
    ]);

    // Assess
    expect(runs).toEqual([a2!.messageId, a3!.messageId]);
    expect(failedIds(res)).toEqual([]);
    expect(aws.sends().map((m) => m.MessageDeduplicationId)).toEqual([head!.messageId]);
  });

  it('counts runs, not receives: a record handed back often is retried with backoff, not exhausted', async () => {
    // Prepare: 6th receive, but it ran once (the other receives were hand-backs)
    const { registry, runs } = recordingRegistry();
    const record = failing(6);
    const { states } = rows([], {
      facts: new Map([[record, facts(1, { status: 'retrying', runInProgress: false })]]),
    });

    // Act
    const res = await consumer({ registry, runStates: states, settings: budgeted(), random: () => 0 }).run([
      record,
    ]);

    // Assess: it ran (alone: still a suspect), failed, and backs off as a 2nd attempt (10 s · 2 → 10–20)
    expect(runs).toEqual([record.messageId]);
    expect(failedIds(res)).toEqual([record.messageId]);
    expect(aws.puts()).toEqual([]);
    expect(aws.sends()).toEqual([]);
    expect(aws.visibilityChanges().map((v) => v.VisibilityTimeout)).toEqual([10]);
  });

  it('writes the provisional record before the run that uses up the attempts, whatever its receive count', async () => {
    // Prepare: 2 runs of 3 so far, at its 4th receive
    const seen: AtCrash[] = [];
    const { registry } = recordingRegistry([crashJob(seen)]);
    const record = crashing(4);
    const { states } = rows([], { facts: new Map([[record, facts(2)]]) });

    // Act
    await consumer({ registry, runStates: states, settings: budgeted() }).run([record]);

    // Assess: a provisional record stood while it ran; its failure is then exhausted
    expect(seen[0]!.archiveKeys).toHaveLength(1);
    expect(aws.archived()[0]!.failure.kind).toBe('exhausted');
    expect(sentIds()).toEqual([record.messageId]);
  });

  it('sends a used-up record archived before (its DLQ send had failed) without archiving it again', async () => {
    // Prepare
    const { registry, runs } = recordingRegistry();
    const record = failing(4);
    const archived = facts(3, {
      status: 'failed',
      runInProgress: false,
      failure: { kind: 'exhausted', archiveKey: 'failures/x.json' },
    });
    const { states } = rows([], { facts: new Map([[record, archived]]) });

    // Act
    const res = await consumer({ registry, runStates: states, settings: budgeted() }).run([record]);

    // Assess
    expect(runs).toEqual([]);
    expect(failedIds(res)).toEqual([]);
    expect(aws.puts()).toEqual([]);
    expect(aws.sends().map((m) => m.MessageAttributes!['failure-kind']!.StringValue)).toEqual(['exhausted']);
  });

  it('never gives up a record whose row says it succeeded (a duplicate delivery)', async () => {
    const { registry } = recordingRegistry();
    const record = ok(4);
    const { states } = rows([], {
      facts: new Map([[record, facts(3, { status: 'succeeded', runInProgress: false })]]),
    });

    const res = await consumer({ registry, runStates: states, settings: budgeted() }).run([record]);

    expect(failedIds(res)).toEqual([]);
    expect(aws.sends()).toEqual([]);
  });

  it('rejects a used-up record, to be given up later, when its DLQ send fails', async () => {
    aws.failSend = () => new Error('SQS unavailable');
    const record = ok(4);
    const { states } = rows([], { facts: new Map([[record, facts(3)]]) });

    const res = await consumer({ runStates: states, settings: budgeted() }).run([record]);

    expect(failedIds(res)).toEqual([record.messageId]);
    expect(aws.visibilityChanges().map((v) => v.VisibilityTimeout)).toEqual([0]);
  });
});

describe('failedOnItsOwn', () => {
  it.each([
    [
      'retrying, one run per earlier delivery, nothing in progress',
      { status: 'retrying', attempts: 2, [RUN_LOG_ATTRIBUTE]: ['m-1', 'm-1'] },
      true,
    ],
    [
      'the same, on a row written before the run log (its attempts count)',
      { status: 'retrying', attempts: 2 },
      true,
    ],
    [
      'runs of an earlier life (before a redrive, under another SQS message id) do not count',
      { status: 'retrying', attempts: 3, [RUN_LOG_ATTRIBUTE]: ['m-0', 'm-1', 'm-1'] },
      true,
    ],
    [
      'one run of two deliveries: handed back or killed before it ran once',
      { status: 'retrying', attempts: 2, [RUN_LOG_ATTRIBUTE]: ['m-0', 'm-1'] },
      false,
    ],
    [
      // The first row plus a run record still in progress: only the run in progress tells them apart.
      'a run left in progress (the runtime died during it)',
      {
        status: 'retrying',
        attempts: 2,
        [RUN_LOG_ATTRIBUTE]: ['m-1', 'm-1'],
        [RUN_ATTRIBUTES.status]: 'INPROGRESS',
      },
      false,
    ],
    [
      'fewer runs than deliveries (in a crashed batch without running)',
      { status: 'retrying', attempts: 1 },
      false,
    ],
    ['never ran', { status: 'accepted', attempts: 0 }, false],
  ])('%s → %s', (_, row, expected) => {
    expect(failedOnItsOwn(runFactsOf(row, 'm-1'), 3)).toBe(expected);
  });
});

describe('DynamoRunStates', () => {
  const ddb = mockClient(DynamoDBDocumentClient);
  afterAll(() => ddb.restore());
  beforeEach(() => ddb.reset());
  const states = () =>
    new DynamoRunStates(DynamoDBDocumentClient.from(new DynamoDBClient({ region: 'eu-west-1' })), 'status');

  it('reads the rows in one consistent BatchGetItem and counts the runs of each SQS message', async () => {
    ddb.on(BatchGetCommand).resolves({
      Responses: {
        status: [
          { id: 'a', status: 'retrying', attempts: 2, [RUN_LOG_ATTRIBUTE]: ['old', 'm-a'] },
          {
            id: 'b',
            status: 'processing',
            attempts: 1,
            [RUN_LOG_ATTRIBUTE]: ['m-b'],
            [RUN_ATTRIBUTES.status]: 'INPROGRESS',
          },
          {
            id: 'd',
            status: 'failed',
            attempts: 3,
            failure: { kind: 'exhausted', archiveKey: 'k' },
            [RUN_LOG_ATTRIBUTE]: ['m-d', 'm-d', 'm-d'],
          },
        ],
      },
      UnprocessedKeys: { status: { Keys: [{ pk: 'msg#c' }] } },
    });

    const out = await states().read([
      { id: 'a', messageId: 'm-a' },
      { id: 'b', messageId: 'm-b' },
      { id: 'c', messageId: 'm-c' },
      { id: 'd', messageId: 'm-d' },
    ]);

    expect(Object.fromEntries(out)).toEqual({
      'm-a': { runs: 1, receivesAccounted: 1, status: 'retrying', runInProgress: false, failure: undefined },
      'm-b': { runs: 1, receivesAccounted: 1, status: 'processing', runInProgress: true, failure: undefined },
      'm-d': {
        runs: 3,
        receivesAccounted: 3,
        status: 'failed',
        runInProgress: false,
        failure: { kind: 'exhausted', archiveKey: 'k' },
      },
    });
    const [call] = ddb.commandCalls(BatchGetCommand).map((c) => c.args[0].input);
    expect(call!.RequestItems!.status).toMatchObject({
      Keys: [{ pk: 'msg#a' }, { pk: 'msg#b' }, { pk: 'msg#c' }, { pk: 'msg#d' }],
      ConsistentRead: true,
    });
  });

  it('knows none when the read fails, without throwing', async () => {
    ddb.on(BatchGetCommand).rejects(new Error('throttled'));
    expect((await states().read([{ id: 'a', messageId: 'm-a' }])).size).toBe(0);
  });
});
