import { s3With, type S3Source } from './s3';
import { ARCHIVE_PREFIX } from './constants';
import { isTenantName } from './envelope';
import { ArchiveWriteError, httpStatusOf } from './errors';

export { FAILURE_KINDS, type FailureKind } from './failure-kinds';
import type { FailureKind } from './failure-kinds';

/** A failure archive record (docs/DESIGN.md §5). */
export interface ArchiveRecord {
  readonly v: 1;
  readonly messageId: string;
  readonly queue: { readonly name: string; readonly arn: string };
  readonly body: string;
  readonly attributes: Record<string, string>;
  readonly messageAttributes: Record<string, unknown>;
  readonly receiveCount: number;
  readonly sentAt: string | null;
  readonly firstReceivedAt: string | null;
  readonly archivedAt: string;
  readonly failure: { readonly kind: FailureKind; readonly errorName: string; readonly errorMessage: string };
  /**
   * Who sent the message: the envelope's `tenant` (also in `body`), here to find a tenant's
   * records without parsing bodies. Absent when the body carries none.
   */
  readonly tenant?: string;
}

/** The minimal view of a message the archive needs; both Lambda records and SDK messages map to it. */
export interface ArchivableMessage {
  readonly messageId: string;
  readonly body: string;
  readonly attributes: { readonly [name: string]: string | undefined } | object;
  readonly messageAttributes: Record<string, unknown>;
}

/** Writes archive records; idempotent per key. */
export interface ArchiveWriter {
  /**
   * Writes `record` unless one already exists (resolves `'exists'` then); with `replace`, writes
   * it in any case (the consumer replacing its own provisional record). Throws {@link ArchiveWriteError}.
   */
  write(record: ArchiveRecord, options?: { replace?: boolean }): Promise<'written' | 'exists'>;
  /** Removes a record (a provisional one whose final attempt succeeded). Throws {@link ArchiveWriteError}. */
  remove(
    record: Pick<ArchiveRecord, 'queue' | 'messageId' | 'body' | 'sentAt' | 'archivedAt'>,
  ): Promise<void>;
}

/** The queue name in an SQS ARN (`arn:aws:sqs:<region>:<account>:<name>`). */
export function queueNameFromArn(arn: string): string {
  return arn.slice(arn.lastIndexOf(':') + 1);
}

function isoFromEpochMs(v: string | undefined): string | null {
  if (!v || !/^\d+$/.test(v)) return null;
  return new Date(Number(v)).toISOString();
}

/**
 * The day a record is filed under: the envelope's `createdAt` when the body is an envelope (it
 * survives redrives, so every writer computes the same key), else the send time, else `now`.
 */
export function archiveDay(body: string, sentAt: string | null, now: Date): Date {
  try {
    const created = (JSON.parse(body) as { createdAt?: unknown }).createdAt;
    if (typeof created === 'string' && !Number.isNaN(Date.parse(created))) return new Date(created);
  } catch {
    /* not JSON: fall through */
  }
  return sentAt ? new Date(sentAt) : now;
}

/** The envelope's `tenant` of a message body, or `undefined` (no envelope, or no tenant). */
export function tenantOfBody(body: string): string | undefined {
  try {
    const tenant = (JSON.parse(body) as { tenant?: unknown } | null)?.tenant;
    return isTenantName(tenant) ? tenant : undefined;
  } catch {
    return undefined;
  }
}

/** `failed/<queue-name>/<yyyy>/<mm>/<dd>/<messageId>.json` */
export function archiveKey(
  record: Pick<ArchiveRecord, 'queue' | 'messageId' | 'body' | 'sentAt' | 'archivedAt'>,
): string {
  const d = archiveDay(record.body, record.sentAt, new Date(record.archivedAt));
  const yyyy = String(d.getUTCFullYear()).padStart(4, '0');
  const mm = String(d.getUTCMonth() + 1).padStart(2, '0');
  const dd = String(d.getUTCDate()).padStart(2, '0');
  return `${ARCHIVE_PREFIX}${record.queue.name}/${yyyy}/${mm}/${dd}/${record.messageId}.json`;
}

