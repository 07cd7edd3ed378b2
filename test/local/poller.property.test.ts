import fc from 'fast-check';
import {
  DeleteMessageBatchCommand,
  ReceiveMessageCommand,
  type DeleteMessageBatchCommandOutput,
  type Message,
  type SQSClient,
} from '@aws-sdk/client-sqs';
import type { SQSEvent } from 'aws-lambda';
import { describe, expect, it } from 'vitest';
import { interpretBatchResponse, type InvocationResult } from '../../local/triggers/batch-response';
import type { LocalQueue } from '../../local/aws/emulator';
import { Journal } from '../../local/control/journal';
import { createLocalLogger } from '../../local/log';
import { SqsPoller } from '../../local/triggers/poller';
import type { MappingSpec } from '../../local/template/topology';
import type { FunctionHost, InvokeOutcome } from '../../local/functions/host';

// Property-based tests of how local mode's event source mapping reads a function's answer to an SQS
// batch, against an oracle written here from the AWS Lambda developer guide ("Handling errors for
// an SQS event source in Lambda", https://docs.aws.amazon.com/lambda/latest/dg/services-sqs-errorhandling.html):
//
// - a function error (thrown error, timeout, crash) fails the whole batch;
// - without ReportBatchItemFailures, a successful invocation succeeds every record;
// - with it, the batch is a complete success for a null / empty response, and for a null or empty
//   batchItemFailures list;
// - it is a complete failure for an invalid response, an empty-string itemIdentifier, a null
//   itemIdentifier, an itemIdentifier with a bad key name, or one that is not a message of the batch;
// - otherwise exactly the listed records failed.
//
// Whatever did not fail is deleted; whatever failed stays on the queue to be retried.

type Verdict = { kind: 'whole-batch-failed' } | { kind: 'partial'; failed: ReadonlySet<string> };

/** The documented rules, independently of local/triggers/batch-response.ts. */
function oracle(ids: readonly string[], result: InvocationResult, reportBatchItemFailures: boolean): Verdict {
  const none: Verdict = { kind: 'partial', failed: new Set() };
  const whole: Verdict = { kind: 'whole-batch-failed' };
  if (!result.ok) return whole; // function error
  if (!reportBatchItemFailures) return none;
  const response = result.payload;
  if (response === null || response === undefined) return none; // null EventResponse
  if (typeof response !== 'object' || Array.isArray(response)) return whole; // invalid response
  const list = (response as Record<string, unknown>).batchItemFailures;
  if (list === null || list === undefined) return none; // null list (or an empty EventResponse)
  if (!Array.isArray(list)) return whole; // invalid response
  const failed = new Set<string>();
  for (const item of list) {
    if (item === null || typeof item !== 'object' || Array.isArray(item)) return whole; // invalid
    if (!Object.prototype.hasOwnProperty.call(item, 'itemIdentifier')) return whole; // bad key name
    const id = (item as Record<string, unknown>).itemIdentifier;
    if (id === null) return whole; // null itemIdentifier
    if (typeof id !== 'string') return whole; // invalid
    if (id === '') return whole; // empty-string itemIdentifier
    if (!ids.includes(id)) return whole; // message id that does not exist in the batch
    failed.add(id);
  }
  return { kind: 'partial', failed };
}

function failedIds(ids: readonly string[], v: Verdict): Set<string> {
  return v.kind === 'whole-batch-failed' ? new Set(ids) : new Set(v.failed);
}

// ---------------------------------------------------------------- generators

/** Distinct message ids: SQS-like UUIDs, arbitrary text, and names that trip up plain objects. */
const messageIds = fc.uniqueArray(
  fc.oneof(
    { arbitrary: fc.uuid(), weight: 4 },
    { arbitrary: fc.string({ unit: 'binary', minLength: 1, maxLength: 12 }), weight: 1 },
    {
      arbitrary: fc.constantFrom('__proto__', 'constructor', 'toString', 'hasOwnProperty', '0', ' '),
      weight: 1,
    },
  ),
  { minLength: 1, maxLength: 25 },
);

const invocationError = fc.record({
  name: fc.constantFrom(
    'Error',
    'TypeError',
    'Sandbox.Timedout',
    'Runtime.ExitError',
    'Runtime.UnhandledPromiseRejection',
  ),
  message: fc.string({ maxLength: 40 }),
});

