import { describe, expect, it } from 'vitest';
import { matchesArchive, typeOfBody } from '../../ops/lib/archive';
import { resendAttributes, sourceMessageId } from '../../ops/lib/dlq';
import { UsageError } from '../../ops/lib/errors';
import {
  parseDate,
  parseIds,
  parseKind,
  parseLane,
  parseLaneOption,
  parsePayload,
  parsePositive,
  parseQueue,
  parseSelection,
  selectionOptions,
} from '../../ops/lib/filters';
import { clip, table } from '../../ops/lib/format';
import { sdkAttributes } from '../../ops/lib/replay';
import type { ArchiveRecord } from '../../lambda/shared/archive';

const record = (over: Partial<ArchiveRecord> = {}): ArchiveRecord => ({
  v: 1,
  messageId: 'm-1',
  queue: { name: 'q', arn: 'arn:aws:sqs:eu-west-1:1:q' },
  body: JSON.stringify({ type: 'probe' }),
  attributes: {},
  messageAttributes: {},
  receiveCount: 3,
  sentAt: null,
  firstReceivedAt: null,
  archivedAt: '2026-11-22T10:00:00.000Z',
  failure: { kind: 'exhausted', errorName: 'E', errorMessage: 'm' },
  ...over,
});

describe('ops filters', () => {
  it('accepts the documented values', () => {
    expect(parseQueue('fifo')).toBe('fifo');
    expect(parseKind('exhausted')).toBe('exhausted');
    expect(parseIds(' a, b ,,c ')).toEqual(['a', 'b', 'c']);
    expect(parseDate('since', '2026-11-22')?.toISOString()).toBe('2026-11-22T00:00:00.000Z');
    expect(parsePositive('limit', '5')).toBe(5);
    expect(parsePayload('{"mode":"succeed"}')).toEqual({ mode: 'succeed' });
    expect(parseQueue(undefined)).toBeUndefined();
  });

  it('takes --lane <name> for any lane, and --queue standard|fifo as the name of a default lane', () => {
    expect(parseLane('thumbnails')).toBe('thumbnails');
    expect(parseLane('pdf-render2')).toBe('pdf-render2');
    expect(parseLaneOption({ lane: 'thumbnails' })).toBe('thumbnails');
    expect(parseLaneOption({ queue: 'fifo' })).toBe('fifo');
    expect(parseLaneOption({ lane: 'standard' })).toBe('standard');
    expect(parseLaneOption({})).toBeUndefined();
  });

  it.each([
    [() => parseQueue('dlq'), '--queue dlq: use standard or fifo, or --lane <name> for any lane'],
    [() => parseQueue('thumbnails'), /^--queue thumbnails: use standard or fifo, or --lane <name>/],
    [
      () => parseLane('Thumbnails'),
      '--lane Thumbnails: not a lane name (lower case letters, digits and dashes)',
    ],
    [
      () => parseLaneOption({ lane: 'thumbnails', queue: 'standard' }),
      'give --lane <name> or --queue standard|fifo, not both',
    ],
    [() => parseKind('bad'), '--kind bad: use permanent, exhausted, unknown'],
    [() => parseIds(' , '), '--ids: give one or more message ids, separated by commas'],
    [() => parseDate('until', 'last week'), /^--until last week: use an ISO date/],
    [() => parsePositive('limit', '0'), '--limit 0: use a whole number of at least 1'],
    [() => parsePayload('[1]'), 'payload must be a JSON object'],
    [() => parsePayload('{'), /^payload is not JSON/],
  ])('refuses bad usage with its own message (%#)', (fn, message) => {
    expect(fn).toThrow(UsageError);
    expect(fn).toThrow(message);
  });
});

