import { EventBridgeClient, PutEventsCommand } from '@aws-sdk/client-eventbridge';
import { marshall } from '@aws-sdk/util-dynamodb';
import type { DynamoDBRecord, DynamoDBStreamEvent } from 'aws-lambda';
import { mockClient } from 'aws-sdk-client-mock';
import { beforeEach, describe, expect, it, vi } from 'vitest';
import { completionEventOf } from '../../lambda/shared/events/completion';
import { CompletionDetailV1 } from '../../lambda/shared/events/completion-schema';
import { relayCompletions } from '../../lambda/shared/events/relay';
import { silentLogger } from '../helpers/aws-fakes';

const ID = '9b57748c-c30c-40cf-93a1-89d5cee9db8e';
const CHILD = '3c1f2a4e-5b6d-8e7f-9a0b-1c2d3e4f5a6b';

/** A status row as the table holds it (the stream's image, unmarshalled). */
const row = (over: Record<string, unknown> = {}) => ({
  pk: `msg#${ID}`,
  id: ID,
  type: 'report.generate',
  queue: 'standard',
  lane: 'reports',
  status: 'succeeded',
  attempts: 2,
  deferrals: 1,
  acceptedAt: '2026-12-05T10:00:00.000Z',
  updatedAt: '2026-12-05T10:00:09.500Z',
  owner: 'acme',
  correlationId: 'req-1',
  resultJson: '{"pages":3}',
  children: [CHILD],
  lastError: null,
  failure: null,
  ...over,
});

