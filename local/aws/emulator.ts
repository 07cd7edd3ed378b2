import { CreateBucketCommand, S3Client } from '@aws-sdk/client-s3';
import { CreateQueueCommand, GetQueueAttributesCommand, SQSClient } from '@aws-sdk/client-sqs';
import * as path from 'node:path';
import { Worker } from 'node:worker_threads';
import { PACKAGE_ROOT } from '../../lib/package-root';
import { LocalModeError } from '../errors';
import type { Resolver } from '../template/resolver';
import type { TemplateResource } from '../template/reader';

/** Dummy credentials: the emulator accepts any and never checks them. */
export const LOCAL_CREDENTIALS = { accessKeyId: 'local', secretAccessKey: 'local' } as const;

/** A queue as it exists in the emulator. */
export interface LocalQueue {
  readonly logicalId: string;
  readonly name: string;
  /** The URL the emulator created (host `sqs.<region>.localhost`); use it with a client whose endpoint is the emulator. */
  readonly url: string;
  readonly arn: string;
  readonly fifo: boolean;
}

/** What the emulator's non-destructive queue inspection returns (only the fields local mode reads). */
export interface QueueInspection {
  readonly messages: {
    readonly ready: readonly { readonly sentTimestamp: number; readonly approximateReceiveCount: number }[];
    readonly delayed: readonly { readonly sentTimestamp: number }[];
    readonly inflight: readonly {
      readonly message: { readonly sentTimestamp: number; readonly approximateReceiveCount: number };
    }[];
  };
}

/** The embedded SQS + S3 emulator (fauxqs) and SDK clients pointed at it. */
export interface Emulator {
  readonly port: number;
  /** `http://127.0.0.1:<port>`: the endpoint for SDK clients (SQS and S3). */
  readonly endpoint: string;
  readonly region: string;
  /** SQS client for the emulator (explicit endpoint, so queue URLs are not used as endpoints). */
  readonly sqs: SQSClient;
  /** S3 client for the emulator (path-style). */
  readonly s3: S3Client;
  /** The emulator's view of a queue, without receiving anything; `undefined` if it does not exist. */
  inspectQueue(name: string): Promise<QueueInspection | undefined>;
  /** Stops the server (pending long polls return at once). */
  stop(): Promise<void>;
}

/** Options of {@link startEmulator}. */
export interface EmulatorOptions {
  /** TCP port on 127.0.0.1; 0 picks a free one. */
  readonly port: number;
  readonly region: string;
  /**
   * Whether standard queues prefer quiet tenants' messages as SQS fair queues do (the patched
   * emulator's `SqsQueue.fairQueues`; docs/LOCAL-MODE.md, "Fair share between tenants"). @default true
   */
  readonly fairQueues?: boolean;
}

/**
 * Applies the package's emulator patches (`patches/`, via `scripts/postinstall.cjs`) where they
 * are not in place yet: an npm that skips dependencies' install scripts leaves an app's fauxqs
 * unpatched. Returns the files it changed (none when the postinstall ran); a patch that does not
 * fit the installed fauxqs throws, naming it.
 */
export function ensureEmulatorPatches(): string[] {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const { applyAllPatches } = require(path.join(PACKAGE_ROOT, 'scripts', 'postinstall.cjs')) as {
    applyAllPatches(): string[];
  };
  return applyAllPatches();
}

/**
 * Starts fauxqs in its own worker thread (`emulator-worker.mjs`, so its request handling does not
 * compete with the API server and the pollers on the main thread), listening on 127.0.0.1 only.
 * (`startFauxqs` always binds 0.0.0.0, so the app is built with `buildApp` and bound to the
 * loopback interface there; it also makes fauxqs accept SQS's astral characters; queues
 * and buckets are created through the SQS and S3 APIs, like CloudFormation would, so the
 * emulator validates their attributes.)
 */
export async function startEmulator(options: EmulatorOptions): Promise<Emulator> {
  const worker = new Worker(path.join(__dirname, 'emulator-worker.mjs'), {
    workerData: { port: options.port, region: options.region, fairQueues: options.fairQueues ?? true },
    // Plain Node.js: no loader hooks inherited from the host (tsx, vitest).
    execArgv: [],
    name: 'emulator',
  });
  let port: number;
  try {
    port = await new Promise<number>((resolve, reject) => {
      worker.once('error', reject);
      worker.once('exit', (code) => reject(new Error(`the emulator thread exited with code ${code}`)));
      worker.once('message', (msg: { type: string; port?: number; code?: string; message?: string }) => {
        if (msg.type === 'listening') resolve(msg.port!);
        else if (msg.code === 'EADDRINUSE')
          reject(new LocalModeError(`port ${options.port} is in use; set LOCAL_AWS_PORT=<free port>`));
        else reject(new Error(`the emulator did not start: ${msg.message}`));
      });
    });
  } catch (error) {
    await worker.terminate();
    throw error;
  }
  worker.removeAllListeners();
  worker.on('error', () => undefined);
  const endpoint = `http://127.0.0.1:${port}`;
  const common = { endpoint, region: options.region, credentials: LOCAL_CREDENTIALS };
  const sqs = new SQSClient(common);
  const s3 = new S3Client({ ...common, forcePathStyle: true });
  let stopped: Promise<void> | undefined;
  return {
    port,
    endpoint,
    region: options.region,
    sqs,
    s3,
    async inspectQueue(name) {
      const res = await fetch(`${endpoint}/_fauxqs/queues/${encodeURIComponent(name)}`);
      if (res.status === 404) return undefined;
      if (!res.ok) throw new Error(`queue inspection of ${name} failed with HTTP ${res.status}`);
      return (await res.json()) as QueueInspection;
    },
    stop() {
      stopped ??= (async () => {
        sqs.destroy();
        s3.destroy();
        await new Promise<void>((resolve) => {
          const timer = setTimeout(resolve, 5000);
          worker.once('message', () => {
            clearTimeout(timer);
            resolve();
          });
          worker.once('exit', () => {
            clearTimeout(timer);
            resolve();
          });
          worker.postMessage({ type: 'stop' });
        });
        await worker.terminate();
      })();
      return stopped;
    },
  };
}

