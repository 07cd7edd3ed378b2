import { describe, expect, it } from 'vitest';
import { TableStream } from '../../local/aws/streams';

// local/aws/streams.ts: a table's stream in local mode, trimmed past `maxRecords` and after its
// retention. Trimming marks records off and compacts the array now and then; what a reader sees
// must be the same as if the oldest records had been removed one by one.
const STREAM_ARN = 'arn:aws:dynamodb:us-east-1:000000000000:table/t/stream/1970-01-01T00:00:00.000';

function append(stream: TableStream, n: number, now = Date.now()) {
  for (let i = 0; i < n; i++) {
    const index = stream.end;
    stream.append(
      {
        eventName: 'INSERT',
        dynamodb: {
          ApproximateCreationDateTime: Math.floor(now / 1000),
          Keys: { pk: { S: `k${index}` } },
          SequenceNumber: String(index + 1),
          SizeBytes: 10,
          StreamViewType: 'KEYS_ONLY',
        },
      },
      now,
    );
  }
}

const keys = (records: readonly { dynamodb?: { Keys?: { pk?: { S?: string } } } }[]) =>
  records.map((r) => r.dynamodb!.Keys!.pk!.S!);

describe('TableStream', () => {
  it('keeps the newest maxRecords records, whatever the number appended', () => {
    // Arrange
    const stream = new TableStream({ table: 't', streamArn: STREAM_ARN, region: 'us-east-1', maxRecords: 3 });

    // Act: far more appends than the cap, across many compactions
    append(stream, 10_001);

    // Assess
    expect(stream.start).toBe(9_998);
    expect(stream.end).toBe(10_001);
    expect(keys(stream.list())).toEqual(['k9998', 'k9999', 'k10000']);
  });

  it('reads from an absolute index, and from the oldest record kept when the index was trimmed', () => {
    // Arrange
    const stream = new TableStream({ table: 't', streamArn: STREAM_ARN, region: 'us-east-1', maxRecords: 5 });
    append(stream, 12);

    // Act
    const behind = stream.read(0, 2);
    const within = stream.read(9, 10);
    const past = stream.read(12, 10);

    // Assess
    expect(behind.first).toBe(7);
    expect(keys(behind.records)).toEqual(['k7', 'k8']);
    expect(within.first).toBe(9);
    expect(keys(within.records)).toEqual(['k9', 'k10', 'k11']);
    expect(past.records).toEqual([]);
  });

  it('drops records older than the retention, oldest first, together with those past the cap', () => {
    // Arrange
    const stream = new TableStream({
      table: 't',
      streamArn: STREAM_ARN,
      region: 'us-east-1',
      maxRecords: 4,
      retentionMs: 1_000,
    });
    const t0 = Date.now();
    append(stream, 6, t0 - 5_000); // old: only 4 kept
    append(stream, 2, t0); // new: the old ones are past the retention

    // Act
    const kept = stream.read(0, 10);

    // Assess
    expect(stream.start).toBe(6);
    expect(kept.first).toBe(6);
    expect(keys(kept.records)).toEqual(['k6', 'k7']);
    expect(keys(stream.list())).toEqual(['k6', 'k7']);
  });
});
