import { GetObjectCommand, ListObjectsV2Command, NoSuchKey, type S3Client } from '@aws-sdk/client-s3';
import { archiveKey, type ArchiveRecord, type FailureKind } from '../../lambda/shared/archive';
import { httpStatusOf } from '../../lambda/shared/errors';
import { awsFailure, pairsOf, selectedLane, type LaneSelection, type Target } from './target';

/** An archive record with where it lives. */
export interface ArchivedMessage {
  readonly key: string;
  /** The envelope id of its body (the `id` in the 202); `null` for a body that is not an envelope. */
  readonly envelopeId: string | null;
  /** The lane whose queue the message failed on; `null` for a queue the target does not have. */
  readonly lane: string | null;
  /** Same as `lane` (kept for scripts from before lanes). */
  readonly queue: string | null;
  readonly record: ArchiveRecord;
}

/** Filters of `archive list` and `replay`: a lane ({@link LaneSelection}) and the rest. */
export interface ArchiveFilter extends LaneSelection {
  readonly type?: string;
  readonly kind?: FailureKind;
  readonly since?: Date;
  readonly until?: Date;
  /** Envelope ids or SQS message ids (the id the message had when it was archived). */
  readonly ids?: readonly string[];
}

/** The message id a key files its record under (`failed/<queue>/<yyyy>/<mm>/<dd>/<messageId>.json`). */
function idOfKey(key: string): string {
  return key.slice(key.lastIndexOf('/') + 1, -'.json'.length);
}

/** The string field `field` of a JSON object body; `null` if the body is not JSON or has none. */
function stringFieldOfBody(body: string, field: 'type' | 'id'): string | null {
  try {
    const v = (JSON.parse(body) as Record<string, unknown> | null)?.[field];
    return typeof v === 'string' ? v : null;
  } catch {
    return null;
  }
}

/** The job type named by an envelope body, if it is one. */
export function typeOfBody(body: string): string | null {
  return stringFieldOfBody(body, 'type');
}

/** The envelope id of a body, if it is an envelope. */
export function envelopeIdOfBody(body: string): string | null {
  return stringFieldOfBody(body, 'id');
}

/** Reads archive records of a target's bucket: by computed key first, by listing when that misses. */
export class ArchiveReader {
  private index: Map<string, string> | undefined;
  private indexedAt = 0;

  constructor(private readonly target: Target) {}

  private get s3(): S3Client {
    return this.target.s3;
  }

  /** Every key under `failed/` (or `failed/<queue-name>/`). */
  async keys(prefix = 'failed/'): Promise<string[]> {
    const keys: string[] = [];
    let token: string | undefined;
    try {
      do {
        const page = await this.s3.send(
          new ListObjectsV2Command({ Bucket: this.target.bucket, Prefix: prefix, ContinuationToken: token }),
        );
        for (const o of page.Contents ?? []) if (o.Key?.endsWith('.json')) keys.push(o.Key);
        token = page.NextContinuationToken;
      } while (token);
    } catch (error) {
      throw awsFailure(`cannot list s3://${this.target.bucket}/${prefix}`, error);
    }
    return keys;
  }

  /** The record at `key`; `undefined` when there is none. */
  async get(key: string): Promise<ArchiveRecord | undefined> {
    try {
      const obj = await this.s3.send(new GetObjectCommand({ Bucket: this.target.bucket, Key: key }));
      return JSON.parse(await obj.Body!.transformToString()) as ArchiveRecord;
    } catch (error) {
      if (error instanceof NoSuchKey || httpStatusOf(error) === 404 || (error as Error).name === 'NoSuchKey')
        return undefined;
      throw awsFailure(`cannot read s3://${this.target.bucket}/${key}`, error);
    }
  }

  /** The key of a message id, from a listing of the bucket (listed again on a miss, at most every 2 s). */
  async keyOf(messageId: string): Promise<string | undefined> {
    const hit = this.index?.get(messageId);
    if (hit || (this.index && Date.now() - this.indexedAt < 2000)) return hit;
    this.index = new Map();
    this.indexedAt = Date.now();
    for (const k of await this.keys()) this.index.set(idOfKey(k), k);
    return this.index.get(messageId);
  }

