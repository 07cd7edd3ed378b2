/**
 * aws-sdk-client-mock wiring shared by the consumer and sweeper tests: SQS and S3 clients whose
 * calls are recorded in one ordered log (so tests can assert "archive before DLQ"), an in-memory
 * bucket with S3's conditional-put semantics, and switches to make single calls fail.
 */
import {
  DeleteObjectCommand,
  HeadObjectCommand,
  NotFound,
  PutObjectCommand,
  S3Client,
  S3ServiceException,
  type PutObjectCommandInput,
} from '@aws-sdk/client-s3';
import {
  ChangeMessageVisibilityBatchCommand,
  ChangeMessageVisibilityCommand,
  DeleteMessageBatchCommand,
  DeleteMessageCommand,
  ReceiveMessageCommand,
  SendMessageCommand,
  SQSClient,
  SQSServiceException,
  type ChangeMessageVisibilityCommandInput,
  type Message,
  type SendMessageCommandInput,
} from '@aws-sdk/client-sqs';
import { Logger } from '@aws-lambda-powertools/logger';
import { mockClient, type AwsClientStub } from 'aws-sdk-client-mock';
import { afterAll } from 'vitest';
import type { ArchiveRecord } from '../../lambda/shared/archive';

/** One recorded AWS call. */
export type AwsCall =
  | { readonly op: 'PutObject'; readonly input: PutObjectCommandInput }
  | { readonly op: 'HeadObject'; readonly key: string }
  | { readonly op: 'DeleteObject'; readonly key: string }
  | { readonly op: 'SendMessage'; readonly input: SendMessageCommandInput }
  | { readonly op: 'ChangeMessageVisibility'; readonly input: ChangeMessageVisibilityCommandInput }
  | { readonly op: 'DeleteMessageBatch'; readonly receiptHandles: readonly string[] };

/** A logger that prints nothing. */
export function silentLogger(): Logger {
  return new Logger({ serviceName: 'unit-test', logLevel: 'SILENT' });
}

/** An S3 error as the SDK raises it for an HTTP status. */
export function s3Error(
  status: number,
  name = status === 412 ? 'PreconditionFailed' : 'InternalError',
): S3ServiceException {
  return new S3ServiceException({
    name,
    $fault: status >= 500 ? 'server' : 'client',
    $metadata: { httpStatusCode: status, requestId: 'REQ123', attempts: 1 },
    message: `${name} (HTTP ${status})`,
  });
}

/** An SQS error as the SDK raises it. */
export function sqsError(name = 'ServiceUnavailable', status = 503): SQSServiceException {
  return new SQSServiceException({
    name,
    $fault: status >= 500 ? 'server' : 'client',
    $metadata: { httpStatusCode: status, requestId: 'REQ456', attempts: 3 },
    message: `${name} (HTTP ${status})`,
  });
}

/**
 * Mocked SQS and S3 with an ordered call log and an in-memory archive bucket. Create one per
 * test file (aws-sdk-client-mock stubs the client classes globally) and `reset()` it before
 * each test.
 */
export class FakeAws {
  readonly sqsMock: AwsClientStub<SQSClient> = mockClient(SQSClient);
  readonly s3Mock: AwsClientStub<S3Client> = mockClient(S3Client);
  readonly log: AwsCall[] = [];
  /** Objects of the archive bucket, key → body. */
  readonly objects = new Map<string, string>();
  /** Makes a `PutObject` fail: return the error to throw for the key, or `undefined`. */
  failPut: (key: string) => Error | undefined = () => undefined;
  /** Makes a `HeadObject` fail with something other than "not found". */
  failHead: (key: string) => Error | undefined = () => undefined;
  /** Makes a `SendMessage` fail. */
  failSend: (input: SendMessageCommandInput) => Error | undefined = () => undefined;
  /** Makes a `ChangeMessageVisibility` fail. */
  failVisibility: (input: ChangeMessageVisibilityCommandInput) => Error | undefined = () => undefined;
  /** Makes a `DeleteMessageBatch` fail. */
  failDelete: () => Error | undefined = () => undefined;
  /** Pages `ReceiveMessage` returns, one per call; afterwards it returns no messages. */
  receivePages: Message[][] = [];

  /**
   * Made at the top of a test file: the fakes hold for the whole file. `mockClient` replaces
   * `send` for every `SQSClient` and `S3Client` of the process, and a worker runs more files after
   * this one (`isolate: false`: the unit and local projects), so the file gives them back their
   * real `send` when it ends.
   */
  constructor() {
    this.reset();
    afterAll(() => {
      this.sqsMock.restore();
      this.s3Mock.restore();
    });
  }