/** Extra keys Lambda ignores. */
const extras = fc.dictionary(
  fc
    .string({ maxLength: 8 })
    .filter((k) => k !== 'batchItemFailures' && k !== 'itemIdentifier' && k !== '__proto__'),
  fc.jsonValue({ maxDepth: 1 }),
  { maxKeys: 2 },
);

/** An entry that makes the response invalid as a whole. */
function badEntry(ids: readonly string[]): fc.Arbitrary<unknown> {
  const notInBatch = fc.oneof(
    fc.string({ minLength: 1, maxLength: 12 }),
    fc.uuid(),
    fc.constantFrom(...ids).map((id) => `${id} `),
    fc.constantFrom(...ids).map((id) => ` ${id}`),
    fc.constantFrom(...ids).map((id) => id.toUpperCase()),
    fc.constantFrom(...ids).map((id) => id.slice(1)),
  );
  return fc.oneof(
    fc.constant({ itemIdentifier: '' }),
    fc.constant({ itemIdentifier: null }),
    fc.constant({}),
    fc.constantFrom(...ids).map((id) => ({ itemIdentifer: id })), // bad key names
    fc.constantFrom(...ids).map((id) => ({ ItemIdentifier: id })),
    fc.constantFrom(...ids).map((id) => ({ messageId: id })),
    fc.constantFrom(...ids).map((id) => ({ itemidentifier: id })),
    notInBatch.map((id) => ({ itemIdentifier: id })),
    fc
      .oneof(
        fc.integer(),
        fc.boolean(),
        fc.array(fc.constantFrom(...ids)),
        fc.constantFrom(...ids).map((id) => ({ id })),
      )
      .map((v) => ({ itemIdentifier: v })), // not a string
    fc.oneof(fc.constantFrom(...ids), fc.integer(), fc.constant(null), fc.constant([]), fc.boolean()), // not an object
  );
}

/** Any handler result for a batch of `ids`: valid, empty, malformed or failed. */
function handlerResult(ids: readonly string[]): fc.Arbitrary<InvocationResult> {
  const entry = fc.tuple(fc.constantFrom(...ids), extras).map(([id, x]) => ({ ...x, itemIdentifier: id }));
  const validList = fc.array(entry, { minLength: 1, maxLength: ids.length + 3 });
  const payload: fc.Arbitrary<unknown> = fc.oneof(
    // valid responses naming a subset (duplicates and any order included)
    {
      arbitrary: fc.tuple(validList, extras).map(([list, x]) => ({ ...x, batchItemFailures: list })),
      weight: 6,
    },
    // every record listed
    {
      arbitrary: fc
        .shuffledSubarray([...ids], { minLength: ids.length })
        .map((s) => ({ batchItemFailures: s.map((itemIdentifier) => ({ itemIdentifier })) })),
      weight: 1,
    },
    // complete successes
    {
      arbitrary: fc.oneof(
        fc.constantFrom(null, undefined, {}, { batchItemFailures: [] }, { batchItemFailures: null }),
        extras.map((x) => ({ ...x })),
        extras.map((x) => ({ ...x, batchItemFailures: null })),
      ),
      weight: 3,
    },
    // a valid list spoiled by one bad entry anywhere
    {
      arbitrary: fc.tuple(validList, badEntry(ids), fc.nat()).map(([list, bad, at]) => ({
        batchItemFailures: [
          ...list.slice(0, at % (list.length + 1)),
          bad,
          ...list.slice(at % (list.length + 1)),
        ],
      })),
      weight: 5,
    },
    // malformed responses
    {
      arbitrary: fc.oneof(
        fc.string({ maxLength: 20 }),
        fc.integer(),
        fc.double(),
        fc.boolean(),
        fc.constantFrom('', 'null', '{}', '{"batchItemFailures":[]}'),
        fc.array(entry, { maxLength: 3 }),
        fc.constant([]),
        fc
          .oneof(
            fc.string(),
            fc.integer(),
            fc.boolean(),
            entry,
            fc.dictionary(fc.string(), fc.string(), { maxKeys: 2 }),
          )
          .map((v) => ({ batchItemFailures: v })),
      ),
      weight: 3,
    },
    // anything JSON
    { arbitrary: fc.jsonValue({ maxDepth: 3 }), weight: 1 },
  );
  return fc.oneof(
    { arbitrary: payload.map((p): InvocationResult => ({ ok: true, payload: p })), weight: 5 },
    { arbitrary: invocationError.map((error): InvocationResult => ({ ok: false, error })), weight: 1 },
  );
}

