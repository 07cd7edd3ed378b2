import { describe, expect, it } from 'vitest';
import { statusTransitions, type RowLogs, type TimelineStatus } from '../../local/control/console-timeline';
import type { InvocationRecord } from '../../local/control/journal';

const delivery = (startedAt: string, failed: boolean, id = 'm1'): InvocationRecord => ({
  function: 'Consumer',
  startedAt,
  durationMs: 100,
  messageIds: [id],
  batchItemFailures: failed ? [id] : [],
  error: null,
});

const row = (over: Partial<TimelineStatus> = {}): TimelineStatus => ({
  id: 'e1',
  type: 'probe',
  lane: 'standard',
  status: 'succeeded',
  attempts: 1,
  acceptedAt: '2026-01-01T00:00:00.000Z',
  updatedAt: '2026-01-01T00:00:09.000Z',
  lastError: null,
  failure: null,
  messageIds: ['m1'],
  ...over,
});

const logs = (over: Partial<RowLogs> = {}): RowLogs => ({ runs: [], deferrals: [], waits: [], ...over });
const ids = new Set(['m1']);
const brief = (t: ReturnType<typeof statusTransitions>) => t.map((x) => `${x.at} ${x.state} ${x.source}`);

describe("a message's status transitions (statusTransitions)", () => {
  it('names a failed run a deferral where the row counts only deferrals of its message id', () => {
    // Arrange
    const journal = [delivery('2026-01-01T00:00:01.000Z', true), delivery('2026-01-01T00:00:04.000Z', false)];

    // Act
    const t = statusTransitions(row(), journal, ids, [], logs({ runs: ['m1', 'm1'], deferrals: ['m1'] }));

    // Assert
    expect(brief(t)).toEqual([
      '2026-01-01T00:00:00.000Z accepted row',
      '2026-01-01T00:00:01.000Z processing journal',
      '2026-01-01T00:00:01.100Z deferred derived',
      '2026-01-01T00:00:04.000Z processing journal',
      '2026-01-01T00:00:04.100Z succeeded journal',
    ]);
  });

  it('names a failed run a retry where the row counts no deferral and no unrun delivery', () => {
    // Arrange
    const journal = [delivery('2026-01-01T00:00:01.000Z', true), delivery('2026-01-01T00:00:04.000Z', false)];

    // Act
    const t = statusTransitions(row({ attempts: 2 }), journal, ids, [], logs({ runs: ['m1', 'm1'] }));

    // Assert
    expect(t.map((x) => x.state)).toEqual(['accepted', 'processing', 'retrying', 'processing', 'succeeded']);
    expect(t[2]!.how).toBe("the run's end; it failed and will be retried (the row counts no deferral of m1)");
  });

  it('ends a message given up on with failed, and adds the row state when the journal does not end on it', () => {
    // Arrange
    const journal = [delivery('2026-01-01T00:00:01.000Z', true)];
    const failed = row({ status: 'failed', failure: { kind: 'permanent', archiveKey: 'failed/x' } });
    const waiting = row({ status: 'deferred', attempts: 0, notBefore: '2026-01-01T01:00:00.000Z' });

    // Act
    const given = statusTransitions(failed, journal, ids, [], logs({ runs: ['m1'] }));
    const deferred = statusTransitions(waiting, journal, ids, [], logs({ runs: ['m1'], deferrals: ['m1'] }));
    const sending = statusTransitions(row({ status: 'accepted', attempts: 0 }), [], ids, [], logs());

    // Assert
    expect(given.map((x) => `${x.state} ${x.source}`)).toEqual([
      'accepted row',
      'processing journal',
      'failed journal',
    ]);
    expect(deferred.map((x) => x.state)).toEqual(['accepted', 'processing', 'deferred']);
    expect(sending.map((x) => x.state)).toEqual(['accepted']);
  });

  it('shows a message sent with a notBefore as scheduled, and a delivery hidden again unrun as a wait', () => {
    // Arrange
    const journal = [delivery('2026-01-01T00:00:01.000Z', true)];
    const copy = {
      queue: 'q',
      role: 'queue' as const,
      messageId: 'm1',
      state: 'delayed' as const,
      receiveCount: 1,
      sentAt: '2026-01-01T00:00:00.000Z',
      notBefore: '2026-01-01T02:00:00.000Z',
    };

    // Act
    const t = statusTransitions(
      row({ status: 'scheduled', attempts: 0, notBefore: copy.notBefore }),
      journal,
      ids,
      [copy],
      logs({ waits: ['m1'] }),
    );

    // Assert
    expect(t.map((x) => `${x.state} ${x.source}`)).toEqual(['scheduled row', 'scheduled derived']);
    expect(t[1]!.how).toBe(
      'delivered before its notBefore and hidden again without running (the row counts 1 such delivery)',
    );
  });

  it('says waiting where the row counts more than one kind of failed delivery, or has no logs', () => {
    // Arrange
    const journal = [
      delivery('2026-01-01T00:00:01.000Z', true),
      delivery('2026-01-01T00:00:02.000Z', true),
      delivery('2026-01-01T00:00:04.000Z', false),
    ];

    // Act
    const mixed = statusTransitions(
      row({ attempts: 2 }),
      journal,
      ids,
      [],
      logs({ runs: ['m1', 'm1', 'm1'], deferrals: ['m1'] }),
    );
    const unknown = statusTransitions(row({ attempts: 2 }), journal, ids, [], undefined);

    // Assert
    expect(mixed.map((x) => x.state)).toEqual(['accepted', 'waiting', 'waiting', 'processing', 'succeeded']);
    expect(mixed[1]!.how).toBe(
      'a failed delivery: the row counts 1 retry, 1 deferral and 0 unrun deliveries of m1, not their order',
    );
    expect(unknown[1]!.how).toBe('a failed delivery (no row logs to tell a retry from a deferral)');
  });
});