describe('completion events: the event of a status row change', () => {
  it('a row that becomes succeeded: "Message Succeeded" with its result, ids and counts', () => {
    const entry = completionEventOf(row({ status: 'processing' }), row());

    expect(entry?.Source).toBe('event-pipeline');
    expect(entry?.DetailType).toBe('Message Succeeded');
    expect(entry?.detail).toEqual({
      eventId: `${ID}:succeeded:2026-12-05T10:00:09.500Z`,
      id: ID,
      type: 'report.generate',
      lane: 'reports',
      queue: 'standard',
      status: 'succeeded',
      tenant: 'acme',
      correlationId: 'req-1',
      attempts: 2,
      deferrals: 1,
      acceptedAt: '2026-12-05T10:00:00.000Z',
      finishedAt: '2026-12-05T10:00:09.500Z',
      result: { pages: 3 },
      resultPath: null,
      resultBytes: null,
      failure: null,
      parentId: null,
      children: [CHILD],
    });
    expect(JSON.parse(entry!.Detail)).toEqual(entry!.detail);
    expect(CompletionDetailV1.safeParse(entry!.detail).success).toBe(true);
  });

  it('a result kept in S3: its path and size, no value', () => {
    const entry = completionEventOf(
      row({ status: 'processing' }),
      row({ resultJson: undefined, resultRef: { key: `results/${ID}.json`, bytes: 20_000 } }),
    );

    expect(entry?.detail).toMatchObject({
      result: null,
      resultPath: `/v1/messages/${ID}/result`,
      resultBytes: 20_000,
    });
    expect(CompletionDetailV1.safeParse(entry!.detail).success).toBe(true);
  });

  it('a row that becomes failed: "Message Failed" with its kind, archive key and last error, no result', () => {
    const failed = row({
      status: 'failed',
      resultJson: undefined,
      failure: { kind: 'permanent', archiveKey: `failed/q/2026/12/05/m-1.json` },
      lastError: { name: 'ProbePermanentError', message: 'probe asked to fail permanently' },
      owner: undefined,
      parentId: CHILD,
    });

    const entry = completionEventOf(row({ status: 'processing' }), failed);

    expect(entry?.DetailType).toBe('Message Failed');
    expect(entry?.detail).toMatchObject({
      eventId: `${ID}:failed:2026-12-05T10:00:09.500Z`,
      status: 'failed',
      tenant: null,
      result: null,
      resultPath: null,
      parentId: CHILD,
      failure: {
        kind: 'permanent',
        archiveKey: 'failed/q/2026/12/05/m-1.json',
        error: { name: 'ProbePermanentError', message: 'probe asked to fail permanently' },
      },
    });
    expect(CompletionDetailV1.safeParse(entry!.detail).success).toBe(true);
  });

  it('a FIFO row without lane, counters or children: queue fifo, its queue as lane, zero counts, no children', () => {
    const entry = completionEventOf(
      row({ status: 'processing' }),
      row({ queue: 'fifo', lane: undefined, attempts: undefined, deferrals: undefined, children: undefined }),
    );

    expect(entry?.detail).toMatchObject({
      queue: 'fifo',
      lane: 'fifo',
      attempts: 0,
      deferrals: 0,
      children: [],
    });
    expect(CompletionDetailV1.safeParse(entry!.detail).success).toBe(true);
  });

  it('a failed row publishes no result, even one stored on it; an error without name or message reads Error, ""', () => {
    const entry = completionEventOf(
      row({ status: 'processing' }),
      row({
        status: 'failed',
        resultRef: { key: `results/${ID}.json`, bytes: 20_000 },
        failure: { kind: 'no-such-kind', archiveKey: 42 },
        lastError: {},
      }),
    );

    expect(entry?.detail).toMatchObject({
      result: null,
      resultPath: null,
      resultBytes: null,
      failure: { kind: 'exhausted', archiveKey: null, error: { name: 'Error', message: '' } },
    });
    expect(CompletionDetailV1.safeParse(entry!.detail).success).toBe(true);
  });

  it('a result whose stored JSON does not parse is published as null', () => {
    const entry = completionEventOf(row({ status: 'processing' }), row({ resultJson: '{"pages":' }));

    expect(entry?.detail).toMatchObject({ result: null, resultPath: null, resultBytes: null });
  });

  it('publishes only terminal transitions: not a write to a row already in that state, nor other states', () => {
    expect(completionEventOf(row(), row({ updatedAt: '2026-12-05T10:01:00.000Z' }))).toBeUndefined();
    expect(completionEventOf(row({ status: 'failed' }), row({ status: 'failed' }))).toBeUndefined();
    expect(completionEventOf(row({ status: 'accepted' }), row({ status: 'processing' }))).toBeUndefined();
    expect(completionEventOf(row(), undefined)).toBeUndefined();
    // A row created terminal (an insert), and a redriven message that fails again after running.
    expect(completionEventOf(undefined, row())?.DetailType).toBe('Message Succeeded');
    expect(completionEventOf(row({ status: 'processing' }), row({ status: 'failed' }))?.DetailType).toBe(
      'Message Failed',
    );
  });

  it('gives every copy of one transition the same eventId, and another transition another', () => {
    const a = completionEventOf(row({ status: 'processing' }), row({ status: 'failed' }));
    const b = completionEventOf(row({ status: 'retrying' }), row({ status: 'failed' }));
    const later = completionEventOf(
      row({ status: 'processing' }),
      row({ status: 'failed', updatedAt: '2026-12-06T00:00:00.000Z' }),
    );
    expect(a?.detail.eventId).toBe(b?.detail.eventId);
    expect(later?.detail.eventId).not.toBe(a?.detail.eventId);
  });
});

/** A stream record of a change from `oldRow` to `newRow`. */
function record(
  seq: string,
  oldRow: Record<string, unknown> | undefined,
  newRow: Record<string, unknown>,
): DynamoDBRecord {
  return {
    eventID: `e-${seq}`,
    eventName: oldRow ? 'MODIFY' : 'INSERT',
    eventSource: 'aws:dynamodb',
    dynamodb: {
      SequenceNumber: seq,
      Keys: { pk: { S: String(newRow.pk) } },
      ...(oldRow ? { OldImage: marshall(oldRow, { removeUndefinedValues: true }) as never } : {}),
      NewImage: marshall(newRow, { removeUndefinedValues: true }) as never,
      StreamViewType: 'NEW_AND_OLD_IMAGES',
    },
  };
}