const scenario = messageIds.chain((ids) =>
  fc.record({ ids: fc.constant(ids), result: handlerResult(ids), report: fc.boolean() }),
);

// ---------------------------------------------------------------- interpretBatchResponse

describe('event source mapping response interpretation (properties)', () => {
  it('fails exactly the records the documented rules fail; deleted and retried partition the batch', () => {
    const kinds = { whole: 0, partial: 0, none: 0 };
    fc.assert(
      fc.property(scenario, ({ ids, result, report }) => {
        // Act
        const verdict = interpretBatchResponse(ids, result, report);

        // Assess
        const expected = oracle(ids, result, report);
        const failed = failedIds(ids, expected);
        expect(new Set(verdict.failed)).toEqual(failed);
        expect(verdict.failed, 'failed ids in event order, once each').toEqual(
          ids.filter((id) => failed.has(id)),
        );
        expect(verdict.wholeBatch).toBe(expected.kind === 'whole-batch-failed');
        expect(verdict.reason === null).toBe(!verdict.wholeBatch);
        const retried = new Set(verdict.failed);
        const deleted = ids.filter((id) => !retried.has(id));
        expect([...deleted, ...retried].sort()).toEqual([...ids].sort()); // union is the batch, no overlap
        expect(deleted.some((id) => retried.has(id))).toBe(false);
        if (expected.kind === 'whole-batch-failed') kinds.whole++;
        else if (failed.size === 0) kinds.none++;
        else kinds.partial++;
      }),
      { numRuns: 2000, seed: 424242 },
    );
    // Each rule is exercised, or the property proves little.
    console.log(`interpretBatchResponse: 2000 runs, ${JSON.stringify(kinds)}`);
    expect(kinds.whole).toBeGreaterThan(200);
    expect(kinds.partial).toBeGreaterThan(200);
    expect(kinds.none).toBeGreaterThan(200);
  });

  it('fails the whole batch for any thrown error, timeout or crash, with or without ReportBatchItemFailures', () => {
    fc.assert(
      fc.property(messageIds, invocationError, fc.boolean(), (ids, error, report) => {
        const verdict = interpretBatchResponse(ids, { ok: false, error }, report);
        expect(verdict.failed).toEqual(ids);
        expect(verdict.wholeBatch).toBe(true);
        expect(verdict.reason).toContain(error.name);
      }),
      { numRuns: 300 },
    );
  });

  it('succeeds every record of a successful invocation without ReportBatchItemFailures, whatever it returns', () => {
    fc.assert(
      fc.property(scenario, ({ ids, result }) => {
        fc.pre(result.ok);
        expect(interpretBatchResponse(ids, result, false)).toEqual({
          failed: [],
          wholeBatch: false,
          reason: null,
        });
      }),
      { numRuns: 300 },
    );
  });
});

// ---------------------------------------------------------------- SqsPoller: what gets deleted

/**
 * An in-memory stand-in for the SQS API the poller calls: ReceiveMessage hands out the queued
 * messages (at most MaxNumberOfMessages at a time), DeleteMessageBatch records the receipt handles
 * (optionally reporting some entries as failed, or throwing).
 */
class FakeSqs {
  readonly deleted: string[] = [];
  readonly deleteCalls: { entries: number; ids: string[] }[] = [];
  constructor(
    private readonly queue: Message[],
    private readonly deleteFault: 'none' | 'some-failed' | 'throws',
  ) {}

