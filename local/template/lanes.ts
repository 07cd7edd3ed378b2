import type { TemplateResource } from './reader';
import type { Resolver } from './resolver';
import { referencedId } from './topology';

/**
 * The CloudFormation tag that names a queue's lane. The same string as `LANE_TAG` in
 * `lib/constructs/event-pipeline.ts`, written again here so local mode does not load the CDK
 * library to read a template (test/local/local-topology.test.ts keeps the two equal).
 */
export const LANE_TAG = 'event-pipeline:lane';

/** One lane of the template: its queue, the DLQ that queue's redrive policy names, and its kind. */
export interface LaneSpec {
  readonly name: string;
  /** Logical id of the lane's queue. */
  readonly queueId: string;
  /** Logical id of the queue's DLQ (its `RedrivePolicy.deadLetterTargetArn`). */
  readonly dlqId: string;
  readonly fifo: boolean;
}

/** What {@link analyzeLanes} found, and what it could not make a lane of (printed at startup). */
export interface LaneAnalysis {
  /** In the template's order of the lanes' queues (the construct writes the default lanes first). */
  readonly lanes: readonly LaneSpec[];
  readonly notes: readonly string[];
}

/** The value of the {@link LANE_TAG} tag of a queue, if it has one. */
function laneTagOf(q: TemplateResource, resolver: Resolver): string | undefined {
  const tags = q.properties.Tags;
  if (!Array.isArray(tags)) return undefined;
  const tag = tags.find(
    (t): t is { Key: unknown; Value: unknown } =>
      typeof t === 'object' && t !== null && (t as { Key?: unknown }).Key === LANE_TAG,
  );
  if (!tag) return undefined;
  return resolver.resolveString(tag.Value, { resource: q.logicalId, property: `Tags.${LANE_TAG}` });
}

/**
 * The lanes of a template, from its queues alone (docs/DESIGN.md §6 item 8): a lane is a queue
 * tagged {@link LANE_TAG} whose redrive policy names another queue of the stack, which is the
 * lane's DLQ. Nothing else describes them, so a template whose tags do not make one queue and one
 * DLQ per lane still runs: what cannot be a lane is left out of the lanes, with a note.
 *
 * @param queues the template's queues (`Topology.queues`)
 */
export function analyzeLanes(queues: readonly TemplateResource[], resolver: Resolver): LaneAnalysis {
  const byId = new Map(queues.map((q) => [q.logicalId, q]));
  const tagOf = new Map<string, string>();
  for (const q of queues) {
    const tag = laneTagOf(q, resolver);
    if (tag !== undefined) tagOf.set(q.logicalId, tag);
  }
  const candidates = new Map<string, LaneSpec[]>();
  const notes: string[] = [];
  // Tagged queues that are in a lane or in a note already.
  const explained = new Set<string>();
  // Template order: Topology.queues puts each DLQ before its queue, and keeps the queues' order.
  for (const q of queues) {
    const name = tagOf.get(q.logicalId);
    if (name === undefined) continue;
    const redrive = q.properties.RedrivePolicy as Record<string, unknown> | undefined;
    const dlqId = referencedId(redrive?.deadLetterTargetArn);
    if (!dlqId || !byId.has(dlqId)) continue;
    const dlqTag = tagOf.get(dlqId);
    if (dlqTag !== undefined && dlqTag !== name) {
      notes.push(
        `${q.logicalId} is tagged lane ${name} but its DLQ ${dlqId} lane ${dlqTag}: neither is listed as a lane`,
      );
      explained.add(q.logicalId).add(dlqId);
      continue;
    }
    const at = { resource: q.logicalId, property: 'FifoQueue' };
    const fifo = String(resolver.resolve(q.properties.FifoQueue ?? false, at)) === 'true';
    candidates.set(name, [...(candidates.get(name) ?? []), { name, queueId: q.logicalId, dlqId, fifo }]);
  }
  const lanes: LaneSpec[] = [];
  for (const [name, specs] of candidates) {
    if (specs.length === 1) lanes.push(specs[0]!);
    else
      notes.push(
        `lane ${name} is the tag of more than one queue with a DLQ (${specs.map((s) => s.queueId).join(', ')}): not listed as a lane`,
      );
    for (const s of specs) explained.add(s.queueId).add(s.dlqId);
  }
  for (const [id, name] of tagOf) {
    if (!explained.has(id))
      notes.push(
        `${id} is tagged lane ${name} but is neither a lane's queue (no redrive policy to a queue of the stack) nor a DLQ`,
      );
  }
  return { lanes, notes };
}