describe('ops selection options', () => {
  it('parses the options named, leaving out the ones not given', () => {
    expect(selectionOptions(['lane', 'ids'])).toEqual({
      lane: { type: 'string' },
      queue: { type: 'string' },
      ids: { type: 'string' },
    });
    const selection = parseSelection(
      { queue: 'fifo', kind: 'permanent', since: '2026-11-22', type: 'probe' },
      ['lane', 'kind', 'since', 'until', 'ids'],
    );
    expect(selection).toEqual({
      lane: 'fifo',
      kind: 'permanent',
      since: new Date('2026-11-22T00:00:00.000Z'),
    });
    expect(parseSelection({ lane: 'thumbnails' }, ['lane', 'type'])).toEqual({ lane: 'thumbnails' });
    expect(parseSelection({}, ['lane', 'type', 'kind', 'since', 'until', 'ids'])).toEqual({});
  });

  it('refuses the first bad option in the order named', () => {
    expect(() => parseSelection({ kind: 'bad', queue: 'dlq' }, ['lane', 'kind'])).toThrow('--queue dlq');
    expect(() => parseSelection({ kind: 'bad', queue: 'dlq' }, ['kind', 'lane'])).toThrow('--kind bad');
  });
});

describe('ops message attributes', () => {
  it('resends the producer attributes, drops the DLQ annotations and adds the marker', () => {
    const out = resendAttributes(
      {
        type: { DataType: 'String', StringValue: 'probe' },
        'failure-kind': { DataType: 'String', StringValue: 'permanent' },
        'failure-error': { DataType: 'String', StringValue: 'E' },
        'original-message-id': { DataType: 'String', StringValue: 'm-0' },
        'source-queue': { DataType: 'String', StringValue: 'q' },
        'redriven-from': { DataType: 'String', StringValue: 'older' },
      },
      { 'redriven-from': 'm-0' },
    );
    expect(out).toEqual({
      type: { DataType: 'String', StringValue: 'probe' },
      'redriven-from': { DataType: 'String', StringValue: 'm-0' },
    });
  });

  it("reads an archive record's attributes in Lambda's and in the SDK's shape", () => {
    expect(
      sdkAttributes({
        type: { stringValue: 'probe', dataType: 'String', stringListValues: [] },
        'correlation-id': { StringValue: 'c-1', DataType: 'String' },
        binary: { binaryValue: 'AA==', dataType: 'Binary' },
      }),
    ).toEqual({
      type: { DataType: 'String', StringValue: 'probe' },
      'correlation-id': { DataType: 'String', StringValue: 'c-1' },
    });
  });

  it("takes a DLQ copy's source id from original-message-id, else its own id", () => {
    expect(
      sourceMessageId({
        MessageId: 'dlq-1',
        MessageAttributes: { 'original-message-id': { DataType: 'String', StringValue: 'm-1' } },
      }),
    ).toBe('m-1');
    expect(sourceMessageId({ MessageId: 'm-2' })).toBe('m-2');
  });
});

describe('ops archive filters', () => {
  it('filters on type, kind and the archived time window', () => {
    const r = record();
    expect(matchesArchive(r, { type: 'probe', kind: 'exhausted' })).toBe(true);
    expect(matchesArchive(r, { type: 'email.send' })).toBe(false);
    expect(matchesArchive(r, { kind: 'permanent' })).toBe(false);
    expect(matchesArchive(r, { since: new Date('2026-11-22T10:00:00.001Z') })).toBe(false);
    expect(matchesArchive(r, { until: new Date('2026-11-22T09:59:59.999Z') })).toBe(false);
    expect(matchesArchive(r, { since: new Date('2026-11-22'), until: new Date('2026-11-23') })).toBe(true);
    expect(typeOfBody('not json')).toBeNull();
  });
});

describe('ops table output', () => {
  it('aligns columns and shows empty cells as –', () => {
    expect(
      table(
        ['a', 'bb', 'c'],
        [
          ['x', null, 'last'],
          ['long', 2, ''],
        ],
      ),
    ).toBe(['a     bb  c', 'x     –   last', 'long  2   –'].join('\n'));
    expect(clip('a  b\nc', 10)).toBe('a b c');
    expect(clip('abcdefghij', 5)).toBe('abcd…');
  });
});