  /**
   * The archive record of a message that had `messageId` on `sourceQueue`: at its computed key
   * (docs/DESIGN.md §5), else wherever a listing finds it.
   */
  async find(
    messageId: string,
    hint?: { queueName: string; body: string; sentAt: string | null },
  ): Promise<ArchivedMessage | undefined> {
    if (hint) {
      const key = archiveKey({
        queue: { name: hint.queueName, arn: '' },
        messageId,
        body: hint.body,
        sentAt: hint.sentAt,
        archivedAt: new Date().toISOString(),
      });
      const record = await this.get(key);
      if (record) return this.located(key, record);
    }
    const key = await this.keyOf(messageId);
    if (!key) return undefined;
    const record = await this.get(key);
    return record ? this.located(key, record) : undefined;
  }

  /** Which of the target's lanes a source queue name is. */
  laneOf(queueName: string): string | null {
    return this.target.queues.find((q) => q.source.name === queueName)?.key ?? null;
  }

  private located(key: string, record: ArchiveRecord): ArchivedMessage {
    const lane = this.laneOf(record.queue.name);
    return { key, envelopeId: envelopeIdOfBody(record.body), lane, queue: lane, record };
  }

  /** Records matching `filter`, newest (by `archivedAt`) first. */
  async list(
    filter: ArchiveFilter = {},
    onProgress?: (done: number, total: number) => void,
  ): Promise<ArchivedMessage[]> {
    const lane = selectedLane(filter);
    const prefixes =
      lane === undefined ? ['failed/'] : pairsOf(this.target, lane).map((q) => `failed/${q.source.name}/`);
    let keys = (await Promise.all(prefixes.map((p) => this.keys(p)))).flat();
    // The key's day is the envelope's createdAt: a coarse pre-filter that never drops a match
    // (a message is archived on or after the day it was created).
    if (filter.until) {
      // Stryker disable next-line MethodExpression: equivalent: a key's day (10 characters) compares with the whole ISO time as with its first 10 characters, its prefix
      const until = filter.until.toISOString().slice(0, 10);
      keys = keys.filter((k) => (dayOfKey(k) ?? '') <= until);
    }
    if (filter.ids?.length) {
      // Keys carry message ids only: an id no key carries may be an envelope id, which only the
      // records' bodies hold, so then every record is read.
      const byKey = keys.filter((k) => filter.ids!.includes(idOfKey(k)));
      const named = new Set(byKey.map(idOfKey));
      if (filter.ids.every((id) => named.has(id))) keys = byKey;
    }
    const out: ArchivedMessage[] = [];
    let done = 0;
    for (let i = 0; i < keys.length; i += 16) {
      const chunk = keys.slice(i, i + 16);
      const records = await Promise.all(chunk.map((k) => this.get(k)));
      records.forEach((record, j) => {
        if (record && matchesArchive(record, filter)) out.push(this.located(chunk[j]!, record));
      });
      done += chunk.length;
      onProgress?.(done, keys.length);
    }
    return out.sort((a, b) => b.record.archivedAt.localeCompare(a.record.archivedAt));
  }
}

function dayOfKey(key: string): string | null {
  const m = /\/(\d{4})\/(\d{2})\/(\d{2})\/[^/]+\.json$/.exec(key);
  return m ? `${m[1]}-${m[2]}-${m[3]}` : null;
}

/** Whether an archive record passes `filter` (the lane is applied on keys). */
export function matchesArchive(record: ArchiveRecord, filter: ArchiveFilter): boolean {
  if (
    filter.ids?.length &&
    !filter.ids.includes(record.messageId) &&
    // Stryker disable next-line StringLiteral: equivalent: --ids holds no empty id (parseIds), so a body without an envelope id matches none; any other stand-in that is no given id does the same
    !filter.ids.includes(envelopeIdOfBody(record.body) ?? '')
  )
    return false;
  if (filter.type && typeOfBody(record.body) !== filter.type) return false;
  if (filter.kind && record.failure.kind !== filter.kind) return false;
  const at = Date.parse(record.archivedAt);
  if (filter.since && at < filter.since.getTime()) return false;
  if (filter.until && at > filter.until.getTime()) return false;
  return true;
}
