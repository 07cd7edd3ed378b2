import { randomBytes } from 'node:crypto';
import type { DynamoDBRecord, StreamRecord } from 'aws-lambda';

/** What the DynamoDB emulator's process tells for one write (dynalite-streams.mjs). */
export interface CapturedWrite {
  readonly eventName: 'INSERT' | 'MODIFY' | 'REMOVE';
  readonly dynamodb: StreamRecord & {
    readonly SequenceNumber: string;
    readonly ApproximateCreationDateTime: number;
  };
}

/** A stream record as local mode keeps it: Lambda's record shape plus when it arrived. */
export interface LocalStreamRecord extends DynamoDBRecord {
  readonly eventID: string;
  readonly eventName: 'INSERT' | 'MODIFY' | 'REMOVE';
  readonly dynamodb: CapturedWrite['dynamodb'];
  readonly eventSourceARN: string;
  /** Epoch ms of the capture (for the record's age). */
  readonly arrivedAt: number;
}

/** Options of {@link TableStream}. */
export interface TableStreamOptions {
  readonly table: string;
  /** The table's `StreamArn` (what event source mappings name as `EventSourceArn`). */
  readonly streamArn: string;
  readonly region: string;
  /** DynamoDB Streams keeps records 24 hours. @default 24 h */
  readonly retentionMs?: number;
  /** Most records kept, oldest trimmed first (memory bound of local mode). @default 100 000 */
  readonly maxRecords?: number;
}

/**
 * One table's stream, in memory: a single shard (`shardId`) of records in write order, trimmed
 * after the retention period or past `maxRecords`. Readers keep their own position (an absolute
 * index: {@link TableStream.read}); a reader behind the trim point continues at the oldest record
 * kept, as a TRIM_HORIZON iterator would.
 */
export class TableStream {
  readonly table: string;
  readonly streamArn: string;
  readonly shardId: string;
  private readonly region: string;
  private readonly retentionMs: number;
  private readonly maxRecords: number;
  /**
   * The records kept are `records[head…]`; the slots before `head` were trimmed (emptied, so their
   * records can be collected) and are dropped from the array in one copy once they are at least
   * half of it. Trimming one record per append (a stream at `maxRecords`) so costs O(1) amortized:
   * a copy of the whole array per append, as before, was 100,000 entries per write at the default
   * cap, and made a long local run slower and slower (bench/README.md, fourth pass).
   */
  private records: (LocalStreamRecord | undefined)[] = [];
  private head = 0;
  /** Absolute index of `records[head]`. */
  private base = 0;
  private readonly waiters = new Set<() => void>();

  constructor(options: TableStreamOptions) {
    this.table = options.table;
    this.streamArn = options.streamArn;
    this.region = options.region;
    this.retentionMs = options.retentionMs ?? 24 * 3_600_000;
    this.maxRecords = options.maxRecords ?? 100_000;
    this.shardId = `shardId-${String(Date.now()).padStart(20, '0')}-${randomBytes(4).toString('hex')}`;
  }

  /** Appends a captured write (in capture order) and wakes the readers. */
  append(write: CapturedWrite, now = Date.now()): LocalStreamRecord {
    const record: LocalStreamRecord = {
      eventID: randomBytes(16).toString('hex'),
      eventName: write.eventName,
      eventVersion: '1.1',
      eventSource: 'aws:dynamodb',
      awsRegion: this.region,
      dynamodb: write.dynamodb,
      eventSourceARN: this.streamArn,
      arrivedAt: now,
    };
    this.records.push(record);
    this.trim(now);
    for (const w of [...this.waiters]) w();
    return record;
  }

  /** Absolute index one past the newest record. */
  get end(): number {
    return this.base + this.kept;
  }

  /** Number of records kept. */
  private get kept(): number {
    return this.records.length - this.head;
  }

  /** Absolute index of the oldest record kept. */
  get start(): number {
    return this.base;
  }

  /** Up to `max` records from absolute index `from` (clamped to the oldest kept), with their indexes. */
  read(
    from: number,
    max: number,
  ): { readonly first: number; readonly records: readonly LocalStreamRecord[] } {
    this.trim(Date.now());
    const first = Math.max(from, this.base);
    const at = this.head + first - this.base;
    return { first, records: this.records.slice(at, at + max) as LocalStreamRecord[] };
  }

  /** Resolves when a record past `index` exists, or after `ms`. */
  waitBeyond(index: number, ms: number): Promise<void> {
    if (this.end > index) return Promise.resolve();
    return new Promise((resolve) => {
      const done = () => {
        clearTimeout(timer);
        this.waiters.delete(done);
        resolve();
      };
      const timer = setTimeout(done, ms);
      this.waiters.add(done);
    });
  }

  /** Every record kept, oldest first. */
  list(): readonly LocalStreamRecord[] {
    return this.records.slice(this.head) as LocalStreamRecord[];
  }

  private trim(now: number): void {
    const kept = this.kept;
    let drop = Math.max(0, kept - this.maxRecords);
    while (drop < kept && now - this.records[this.head + drop]!.arrivedAt > this.retentionMs) drop++;
    if (drop === 0) return;
    this.records.fill(undefined, this.head, this.head + drop);
    this.head += drop;
    this.base += drop;
    if (this.head >= this.records.length / 2) {
      this.records = this.records.slice(this.head);
      this.head = 0;
    }
  }
}

/** The event record of a kept stream record: Lambda's shape, without local bookkeeping. */
export function toStreamEventRecord(record: LocalStreamRecord): DynamoDBRecord {
  const { arrivedAt: _arrivedAt, ...rest } = record;
  return rest;
}
