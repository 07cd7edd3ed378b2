import type { Resolver } from './resolver';
import type { TemplateResource } from './reader';
import type { FunctionSpec, MappingSpec } from './topology';

/*
 * Event source mapping configurations that Lambda refuses when the mapping is created (so a
 * deploy of the template fails), refused by local mode at startup in the same words:
 *
 * - `BatchSize` 1–10 000 for a standard queue, 1–10 for a FIFO queue, and a batch size above 10
 *   only with `MaximumBatchingWindowInSeconds` ≥ 1 (Lambda API reference, CreateEventSourceMapping:
 *   "When you set BatchSize to a value greater than 10, you must set MaximumBatchingWindowInSeconds
 *   to at least 1"; InvalidParameterValueException).
 * - `MaximumBatchingWindowInSeconds` 0–300.
 * - A function timeout longer than the queue's visibility timeout ("Configuring a queue to use
 *   with Lambda": Lambda refuses the mapping; InvalidParameterValueException "Queue visibility
 *   timeout: … seconds is less than Function timeout: … seconds").
 * - Two mappings of the same queue and function (ResourceConflictException "An event source
 *   mapping with SQS arn … and function … already exists").
 */

/** Lambda's bounds for SQS event source mappings. */
export const MAPPING_LIMITS = {
  maxStandardBatchSize: 10_000,
  maxFifoBatchSize: 10,
  maxBatchSizeWithoutWindow: 10,
  maxBatchingWindowSeconds: 300,
} as const;

/** SQS's default `VisibilityTimeout` (seconds) when the template sets none. */
const DEFAULT_VISIBILITY_SECONDS = 30;

/** What {@link refuseMappings} needs from the template. */
export interface MappingRefusalContext {
  readonly functions: readonly FunctionSpec[];
  readonly queues: readonly TemplateResource[];
  /** The `AWS::Lambda::EventSourceMapping` resources, by logical id. */
  readonly mappingResources: ReadonlyMap<string, TemplateResource>;
  readonly resolver: Resolver;
  /** Throws the startup error naming the resource. */
  readonly fail: (r: TemplateResource, message: string) => never;
}

/**
 * Throws (through `context.fail`, naming the mapping) on the first mapping Lambda would refuse
 * at creation; returns when every mapping would be accepted. Disabled mappings are checked too:
 * Lambda validates them the same way.
 */
export function refuseMappings(mappings: readonly MappingSpec[], context: MappingRefusalContext): void {
  const { functions, queues, mappingResources, resolver, fail } = context;
  const seen = new Map<string, string>();
  for (const m of mappings) {
    const r = mappingResources.get(m.logicalId)!;
    const queue = queues.find((q) => q.logicalId === m.queueId)!;
    const fn = functions.find((f) => f.logicalId === m.functionId)!;
    const at = (property: string) => ({ resource: queue.logicalId, property });
    const fifo = String(resolver.resolve(queue.properties.FifoQueue ?? false, at('FifoQueue'))) === 'true';
    const maxBatch = fifo ? MAPPING_LIMITS.maxFifoBatchSize : MAPPING_LIMITS.maxStandardBatchSize;
    const invalid = (message: string) => fail(r, `InvalidParameterValueException: ${message}`);

    if (!Number.isInteger(m.batchSize) || m.batchSize < 1 || m.batchSize > maxBatch)
      invalid(
        `BatchSize ${m.batchSize} is outside 1–${maxBatch} for ${fifo ? 'a FIFO' : 'a standard'} queue`,
      );
    if (
      !Number.isInteger(m.maxBatchingWindowSeconds) ||
      m.maxBatchingWindowSeconds < 0 ||
      m.maxBatchingWindowSeconds > MAPPING_LIMITS.maxBatchingWindowSeconds
    )
      invalid(
        `MaximumBatchingWindowInSeconds ${m.maxBatchingWindowSeconds} is outside 0–${MAPPING_LIMITS.maxBatchingWindowSeconds}`,
      );
    if (m.batchSize > MAPPING_LIMITS.maxBatchSizeWithoutWindow && m.maxBatchingWindowSeconds < 1)
      invalid(
        `Maximum batch window in seconds must be greater than 0 if maximum batch size is greater than ${MAPPING_LIMITS.maxBatchSizeWithoutWindow} (BatchSize ${m.batchSize})`,
      );
    const visibility = Number(
      resolver.resolve(
        queue.properties.VisibilityTimeout ?? DEFAULT_VISIBILITY_SECONDS,
        at('VisibilityTimeout'),
      ),
    );
    if (visibility < fn.timeoutSeconds)
      invalid(
        `Queue visibility timeout: ${visibility} seconds is less than Function timeout: ${fn.timeoutSeconds} seconds (queue ${queue.logicalId}, function ${fn.logicalId})`,
      );
    const key = `${m.queueId}\0${m.functionId}`;
    const earlier = seen.get(key);
    if (earlier)
      fail(
        r,
        `ResourceConflictException: an event source mapping of queue ${m.queueId} and function ${m.functionId} already exists (${earlier})`,
      );
    seen.set(key, m.logicalId);
  }
}
