import { describe, expect, it } from 'vitest';
import { buildTimeline, type TimelineFacts } from '../../local/control/console-timeline';
import type { InvocationRecord } from '../../local/control/journal';

const run = (over: Partial<InvocationRecord>): InvocationRecord => ({
  function: 'Consumer',
  startedAt: '2026-01-01T00:00:01.000Z',
  durationMs: 12,
  messageIds: ['m1'],
  batchItemFailures: [],
  error: null,
  ...over,
});

const facts = (over: Partial<TimelineFacts> = {}): TimelineFacts => ({
  query: 'e1',
  envelopeId: 'e1',
  status: {
    id: 'e1',
    type: 'probe',
    lane: 'standard',
    status: 'succeeded',
    attempts: 2,
    acceptedAt: '2026-01-01T00:00:00.000Z',
    updatedAt: '2026-01-01T00:00:09.000Z',
    lastError: { name: 'ProbeTransientError', message: 'probe failing attempt 1 of 1' },
    failure: null,
    messageIds: ['m1'],
  },
  messageIds: [],
  journal: [],
  copies: [],
  archive: null,
  actions: [],
  ...over,
});

describe('a message life (buildTimeline)', () => {
  it('tells accepted, each run of its message ids in order, then its status now', () => {
    // Arrange
    const journal = [
      run({ startedAt: '2026-01-01T00:00:01.000Z', batchItemFailures: ['m1'], messageIds: ['m1', 'other'] }),
      run({ function: 'Consumer', startedAt: '2026-01-01T00:00:02.000Z', messageIds: ['other'] }),
      run({ startedAt: '2026-01-01T00:00:05.000Z', durationMs: 40 }),
    ];

    // Act
    const life = buildTimeline(facts({ journal }));

    // Assert
    expect(life.events.map((e) => [e.kind, e.title, e.tone])).toEqual([
      ['accepted', 'accepted: probe on lane standard', 'info'],
      ['run', 'run 1: Consumer failed', 'failed'],
      ['run', 'run 2: Consumer succeeded', 'ok'],
      ['status', 'status succeeded', 'ok'],
    ]);
    expect(life.events[1]!.detail).toEqual([
      'message id m1',
      '12 ms, in a batch with 1 other',
      'reported as a batch item failure',
    ]);
    expect(life.events[3]!.detail).toEqual([
      '2 runs',
      'last error ProbeTransientError: probe failing attempt 1 of 1',
    ]);
    expect(life.messageIds).toEqual(['m1']);
  });

  it('puts a crashed run error, the archive record, the DLQ copy and a redrive in time order', () => {
    // Arrange
    const status = {
      ...facts().status!,
      status: 'failed' as const,
      messageIds: ['m1', 'm2'],
      failure: { kind: 'permanent' as const, archiveKey: 'failed/q/m1.json' },
    };

    // Act
    const life = buildTimeline(
      facts({
        status,
        journal: [
          run({
            startedAt: '2026-01-01T00:00:01.000Z',
            error: { name: 'Runtime.ExitError', message: 'exited' },
          }),
          run({ startedAt: '2026-01-01T00:00:07.000Z', messageIds: ['m2'], batchItemFailures: [] }),
        ],
        archive: {
          key: 'failed/q/m1.json',
          archivedAt: '2026-01-01T00:00:03.000Z',
          kind: 'permanent',
          errorName: 'E',
          errorMessage: 'boom',
          receiveCount: 1,
        },
        copies: [
          {
            queue: 'dlq',
            role: 'dlq',
            messageId: 'd1',
            state: 'visible',
            receiveCount: 0,
            sentAt: '2026-01-01T00:00:04.000Z',
            failureKind: 'permanent',
            errorName: 'E',
          },
          {
            queue: 'q',
            role: 'queue',
            messageId: 'm3',
            state: 'in flight',
            receiveCount: 1,
            sentAt: '2026-01-01T00:00:08.000Z',
          },
        ],
        actions: [
          {
            at: '2026-01-01T00:00:06.000Z',
            action: 'redrive',
            envelopeId: 'e1',
            messageId: 'm1',
            outcome: 'moved',
            newMessageId: 'm2',
          },
        ],
      }),
    );

    // Assert
    expect(life.events.map((e) => e.kind)).toEqual([
      'accepted',
      'run',
      'archive',
      'dlq',
      'action',
      'run',
      'waiting',
      'status',
    ]);
    expect(life.events[1]!.detail).toContain('Runtime.ExitError: exited');
    expect(life.events[3]!.title).toBe('dead-lettered in dlq');
    expect(life.events[3]!.detail).toEqual(['message id d1', 'failure permanent (E)']);
    expect(life.events[4]!.title).toBe('redrive from the console: moved');
    expect(life.events[4]!.detail).toEqual(['from DLQ copy m1', 'new message id m2']);
    expect(life.events[6]!.title).toBe('on q: in flight, received 1 time');
    expect(life.messageIds).toEqual(['m1', 'm2']);
  });

  it('tells what the queues hold of a message the status table does not know', () => {
    const life = buildTimeline(
      facts({
        query: 'm9',
        envelopeId: null,
        status: null,
        messageIds: ['m9'],
        copies: [
          {
            queue: 'q',
            role: 'queue',
            messageId: 'm9',
            state: 'delayed',
            receiveCount: 0,
            sentAt: '2026-01-01T00:00:00.000Z',
          },
        ],
      }),
    );
    expect(life.events.map((e) => e.title)).toEqual(['on q: delayed, received 0 times']);
    expect(life.status).toBeNull();
  });
});

describe('a message life: what came of it (result, family, completion events)', () => {
  const status = facts().status!;
  const event = {
    at: '2026-01-01T00:00:09.500Z',
    bus: 'stage-events',
    detailType: 'Message Succeeded',
    eventBridgeId: 'eb-1',
    eventId: 'e1:succeeded:2026-01-01T00:00:09.000Z',
    logGroups: [],
  };

  it('a succeeded message: its result kept on the row, its correlation id, parent, children and events', () => {
    const life = buildTimeline(
      facts({
        status: {
          ...status,
          result: { pages: 3 },
          correlationId: 'c-1',
          parentId: 'p-1',
          children: ['k-1', 'k-2'],
        },
        completionEvents: [event],
      }),
    );

    expect([life.result, life.correlationId, life.parentId, life.children, life.completionEvents]).toEqual([
      { kind: 'inline', value: { pages: 3 } },
      'c-1',
      'p-1',
      ['k-1', 'k-2'],
      [event],
    ]);
  });

  it('a result kept in S3 is its URL under the API and its size; none, or not succeeded, is null', () => {
    const stored = buildTimeline(
      facts({
        status: { ...status, result: null, resultRef: { key: 'results/e1.json', bytes: 20_002 } },
        apiUrl: 'http://127.0.0.1:3000',
      }),
    );
    const none = buildTimeline(facts({ status: { ...status, result: null, resultRef: null } }));
    const failed = buildTimeline(facts({ status: { ...status, status: 'failed', result: { x: 1 } } }));
    const unknown = buildTimeline(facts({ status: null }));

    expect(stored.result).toEqual({
      kind: 'stored',
      url: 'http://127.0.0.1:3000/v1/messages/e1/result',
      bytes: 20_002,
    });
    expect([none.result, failed.result, unknown.result]).toEqual([null, null, null]);
    expect([unknown.correlationId, unknown.parentId, unknown.children, unknown.completionEvents]).toEqual([
      null,
      null,
      [],
      [],
    ]);
  });
});
