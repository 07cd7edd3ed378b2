import { ConditionalCheckFailedException, DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient, GetCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { mockClient } from 'aws-sdk-client-mock';
import { afterAll, beforeEach, describe, expect, it } from 'vitest';
import type { SQSRecord } from 'aws-lambda';
import {
  DynamoMarkerStore,
  isCulprit,
  MARKER_ATTRIBUTE,
  type IsolatedRunMarker,
  type MarkerStore,
} from '../../lambda/shared/consumer/culprit';
import type { SandboxDeliveryMemo } from '../../lambda/shared/consumer/delivery-memo';
import type { RunStates } from '../../lambda/shared/consumer/run-state';
import { DLQ_ATTR } from '../../lambda/shared/dlq-attributes';
import type { StatusStore } from '../../lambda/shared/status/types';
import { FakeAws } from '../helpers/aws-fakes';
import { accountedMemo, consumer, failedIds } from '../helpers/consumer';
import { recordingRegistry } from '../helpers/jobs';
import { probeRecord, T0 } from '../helpers/sqs-events';

const aws = new FakeAws();
beforeEach(() => aws.reset());

const envelopeIdOf = (r: SQSRecord) => (JSON.parse(r.body) as { id: string }).id;

/** Markers in memory; every call noted with how many handlers had run by then. */
class FakeMarkers implements MarkerStore {
  readonly rows = new Map<string, IsolatedRunMarker>();
  readonly calls: { op: 'mark' | 'read' | 'clear'; id: string; runsBefore: number }[] = [];
  failMark = false;
  constructor(private readonly runs: readonly string[]) {}
  async mark(id: string, marker: IsolatedRunMarker) {
    this.calls.push({ op: 'mark', id, runsBefore: this.runs.length });
    if (this.failMark) throw new Error('DynamoDB unavailable');
    this.rows.set(id, marker);
  }
  async read(id: string) {
    this.calls.push({ op: 'read', id, runsBefore: this.runs.length });
    return this.rows.get(id);
  }
  async clear(id: string) {
    this.calls.push({ op: 'clear', id, runsBefore: this.runs.length });
    this.rows.delete(id);
  }
  ops() {
    return this.calls.map((c) => [c.op, c.id, c.runsBefore] as const);
  }
}

/** Notes the `failed` transitions; the others do nothing. */
function failedTransitions() {
  const failed: { id: string; kind: string; archiveKey: string | null; error: string }[] = [];
  const store: StatusStore = {
    accepted: async () => {},
    processing: async () => {},
    succeeded: async () => {},
    retrying: async () => {},
    deferred: async () => {},
    childEnqueued: async () => {},
    failed: async (s, f, e) => {
      failed.push({ id: s.id, kind: f.kind, archiveKey: f.archiveKey, error: (e as Error).name });
    },
    get: async () => undefined,
  };
  return { store, failed };
}

const ok = (receiveCount = 1, group?: string) =>
  probeRecord({ mode: 'succeed' }, { receiveCount, ...(group ? { messageGroupId: group } : {}) });
const failing = (receiveCount = 1, group?: string) =>
  probeRecord({ mode: 'fail-always' }, { receiveCount, ...(group ? { messageGroupId: group } : {}) });
const markerOf = (r: SQSRecord, receiveCount: number): IsolatedRunMarker => ({
  since: T0.toISOString(),
  messageId: r.messageId,
  receiveCount,
});

describe('isCulprit', () => {
  const r = ok(3);
  it.each([
    ['no marker', undefined, false],
    ['a marker of an earlier delivery', markerOf(r, 2), true],
    ['a marker of this very delivery', markerOf(r, 3), false],
    [
      'a marker of another SQS message (a redrive or replay)',
      { ...markerOf(r, 2), messageId: 'other' },
      false,
    ],
  ])('%s → %s', (_, marker, expected) => {
    expect(isCulprit(marker, r)).toBe(expected);
  });
});

describe('consumer (FIFO): lone-run markers', () => {
  it.each([
    ['succeeds', ok],
    ['fails', failing],
  ])('marks a suspect before its lone run and clears the marker after it %s', async (_, make) => {
    // Prepare
    const { registry, runs } = recordingRegistry();
    const markers = new FakeMarkers(runs);
    const [fresh, suspect] = [ok(1, 'F'), make(2, 'S')];

    // Act
    await consumer({ fifo: true, registry, markers }).run([suspect, fresh]);

    // Assess: nothing read (no record behind the suspect in its group); after the fresh record
    // ran: mark, run, clear
    const id = envelopeIdOf(suspect);
    expect(runs).toEqual([fresh.messageId, suspect.messageId]);
    expect(markers.ops()).toEqual([
      ['mark', id, 1],
      ['clear', id, 2],
    ]);
    expect(markers.rows.size).toBe(0);
  });

  it('writes the delivery and the start time in the marker', async () => {
    // Prepare
    const { registry, runs } = recordingRegistry();
    const markers = new FakeMarkers(runs);
    const seen: IsolatedRunMarker[] = [];
    const mark = markers.mark.bind(markers);
    markers.mark = async (id, m) => (seen.push(m), mark(id, m));
    const suspect = ok(2, 'A');

    // Act
    await consumer({ fifo: true, registry, markers }).run([suspect]);

    // Assess: the helper's clock is T0 + 60 s
    expect(seen).toEqual([
      { since: new Date(T0.getTime() + 60_000).toISOString(), messageId: suspect.messageId, receiveCount: 2 },
    ]);
  });

  it('gives up on a culprit with group-mates behind it: archived `unknown`, dead-lettered, acked; they run in order', async () => {
    // Prepare: p crashed its lone run at delivery 2; a2, a3 came behind it in the same receive
    const { registry, runs } = recordingRegistry();
    const markers = new FakeMarkers(runs);
    const { store, failed } = failedTransitions();
    const [p, a2, a3, b1] = [ok(3, 'A'), ok(3, 'A'), ok(3, 'A'), ok(1, 'B')];
    markers.rows.set(envelopeIdOf(p!), markerOf(p!, 2));

    // Act
    const res = await consumer({ fifo: true, registry, markers, status: store }).run([p!, a2!, a3!, b1!]);

    // Assess: a2, a3 (final attempts, now accounted for) run first, then b1
    expect(runs).toEqual([a2!.messageId, a3!.messageId, b1!.messageId]);
    expect(failedIds(res)).toEqual([]);
    const archived = aws.archived();
    expect(archived).toHaveLength(1);
    expect(archived[0]).toMatchObject({
      messageId: p!.messageId,
      failure: { kind: 'unknown', errorName: 'CrashedRuntime' },
    });
    expect(archived[0]!.failure.errorMessage).toContain('delivery 2 ran alone since');
    const sends = aws.sends();
    expect(sends).toHaveLength(1);
    expect(sends[0]!.MessageBody).toBe(p!.body);
    expect(sends[0]!.MessageGroupId).toBe('A');
    expect(sends[0]!.MessageAttributes?.[DLQ_ATTR.failureKind]?.StringValue).toBe('unknown');
    expect(sends[0]!.MessageAttributes?.[DLQ_ATTR.errorName]?.StringValue).toBe('CrashedRuntime');
    expect(failed).toEqual([
      {
        id: envelopeIdOf(p!),
        kind: 'unknown',
        archiveKey: [...aws.objects.keys()][0],
        error: 'CrashedRuntime',
      },
    ]);
    // Read: the suspects with group-mates behind them (p, a2); the fresh b1 and the last of its
    // group are never read, and nothing ran alone.
    expect(
      markers.calls
        .filter((c) => c.op === 'read')
        .map((c) => c.id)
        .sort(),
    ).toEqual([p!, a2!].map(envelopeIdOf).sort());
    expect(markers.calls.filter((c) => c.op !== 'read')).toEqual([]);
  });

  it('takes the markers from the batch read of the rows, reading none alone', async () => {
    // Prepare: as above, but the consumer's one read of the redelivered rows brings p's marker
    const { registry, runs } = recordingRegistry();
    const markers = new FakeMarkers(runs);
    const [p, a2, a3] = [ok(3, 'A'), ok(3, 'A'), ok(3, 'A')];
    const row = (marker?: IsolatedRunMarker) => ({
      runs: 1,
      status: 'processing',
      runInProgress: true,
      failure: undefined,
      marker,
    });
    const rowsRead: string[][] = [];
    const runStates: RunStates = {
      async read(redeliveries) {
        rowsRead.push(redeliveries.map((r) => r.messageId));
        return new Map([
          [p!.messageId, row(markerOf(p!, 2))],
          [a2!.messageId, row()],
        ]);
      },
    };

    // Act
    const res = await consumer({ fifo: true, registry, markers, runStates }).run([p!, a2!, a3!]);

    // Assess: p given up on and its group ran; the candidates' markers (p's, and a2's absence of
    // one) came with the batch read, so the store read none (a3, last of its group, is no candidate)
    expect(rowsRead).toEqual([[p!.messageId, a2!.messageId, a3!.messageId]]);
    expect(runs).toEqual([a2!.messageId, a3!.messageId]);
    expect(failedIds(res)).toEqual([]);
    expect(aws.sends().map((m) => m.MessageDeduplicationId)).toEqual([p!.messageId]);
    expect(markers.calls.filter((c) => c.op === 'read')).toEqual([]);
  });

  it('lets a culprit with nothing of its group behind it use its attempts, alone and marked again', async () => {
    // Prepare
    const { registry, runs } = recordingRegistry();
    const markers = new FakeMarkers(runs);
    const [p, b1] = [ok(3, 'A'), ok(1, 'B')];
    markers.rows.set(envelopeIdOf(p!), markerOf(p!, 2));

    // Act
    const res = await consumer({ fifo: true, registry, markers }).run([p!, b1!]);

    // Assess: the fresh b1 first, then p alone
    expect(runs).toEqual([b1!.messageId, p!.messageId]);
    expect(failedIds(res)).toEqual([]);
    expect(aws.sends()).toEqual([]);
    expect(markers.ops().map(([op]) => op)).toEqual(['mark', 'clear']);
  });

  it('keeps a culprit a suspect when it cannot be archived, and runs it alone as before', async () => {
    // Prepare
    aws.failPut = () => new Error('S3 unavailable');
    const { registry, runs } = recordingRegistry();
    const markers = new FakeMarkers(runs);
    const [p, a2] = [ok(2, 'A'), ok(2, 'A')];
    markers.rows.set(envelopeIdOf(p!), markerOf(p!, 1));

    // Act
    const res = await consumer({ fifo: true, registry, markers }).run([p!, a2!]);

    // Assess: p runs alone (a2, a suspect segment of its own, is handed back)
    expect(runs).toEqual([p!.messageId]);
    expect(aws.sends()).toEqual([]);
    expect(failedIds(res)).toEqual([a2!.messageId]);
  });

  it('falls back to plain crash isolation when the marker cannot be written', async () => {
    // Prepare: the same batch through a consumer without markers, and one whose marks fail
    const batch = () => [failing(2, 'A'), ok(2, 'B'), ok(1, 'C')] as const;
    const plain = recordingRegistry();
    const [ps, ph, pf] = batch();
    const plainRes = await consumer({ fifo: true, registry: plain.registry, random: () => 0.5 }).run([
      ps,
      ph,
      pf,
    ]);
    const plainVisibility = aws.visibilityChanges().map((v) => v.VisibilityTimeout);
    aws.reset();
    const { registry, runs } = recordingRegistry();
    const markers = new FakeMarkers(runs);
    markers.failMark = true;
    const [s, h, f] = batch();

    // Act
    const res = await consumer({ fifo: true, registry, markers, random: () => 0.5 }).run([s, h, f]);

    // Assess: same runs, same failures, same visibility changes; nothing to clear
    expect(runs).toEqual([f.messageId, s.messageId, h.messageId]);
    expect(plain.runs).toEqual([pf.messageId, ps.messageId, ph.messageId]);
    expect(failedIds(res)).toEqual([s.messageId]);
    expect(failedIds(plainRes)).toEqual([ps.messageId]);
    expect(aws.visibilityChanges().map((v) => v.VisibilityTimeout)).toEqual(plainVisibility);
    expect(markers.calls.map((c) => c.op)).toEqual(['mark', 'mark']);
  });

  it('never reads a marker of fresh records, nor of redeliveries accounted for', async () => {
    // Prepare: first deliveries, and records that failed on their own before
    const { registry, runs } = recordingRegistry();
    const markers = new FakeMarkers(runs);
    const again = [failing(2, 'A'), ok(3, 'B')];
    const records = [ok(1, 'A'), ...again, ok(1, 'B'), ok(1, 'C')];
    const memo: SandboxDeliveryMemo = accountedMemo(again);

    // Act
    await consumer({ fifo: true, registry, markers, memo }).run(records);

    // Assess
    expect(runs).toHaveLength(5);
    expect(markers.calls).toEqual([]);
  });
});

describe('consumer (standard): no markers', () => {
  it('isolates suspects without reading or writing a marker: a standard queue needs no verdict', async () => {
    // Prepare
    const { registry, runs } = recordingRegistry();
    const markers = new FakeMarkers(runs);
    const [p, s, f] = [ok(3), ok(2), ok()];
    markers.rows.set(envelopeIdOf(p!), markerOf(p!, 2));

    // Act
    const res = await consumer({ registry, markers }).run([p!, s!, f!]);

    // Assess: the fresh f, then p (the most delivered) alone; s is handed back
    expect(runs).toEqual([f!.messageId, p!.messageId]);
    expect(failedIds(res)).toEqual([s!.messageId]);
    expect(markers.calls).toEqual([]);
  });
});

describe('DynamoMarkerStore', () => {
  const ddb = mockClient(DynamoDBDocumentClient);
  afterAll(() => ddb.restore());
  beforeEach(() => ddb.reset());
  const store = () =>
    new DynamoMarkerStore(DynamoDBDocumentClient.from(new DynamoDBClient({ region: 'eu-west-1' })), 'status');
  const ID = '11111111-1111-4111-8111-111111111111';
  const MARKER: IsolatedRunMarker = { since: T0.toISOString(), messageId: 'sqs-1', receiveCount: 2 };

  it('marks only an existing status row', async () => {
    ddb.on(UpdateCommand).resolves({});
    await store().mark(ID, MARKER);
    const [u] = ddb.commandCalls(UpdateCommand).map((c) => c.args[0].input);
    expect(u).toMatchObject({
      TableName: 'status',
      Key: { pk: `msg#${ID}` },
      UpdateExpression: 'SET #m = :m',
      ConditionExpression: 'attribute_exists(#pk)',
      ExpressionAttributeValues: { ':m': MARKER },
    });
    expect(u!.ExpressionAttributeNames!['#m']).toBe(MARKER_ATTRIBUTE);
  });

  it('reads the marker with a consistent read, projecting only it', async () => {
    ddb.on(GetCommand).resolves({ Item: { [MARKER_ATTRIBUTE]: MARKER } });
    expect(await store().read(ID)).toEqual(MARKER);
    const [g] = ddb.commandCalls(GetCommand).map((c) => c.args[0].input);
    expect(g).toMatchObject({ ConsistentRead: true, ProjectionExpression: '#m' });
    ddb.on(GetCommand).resolves({});
    expect(await store().read(ID)).toBeUndefined();
  });

  it('clears a marker; a row that is gone is not an error, other errors are', async () => {
    ddb
      .on(UpdateCommand)
      .rejectsOnce(new ConditionalCheckFailedException({ message: 'no row', $metadata: {} }));
    await expect(store().clear(ID)).resolves.toBeUndefined();
    ddb.reset();
    ddb.on(UpdateCommand).rejects(new Error('throttled'));
    await expect(store().clear(ID)).rejects.toThrow('throttled');
  });
});
