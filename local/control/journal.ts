/** The error of a failed invocation: a thrown error, a timeout (`Sandbox.Timedout`) or a crash (`Runtime.ExitError`). */
export interface InvocationError {
  readonly name: string;
  readonly message: string;
}

/** One function invocation, as `GET /_local/invocations` reports it (docs/DESIGN.md §6 item 8). */
export interface InvocationRecord {
  /** Logical id of the function. */
  readonly function: string;
  /** ISO timestamp of the start. */
  readonly startedAt: string;
  readonly durationMs: number;
  /** SQS message ids in event order; `[]` for API and scheduled invocations. */
  readonly messageIds: readonly string[];
  /** Ids the event source mapping treated as failed (every id when `error` is set). */
  readonly batchItemFailures: readonly string[];
  readonly error: InvocationError | null;
}

/**
 * The record of an invocation that was not an event source mapping's (API, authorizer, schedule):
 * no message ids; a failed outcome's error.
 */
export function directInvocationRecord(
  functionId: string,
  outcome: {
    readonly startedAt: Date;
    readonly durationMs: number;
    readonly ok: boolean;
    readonly error?: InvocationError;
  },
): InvocationRecord {
  return {
    function: functionId,
    startedAt: outcome.startedAt.toISOString(),
    durationMs: outcome.durationMs,
    messageIds: [],
    batchItemFailures: [],
    error: outcome.ok ? null : (outcome.error ?? null),
  };
}

/** Default capacity of a {@link Journal}: docs/DESIGN.md §6 promises at least the last 50,000 invocations. */
export const DEFAULT_JOURNAL_CAPACITY = 50_000;

/**
 * A fixed-size ring buffer of invocation records: appending is O(1) and, once full, each new
 * record replaces the oldest recorded. Records arrive when invocations finish, but
 * {@link Journal.list} orders them by start (as `GET /_local/invocations` documents).
 *
 * @example
 * const journal = new Journal();
 * journal.record({ function: 'Fn', startedAt, durationMs: 3, messageIds: [], batchItemFailures: [], error: null });
 * journal.list(); // oldest first
 */
export class Journal {
  private readonly buffer: (InvocationRecord | undefined)[];
  private next = 0;
  private size = 0;
  /** Whether some record started before one recorded earlier (then `list` sorts). */
  private outOfOrder = false;
  private lastStartedAt = '';
  /** `list()`'s sorted records until the next change. */
  private sorted?: InvocationRecord[];
  private readonly listeners = new Set<(entry: InvocationRecord) => void>();

  constructor(readonly capacity: number = DEFAULT_JOURNAL_CAPACITY) {
    if (!Number.isInteger(capacity) || capacity < 1)
      throw new Error(`journal capacity must be a positive integer, got ${capacity}`);
    this.buffer = new Array<InvocationRecord | undefined>(capacity);
  }

  /** Appends a record, dropping the oldest when full. */
  record(entry: InvocationRecord): void {
    if (entry.startedAt < this.lastStartedAt) this.outOfOrder = true;
    else this.lastStartedAt = entry.startedAt;
    this.sorted = undefined;
    this.buffer[this.next] = entry;
    this.next = (this.next + 1) % this.capacity;
    this.size = Math.min(this.size + 1, this.capacity);
    for (const listener of this.listeners) listener(entry);
  }

  /** Calls `listener` with each record appended from now on; returns the call that stops it. */
  onRecord(listener: (entry: InvocationRecord) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** Number of records held. */
  get length(): number {
    return this.size;
  }

  /** Every record held, oldest first by start (records that started together in the order recorded). */
  list(): InvocationRecord[] {
    if (this.outOfOrder && this.sorted) return [...this.sorted];
    const start = (this.next - this.size + this.capacity) % this.capacity;
    const out: InvocationRecord[] = new Array(this.size);
    for (let i = 0; i < this.size; i++) out[i] = this.buffer[(start + i) % this.capacity]!;
    if (!this.outOfOrder) return out;
    // Array.prototype.sort is stable: equal starts keep the order they were recorded in.
    this.sorted ??= out.sort((a, b) => (a.startedAt < b.startedAt ? -1 : a.startedAt > b.startedAt ? 1 : 0));
    return [...this.sorted];
  }

  /** Forgets every record. */
  clear(): void {
    this.buffer.fill(undefined);
    this.next = 0;
    this.size = 0;
    this.outOfOrder = false;
    this.lastStartedAt = '';
    this.sorted = undefined;
  }
}
