/**
 * The local stage as tests and benches drive it: {@link startStage} (local mode on ephemeral
 * ports with SDK clients pointed at its emulator), polling, and what the queues, the journal and
 * the archive bucket hold.
 */
import { ListObjectsV2Command, GetObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { SQSClient } from '@aws-sdk/client-sqs';
import type { ArchiveRecord } from '../lambda/shared/archive';
import { startLocal, type LocalHandle, type StartLocalOptions } from '../local';
import { readQueueDepth } from '../ops/lib/queue-depth';
import { authHeaders, localTenantAuth, type ApiAuth } from '../ops/lib/request-auth';
import type { HealthReport } from '../local/control/endpoints';
import { TEST_CDK_OUT } from './assembly';

/** A running local stage plus SDK clients pointed at its emulator. */
export interface LocalStage {
  readonly local: LocalHandle;
  readonly sqs: SQSClient;
  readonly s3: S3Client;
  /** `{ url, arn, name }` of a queue by logical id (StandardQueue, StandardDlq, FifoQueue, FifoDlq). */
  queue(logicalId: string): { url: string; arn: string; name: string };
  bucket(): string;
  /**
   * POSTs JSON to the API as the stage's first tenant, authenticated the stage's way (its API key,
   * or a SigV4 signature on an iam stage); returns status, headers and parsed body.
   */
  post(route: string, body: unknown, headers?: Record<string, string>): Promise<ApiAnswer>;
  /** GETs `route` as the stage's first tenant, authenticated as {@link post} is. */
  get(route: string, headers?: Record<string, string>): Promise<ApiAnswer>;
  /** Raw request to the API (no authentication added). */
  request(route: string, init: RequestInit): Promise<ApiAnswer>;
  stop(): Promise<void>;
}

/** An API answer. */
export interface ApiAnswer {
  readonly status: number;
  readonly headers: Headers;
  readonly body: any; // eslint-disable-line @typescript-eslint/no-explicit-any
  readonly text: string;
}

/** Starts the local stage on ephemeral ports, quietly, from the test assembly. */
export async function startStage(options: Partial<StartLocalOptions> = {}): Promise<LocalStage> {
  const local = await startLocal({
    cdkOut: TEST_CDK_OUT,
    synth: false,
    apiPort: 0,
    awsPort: 0,
    logs: 'silent',
    envFile: null,
    ...options,
  });
  const client = {
    endpoint: local.awsEndpoint,
    region: local.region,
    credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
  };
  const sqs = new SQSClient({ ...client, useQueueUrlAsEndpoint: false });
  const s3 = new S3Client({ ...client, forcePathStyle: true });
  const request = async (route: string, init: RequestInit): Promise<ApiAnswer> => {
    const res = await fetch(`${local.apiUrl}${route}`, init);
    const text = await res.text();
    let body: unknown = undefined;
    try {
      body = JSON.parse(text);
    } catch {
      body = undefined;
    }
    return { status: res.status, headers: res.headers, body, text };
  };
  const [firstTenant] = Object.values(local.auth.tenants);
  const auth: ApiAuth = (local.auth.mode === 'iam' && localTenantAuth('iam', firstTenant)) || {
    mode: 'apiKey',
    apiKey: local.apiKey,
  };
  /** `request` as the first tenant: the stage's authentication over the headers given. */
  const authed = async (route: string, method: string, headers: Record<string, string>, body?: string) =>
    request(route, {
      method,
      headers: await authHeaders(
        { name: 'local', region: local.region, auth },
        { method, url: `${local.apiUrl}${route}`, headers, ...(body === undefined ? {} : { body }) },
        () => {
          throw new Error('the local stage has no API key');
        },
      ),
      ...(body === undefined ? {} : { body }),
    });
  return {
    local,
    sqs,
    s3,
    queue(logicalId) {
      const q = local.env.queues[logicalId];
      if (!q) throw new Error(`no queue ${logicalId}; have ${Object.keys(local.env.queues).join(', ')}`);
      return q;
    },
    bucket() {
      const [name] = Object.values(local.env.buckets);
      if (!name) throw new Error('no bucket');
      return name;
    },
    request,
    post: (route, body, headers = {}) =>
      authed(
        route,
        'POST',
        { 'content-type': 'application/json', ...headers },
        typeof body === 'string' ? body : JSON.stringify(body),
      ),
    get: (route, headers = {}) => authed(route, 'GET', headers),
    async stop() {
      sqs.destroy();
      s3.destroy();
      await local.stop();
    },
  };
}

/** Polls `check` until it returns a value other than `undefined`/`false`, or fails after `timeoutMs`. */
export async function waitFor<T>(
  what: string,
  check: () => Promise<T | undefined | false> | T | undefined | false,
  timeoutMs = 30_000,
  everyMs = 200,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value !== undefined && value !== false) return value;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, everyMs));
  }
}

/** What happened to one message id across the journal: attempts, successes, failures. */
export function attemptsOf(
  local: LocalHandle,
  messageId: string,
): { attempts: number; succeeded: number; failed: number } {
  let attempts = 0;
  let succeeded = 0;
  for (const inv of local.journal.list()) {
    if (!inv.messageIds.includes(messageId)) continue;
    attempts++;
    if (!inv.batchItemFailures.includes(messageId)) succeeded++;
  }
  return { attempts, succeeded, failed: attempts - succeeded };
}

/** Whether the local stage has work running: an invocation or a poller's batch (`GET /_local/health`). */
export async function isBusy(local: LocalHandle): Promise<boolean> {
  const health = (await (await fetch(`${local.apiUrl}/_local/health`)).json()) as HealthReport;
  return (
    Object.values(health.functions).some((f) => f.active > 0) ||
    Object.values(health.pollers).some((p) => p.activeBatches > 0)
  );
}

/** Visible + in-flight + delayed message counts of a queue. */
export async function depth(sqs: SQSClient, url: string): Promise<number> {
  const d = await readQueueDepth(sqs, url);
  return d.visible + d.inFlight + d.delayed;
}

/** Every archive record in the bucket, by message id. */
export async function archiveRecords(
  s3: S3Client,
  bucket: string,
): Promise<Map<string, { key: string; record: ArchiveRecord }>> {
  const out = new Map<string, { key: string; record: ArchiveRecord }>();
  let token: string | undefined;
  do {
    const page = await s3.send(
      new ListObjectsV2Command({ Bucket: bucket, Prefix: 'failed/', ContinuationToken: token }),
    );
    for (const o of page.Contents ?? []) {
      const obj = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: o.Key! }));
      const record = JSON.parse(await obj.Body!.transformToString()) as ArchiveRecord;
      out.set(record.messageId, { key: o.Key!, record });
    }
    token = page.NextContinuationToken;
  } while (token);
  return out;
}