/** Builds the archive record of a message that is being given up on. */
export function buildArchiveRecord(
  message: ArchivableMessage,
  queue: { name: string; arn: string },
  failure: { kind: FailureKind; error: unknown },
  now: Date = new Date(),
): ArchiveRecord {
  const err = failure.error;
  const errorName = err instanceof Error ? err.name : 'Error';
  const errorMessage = err instanceof Error ? err.message : String(err);
  const tenant = tenantOfBody(message.body);
  const attributes = Object.fromEntries(
    Object.entries(message.attributes as Record<string, unknown>).filter(
      (e): e is [string, string] => typeof e[1] === 'string',
    ),
  );
  return {
    v: 1,
    messageId: message.messageId,
    queue,
    body: message.body,
    attributes,
    messageAttributes: message.messageAttributes,
    receiveCount: Number(attributes.ApproximateReceiveCount ?? 0),
    sentAt: isoFromEpochMs(attributes.SentTimestamp),
    firstReceivedAt: isoFromEpochMs(attributes.ApproximateFirstReceiveTimestamp),
    archivedAt: now.toISOString(),
    failure: { kind: failure.kind, errorName, errorMessage: errorMessage.slice(0, 4096) },
    ...(tenant !== undefined ? { tenant } : {}),
  };
}

/**
 * Archive writer backed by S3. Writes are conditional (`If-None-Match: *`), so a record is
 * written once whoever writes it first. With `checkFirst`, a `HeadObject` skips the write when
 * the record exists (used by the sweeper, which sees the same DLQ message on every run).
 */
export class S3ArchiveWriter implements ArchiveWriter {
  constructor(
    /** A client, or a function that makes one on first use (`lazyS3Client`: no S3 SDK at cold start). */
    private readonly s3: S3Source,
    private readonly bucket: string,
    private readonly options: { checkFirst?: boolean } = {},
  ) {}

  async write(record: ArchiveRecord, options: { replace?: boolean } = {}): Promise<'written' | 'exists'> {
    const key = archiveKey(record);
    try {
      if (!options.replace && this.options.checkFirst && (await this.exists(key))) return 'exists';
      const [s3, { PutObjectCommand }] = await s3With(this.s3);
      await s3.send(
        new PutObjectCommand({
          Bucket: this.bucket,
          Key: key,
          Body: JSON.stringify(record),
          ContentType: 'application/json',
          ...(options.replace ? {} : { IfNoneMatch: '*' }),
        }),
      );
      return 'written';
    } catch (error) {
      // S3's answer to `If-None-Match: *` when the object exists (any SDK service error carries it).
      if (httpStatusOf(error) === 412) return 'exists';
      throw new ArchiveWriteError(`Could not write archive record s3://${this.bucket}/${key}`, {
        cause: error,
      });
    }
  }

  async remove(
    record: Pick<ArchiveRecord, 'queue' | 'messageId' | 'body' | 'sentAt' | 'archivedAt'>,
  ): Promise<void> {
    const key = archiveKey(record);
    try {
      const [s3, { DeleteObjectCommand }] = await s3With(this.s3);
      await s3.send(new DeleteObjectCommand({ Bucket: this.bucket, Key: key }));
    } catch (error) {
      throw new ArchiveWriteError(`Could not remove archive record s3://${this.bucket}/${key}`, {
        cause: error,
      });
    }
  }

  private async exists(key: string): Promise<boolean> {
    const [s3, { HeadObjectCommand, NotFound }] = await s3With(this.s3);
    try {
      await s3.send(new HeadObjectCommand({ Bucket: this.bucket, Key: key }));
      return true;
    } catch (error) {
      if (error instanceof NotFound || httpStatusOf(error) === 404) return false;
      throw error;
    }
  }
}