const NUMERIC_ATTRIBUTES = [
  'DelaySeconds',
  'MaximumMessageSize',
  'MessageRetentionPeriod',
  'ReceiveMessageWaitTimeSeconds',
  'VisibilityTimeout',
] as const;

/**
 * The `CreateQueue` attributes of an `AWS::SQS::Queue`: numeric settings, FIFO settings and the
 * redrive policies (with the dead-letter queue's ARN resolved). Encryption settings have no local
 * meaning and are left out.
 */
export function queueAttributes(queue: TemplateResource, resolver: Resolver): Record<string, string> {
  const at = (property: string) => ({ resource: queue.logicalId, property });
  const p = queue.properties;
  const out: Record<string, string> = {};
  for (const name of NUMERIC_ATTRIBUTES) {
    if (p[name] !== undefined) out[name] = resolver.resolveString(p[name], at(name));
  }
  const fifo = String(resolver.resolve(p.FifoQueue ?? false, at('FifoQueue'))) === 'true';
  if (fifo) {
    out.FifoQueue = 'true';
    if (p.ContentBasedDeduplication !== undefined) {
      out.ContentBasedDeduplication = String(
        resolver.resolve(p.ContentBasedDeduplication, at('ContentBasedDeduplication')),
      );
    }
    for (const name of ['DeduplicationScope', 'FifoThroughputLimit'] as const) {
      if (p[name] !== undefined) out[name] = resolver.resolveString(p[name], at(name));
    }
  }
  for (const name of ['RedrivePolicy', 'RedriveAllowPolicy'] as const) {
    if (p[name] === undefined) continue;
    const v = resolver.resolve(p[name], at(name));
    out[name] = typeof v === 'string' ? v : JSON.stringify(v);
  }
  return out;
}

/**
 * Creates one `AWS::SQS::Queue` and tells the resolver its URL and ARN. `client` defaults to the
 * emulator's own; the emulator puts the port the request was addressed to into the queue URL, so
 * creating through a front endpoint (a proxy) gives URLs that lead SDK clients through it.
 */
export async function createQueue(
  emulator: Emulator,
  queue: TemplateResource,
  resolver: Resolver,
  client: SQSClient = emulator.sqs,
): Promise<LocalQueue> {
  const name = resolver.physicalName(queue.logicalId);
  const attributes = queueAttributes(queue, resolver);
  const tags = Object.fromEntries(
    ((queue.properties.Tags ?? []) as { Key: unknown; Value: unknown }[]).map((t, i) => [
      resolver.resolveString(t.Key, { resource: queue.logicalId, property: `Tags[${i}].Key` }),
      resolver.resolveString(t.Value, { resource: queue.logicalId, property: `Tags[${i}].Value` }),
    ]),
  );
  let url: string;
  let arn: string;
  try {
    url = (await client.send(new CreateQueueCommand({ QueueName: name, Attributes: attributes, tags })))
      .QueueUrl!;
    const out = await emulator.sqs.send(
      new GetQueueAttributesCommand({ QueueUrl: url, AttributeNames: ['QueueArn'] }),
    );
    arn = out.Attributes!.QueueArn!;
  } catch (error) {
    throw new LocalModeError(
      `${queue.logicalId} (AWS::SQS::Queue): the emulator refused it: ${(error as Error).message}`,
      {
        cause: error,
      },
    );
  }
  resolver.provide(queue.logicalId, { Ref: url, QueueUrl: url, Arn: arn, QueueName: name });
  return { logicalId: queue.logicalId, name, url, arn, fifo: attributes.FifoQueue === 'true' };
}

/** Creates one `AWS::S3::Bucket`; returns its name. (Versioning, lifecycle and encryption have no local effect.) */
export async function createBucket(
  emulator: Emulator,
  bucket: TemplateResource,
  resolver: Resolver,
): Promise<string> {
  const name = resolver.physicalName(bucket.logicalId);
  try {
    await emulator.s3.send(new CreateBucketCommand({ Bucket: name }));
  } catch (error) {
    throw new LocalModeError(
      `${bucket.logicalId} (AWS::S3::Bucket): the emulator refused it: ${(error as Error).message}`,
      {
        cause: error,
      },
    );
  }
  return name;
}