describe('the completion relay (stream → bus)', () => {
  const events = mockClient(EventBridgeClient);
  beforeEach(() => events.reset());
  const deps = () => ({ events: new EventBridgeClient({}), busName: 'stage-events', logger: silentLogger() });
  const terminal = (n: number) =>
    record(
      String(100 + n),
      row({ status: 'processing', id: `${ID.slice(0, -2)}${String(n).padStart(2, '0')}` }),
      row({ id: `${ID.slice(0, -2)}${String(n).padStart(2, '0')}` }),
    );

  it('publishes each terminal transition on the bus, ten per PutEvents, in stream order; skips the others', async () => {
    events.on(PutEventsCommand).callsFake((input: { Entries: unknown[] }) => ({
      FailedEntryCount: 0,
      Entries: input.Entries.map((_, i) => ({ EventId: `ev-${i}` })),
    }));
    const records = [
      ...Array.from({ length: 12 }, (_, n) => terminal(n)),
      record('200', row({ status: 'accepted' }), row({ status: 'processing' })),
    ];

    const res = await relayCompletions({ Records: records } as DynamoDBStreamEvent, deps());

    expect(res).toEqual({ batchItemFailures: [] });
    const calls = events.commandCalls(PutEventsCommand).map((c) => c.args[0].input.Entries!);
    expect(calls.map((entries) => entries.length)).toEqual([10, 2]);
    const ids = calls.flat().map((e) => JSON.parse(e.Detail!).id as string);
    expect(ids).toEqual(
      Array.from({ length: 12 }, (_, n) => `${ID.slice(0, -2)}${String(n).padStart(2, '0')}`),
    );
    expect(calls[0]![0]).toMatchObject({
      EventBusName: 'stage-events',
      Source: 'event-pipeline',
      DetailType: 'Message Succeeded',
    });
  });

  it('sends each entry exactly: the bus, source, detail type, the detail as JSON, no resources', async () => {
    events.on(PutEventsCommand).resolves({ FailedEntryCount: 0, Entries: [{ EventId: 'a' }] });
    const r = terminal(1);

    await relayCompletions({ Records: [r] } as DynamoDBStreamEvent, deps());

    const entries = events.commandCalls(PutEventsCommand).map((c) => c.args[0].input.Entries);
    const detail = completionEventOf(
      row({ status: 'processing', id: `${ID.slice(0, -2)}01` }),
      row({ id: `${ID.slice(0, -2)}01` }),
    )!;
    expect(entries).toEqual([
      [
        {
          EventBusName: 'stage-events',
          Source: 'event-pipeline',
          DetailType: 'Message Succeeded',
          Detail: detail.Detail,
          Resources: [],
        },
      ],
    ]);
  });

  it('sends nothing for a batch without terminal transitions, and one PutEvents for exactly ten', async () => {
    events.on(PutEventsCommand).callsFake((input: { Entries: unknown[] }) => ({
      FailedEntryCount: 0,
      Entries: input.Entries.map((_, i) => ({ EventId: `ev-${i}` })),
    }));

    const none = await relayCompletions(
      {
        Records: [record('200', row({ status: 'accepted' }), row({ status: 'processing' }))],
      } as DynamoDBStreamEvent,
      deps(),
    );
    expect(none).toEqual({ batchItemFailures: [] });
    expect(events.commandCalls(PutEventsCommand)).toHaveLength(0);

    const ten = await relayCompletions(
      { Records: Array.from({ length: 10 }, (_, n) => terminal(n)) } as DynamoDBStreamEvent,
      deps(),
    );
    expect(ten).toEqual({ batchItemFailures: [] });
    expect(events.commandCalls(PutEventsCommand).map((c) => c.args[0].input.Entries!.length)).toEqual([10]);
  });

  it('logs one line per published event: ids, detail type, type, lane, status, attempts, failure kind; no result, no tenant', async () => {
    events
      .on(PutEventsCommand)
      .resolves({ FailedEntryCount: 0, Entries: [{ EventId: 'a' }, { EventId: 'b' }] });
    const d = deps();
    const info = vi.spyOn(d.logger, 'info');
    const failed = record(
      '300',
      row({ status: 'processing' }),
      row({
        status: 'failed',
        owner: 'tenant-a',
        failure: { kind: 'permanent', archiveKey: 'failed/x.json' },
        lastError: { name: 'E', message: 'secret detail' },
      }),
    );

    await relayCompletions({ Records: [terminal(1), failed] } as DynamoDBStreamEvent, d);

    expect(info.mock.calls).toEqual([
      [
        'completion event published',
        {
          envelopeId: `${ID.slice(0, -2)}01`,
          eventId: `${ID.slice(0, -2)}01:succeeded:2026-12-05T10:00:09.500Z`,
          detailType: 'Message Succeeded',
          correlationId: 'req-1',
          type: 'report.generate',
          lane: 'reports',
          status: 'succeeded',
          attempts: 2,
          failureKind: null,
        },
      ],
      [
        'completion event published',
        {
          envelopeId: ID,
          eventId: `${ID}:failed:2026-12-05T10:00:09.500Z`,
          detailType: 'Message Failed',
          correlationId: 'req-1',
          type: 'report.generate',
          lane: 'reports',
          status: 'failed',
          attempts: 2,
          failureKind: 'permanent',
        },
      ],
    ]);
  });

  it('reports the first entry the bus refused (and so everything after it) for a retry from there', async () => {
    events.on(PutEventsCommand).resolves({
      FailedEntryCount: 1,
      Entries: [
        { EventId: 'a' },
        { ErrorCode: 'InternalFailure', ErrorMessage: 'try again' },
        { EventId: 'c' },
      ],
    });

    const res = await relayCompletions(
      { Records: [terminal(1), terminal(2), terminal(3)] } as DynamoDBStreamEvent,
      deps(),
    );

    expect(res).toEqual({ batchItemFailures: [{ itemIdentifier: '102' }] });
  });

  it("logs the refusal: the failed count, the first refused entry's code and message", async () => {
    events.on(PutEventsCommand).resolves({
      FailedEntryCount: 1,
      Entries: [{ EventId: 'a' }, { ErrorCode: 'InternalFailure', ErrorMessage: 'try again' }],
    });
    const d = deps();
    const warn = vi.spyOn(d.logger, 'warn');

    await relayCompletions({ Records: [terminal(1), terminal(2)] } as DynamoDBStreamEvent, d);

    expect(warn.mock.calls).toEqual([
      [
        'the bus refused completion events; retrying from the first',
        { failedEntryCount: 1, errorCode: 'InternalFailure', errorMessage: 'try again' },
      ],
    ]);
  });

  it("a failed count with no entry naming an error retries from the chunk's first record, publishing nothing", async () => {
    events
      .on(PutEventsCommand)
      .resolves({ FailedEntryCount: 1, Entries: [{ EventId: 'a' }, { EventId: 'b' }] });
    const d = deps();
    const info = vi.spyOn(d.logger, 'info');

    const res = await relayCompletions({ Records: [terminal(1), terminal(2)] } as DynamoDBStreamEvent, d);

    expect(res).toEqual({ batchItemFailures: [{ itemIdentifier: '101' }] });
    expect(info).not.toHaveBeenCalled();
  });

  it('a record without a sequence number is reported with an empty identifier (the whole batch is retried)', async () => {
    events.on(PutEventsCommand).rejects(new Error('bus unreachable'));
    const r = terminal(1);
    delete r.dynamodb!.SequenceNumber;

    const res = await relayCompletions({ Records: [r] } as DynamoDBStreamEvent, deps());

    expect(res).toEqual({ batchItemFailures: [{ itemIdentifier: '' }] });
  });

  it('a PutEvents that throws fails the batch from its first record; later chunks are not sent', async () => {
    const error = new Error('bus unreachable');
    events.on(PutEventsCommand).rejects(error);
    const d = deps();
    const warn = vi.spyOn(d.logger, 'warn');

    const records = Array.from({ length: 12 }, (_, n) => terminal(n));
    const res = await relayCompletions({ Records: records } as DynamoDBStreamEvent, d);

    expect(res).toEqual({ batchItemFailures: [{ itemIdentifier: '100' }] });
    expect(events.commandCalls(PutEventsCommand)).toHaveLength(1);
    expect(warn.mock.calls).toEqual([['PutEvents failed; retrying the batch from this chunk', { error }]]);
  });

  it('a failure in the second chunk keeps the first chunk published and retries from the second', async () => {
    events
      .on(PutEventsCommand)
      .resolvesOnce({ FailedEntryCount: 0, Entries: Array.from({ length: 10 }, () => ({ EventId: 'x' })) })
      .rejectsOnce(new Error('throttled'));

    const records = Array.from({ length: 12 }, (_, n) => terminal(n));
    const res = await relayCompletions({ Records: records } as DynamoDBStreamEvent, deps());

    expect(res).toEqual({ batchItemFailures: [{ itemIdentifier: '110' }] });
  });
});