  async send(command: unknown): Promise<unknown> {
    if (command instanceof ReceiveMessageCommand) {
      const out = this.queue.splice(0, command.input.MaxNumberOfMessages ?? 1);
      if (out.length === 0) await new Promise((r) => setTimeout(r, 2));
      return { Messages: out };
    }
    if (command instanceof DeleteMessageBatchCommand) {
      const entries = command.input.Entries ?? [];
      this.deleteCalls.push({ entries: entries.length, ids: entries.map((e) => e.Id!) });
      for (const e of entries) this.deleted.push(e.ReceiptHandle!);
      if (this.deleteFault === 'throws') throw new Error('service unavailable');
      const out: Partial<DeleteMessageBatchCommandOutput> = {
        Successful: entries
          .filter((_, i) => this.deleteFault === 'none' || i % 2 === 0)
          .map((e) => ({ Id: e.Id! })),
        Failed: entries
          .filter((_, i) => this.deleteFault === 'some-failed' && i % 2 === 1)
          .map((e) => ({ Id: e.Id!, Code: 'ReceiptHandleIsInvalid', SenderFault: true })),
      };
      return out;
    }
    throw new Error(`unexpected command ${(command as object).constructor.name}`);
  }
}

describe('SQS poller (properties)', () => {
  it('deletes exactly the records that succeeded by the documented rules, and journals the rest as failed', async () => {
    await fc.assert(
      fc.asyncProperty(
        scenario,
        fc.boolean(),
        fc.constantFrom<'none' | 'some-failed' | 'throws'>('none', 'none', 'some-failed', 'throws'),
        async ({ ids, result, report }, fifo, deleteFault) => {
          // Arrange
          const messages: Message[] = ids.map((id, i) => ({
            MessageId: id,
            ReceiptHandle: `rh-${i}`,
            Body: `body-${i}`,
            MD5OfBody: 'md5',
            Attributes: {
              ApproximateReceiveCount: '1',
              SentTimestamp: '1',
              ...(fifo ? { MessageGroupId: `g-${i % 3}`, SequenceNumber: String(i) } : {}),
            },
          }));
          const sqs = new FakeSqs([...messages], deleteFault);
          const events: SQSEvent[] = [];
          const host = {
            invoke: async (event: SQSEvent): Promise<InvokeOutcome> => {
              events.push(event);
              const base = { requestId: 'r', startedAt: new Date(0), durationMs: 1 };
              return result.ok
                ? { ...base, ok: true, payload: result.payload }
                : { ...base, ok: false, error: result.error };
            },
          } as unknown as FunctionHost;
          const mapping: MappingSpec = {
            logicalId: 'Mapping',
            functionId: 'Consumer',
            queueId: 'Queue',
            batchSize: ids.length,
            maxBatchingWindowSeconds: 1,
            reportBatchItemFailures: report,
            enabled: true,
          };
          const queue: LocalQueue = {
            logicalId: 'Queue',
            name: fifo ? 'q.fifo' : 'q',
            url: 'http://sqs.us-east-1.localhost/000000000000/q',
            arn: 'arn:aws:sqs:us-east-1:000000000000:q',
            fifo,
          };
          const journal = new Journal(10);
          const poller = new SqsPoller({
            mapping,
            queue,
            host,
            sqs: sqs as unknown as SQSClient,
            journal,
            region: 'us-east-1',
            logger: createLocalLogger('silent'),
            concurrency: 1,
          });

          // Act
          poller.start();
          try {
            const deadline = Date.now() + 5000;
            while (journal.length === 0) {
              if (Date.now() > deadline) throw new Error('the poller never finished the batch');
              await new Promise((r) => setTimeout(r, 1));
            }
          } finally {
            await poller.stop(1000);
          }

          // Assess
          const failed = failedIds(ids, oracle(ids, result, report));
          expect(events).toHaveLength(1);
          expect(events[0]!.Records.map((r) => r.messageId)).toEqual(ids);
          const deleted = new Set(sqs.deleted);
          const expectedDeleted = new Set(
            messages.filter((m) => !failed.has(m.MessageId!)).map((m) => m.ReceiptHandle!),
          );
          expect(deleted).toEqual(expectedDeleted);
          expect(sqs.deleted).toHaveLength(deleted.size); // each at most once
          for (const call of sqs.deleteCalls) {
            expect(call.entries).toBeGreaterThanOrEqual(1);
            expect(call.entries).toBeLessThanOrEqual(10); // SQS's batch limit
            expect(new Set(call.ids).size).toBe(call.ids.length); // ids unique within a call
          }
          const [record] = journal.list();
          expect(record!.messageIds).toEqual(ids);
          expect(record!.batchItemFailures).toEqual(ids.filter((id) => failed.has(id)));
          expect(record!.error).toEqual(result.ok ? null : result.error);
        },
      ),
      { numRuns: 250, seed: 777 },
    );
  });
});