  /** Clears calls, objects and failure switches, and reinstalls the fakes. */
  reset(): void {
    this.sqsMock.reset();
    this.s3Mock.reset();
    this.log.length = 0;
    this.objects.clear();
    this.failPut = () => undefined;
    this.failHead = () => undefined;
    this.failSend = () => undefined;
    this.failVisibility = () => undefined;
    this.failDelete = () => undefined;
    this.receivePages = [];
    let sent = 0;

    this.s3Mock.on(PutObjectCommand).callsFake(async (input: PutObjectCommandInput) => {
      this.log.push({ op: 'PutObject', input });
      const key = input.Key!;
      const failure = this.failPut(key);
      if (failure) throw failure;
      if (input.IfNoneMatch === '*' && this.objects.has(key)) throw s3Error(412);
      this.objects.set(key, String(input.Body));
      return { ETag: '"etag"', $metadata: { httpStatusCode: 200 } };
    });
    this.s3Mock.on(DeleteObjectCommand).callsFake(async (input: { Key?: string }) => {
      this.log.push({ op: 'DeleteObject', key: input.Key! });
      this.objects.delete(input.Key!);
      return { $metadata: { httpStatusCode: 204 } };
    });
    this.s3Mock.on(HeadObjectCommand).callsFake(async (input: { Key?: string }) => {
      const key = input.Key!;
      this.log.push({ op: 'HeadObject', key });
      const failure = this.failHead(key);
      if (failure) throw failure;
      if (!this.objects.has(key)) {
        throw new NotFound({ $metadata: { httpStatusCode: 404 }, message: 'NotFound' });
      }
      return { ContentLength: this.objects.get(key)!.length, $metadata: { httpStatusCode: 200 } };
    });
    this.sqsMock.on(SendMessageCommand).callsFake(async (input: SendMessageCommandInput) => {
      this.log.push({ op: 'SendMessage', input });
      const failure = this.failSend(input);
      if (failure) throw failure;
      sent++;
      return { MessageId: `dlq-${sent}`, MD5OfMessageBody: '' };
    });
    this.sqsMock
      .on(ChangeMessageVisibilityCommand)
      .callsFake(async (input: ChangeMessageVisibilityCommandInput) => {
        this.log.push({ op: 'ChangeMessageVisibility', input });
        const failure = this.failVisibility(input);
        if (failure) throw failure;
        return {};
      });
    this.sqsMock
      .on(ReceiveMessageCommand)
      .callsFake(async () => ({ Messages: this.receivePages.shift() ?? [] }));
    this.sqsMock
      .on(ChangeMessageVisibilityBatchCommand)
      .callsFake(async (input: { Entries?: { Id?: string }[] }) => ({
        Successful: (input.Entries ?? []).map((e) => ({ Id: e.Id })),
        Failed: [],
      }));
    this.sqsMock.on(DeleteMessageCommand).rejects(new Error('tests never expect a delete'));
    // Crash isolation deletes done records early; the event source mapping's deletes are not modelled.
    this.sqsMock
      .on(DeleteMessageBatchCommand)
      .callsFake(async (input: { Entries?: { Id?: string; ReceiptHandle?: string }[] }) => {
        this.log.push({
          op: 'DeleteMessageBatch',
          receiptHandles: (input.Entries ?? []).map((e) => e.ReceiptHandle!),
        });
        const failure = this.failDelete();
        if (failure) throw failure;
        return { Successful: (input.Entries ?? []).map((e) => ({ Id: e.Id })), Failed: [] };
      });
  }

  /** The archive records in the bucket, parsed, in the order they were first written. */
  archived(): ArchiveRecord[] {
    return [...this.objects.values()].map((body) => JSON.parse(body) as ArchiveRecord);
  }

  /** `PutObject` calls (attempted writes), in order. */
  puts(): PutObjectCommandInput[] {
    return this.log.flatMap((c) => (c.op === 'PutObject' ? [c.input] : []));
  }

  /** `SendMessage` calls, in order. */
  sends(): SendMessageCommandInput[] {
    return this.log.flatMap((c) => (c.op === 'SendMessage' ? [c.input] : []));
  }

  /** `ChangeMessageVisibility` calls, in order. */
  visibilityChanges(): ChangeMessageVisibilityCommandInput[] {
    return this.log.flatMap((c) => (c.op === 'ChangeMessageVisibility' ? [c.input] : []));
  }

  /** `DeleteMessageBatch` calls: the receipt handles of each, in order. */
  deletes(): (readonly string[])[] {
    return this.log.flatMap((c) => (c.op === 'DeleteMessageBatch' ? [c.receiptHandles] : []));
  }

  /** Position in the log of the first call matching `predicate`, or -1. */
  indexOf(predicate: (call: AwsCall) => boolean): number {
    return this.log.findIndex(predicate);
  }
}
