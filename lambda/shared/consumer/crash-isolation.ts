/**
 * Crash isolation is decided here: which records of a batch run together, which run alone, and
 * which are handed back without running. Pure; `./isolated-batch.ts` carries the plan out.
 *
 * A runtime crash or a function timeout fails the whole batch, and the event source mapping
 * redelivers every record of it with `ApproximateReceiveCount` one higher, the innocent with the
 * guilty. A record is therefore a **suspect** when it was delivered before and its previous
 * delivery is not accounted for: the consumer did not see it end without a crash
 * ({@link DeliveryMemo}). Everything else is **fresh**.
 *
 * | records of the batch                    | plan                                                    |
 * | --------------------------------------- | ------------------------------------------------------- |
 * | no suspect, no final attempt            | one run of the whole batch, as without isolation       |
 * | fresh ones on their final attempt       | `urgent`: run first, together                           |
 * | suspects on their final attempt         | `urgent`: each runs alone, next (see below)             |
 * | fresh ones                              | run next, together; their successes deleted at once    |
 * | the most-delivered other suspect (ties: first) | runs alone after them (FIFO: every suspect group's first segment) |
 * | other suspects                          | handed back: short, staggered visibility delay         |
 *
 * Final attempts run first because a crash kills every record of the invocation that has not
 * been deleted yet: a final-attempt record caught in it goes to the DLQ although it never ran
 * (fault run: a fresh batch crashes about one time in three), while a fresh record caught in a
 * final attempt's crash only spends one of its receives. Each urgent unit's successes are deleted
 * before the next phase runs.
 *
 * FIFO: a group's records before its first suspect are fresh; the suspect and the group's later
 * records up to its next suspect form a segment (they run after it, in order). Every suspect group
 * runs its first segment alone and hands back the rest (handing a whole group back would not spare
 * its records a receive: SQS FIFO delivers them again with their head, and charges each time); a
 * group holding a record on its final attempt is urgent: its fresh records (if any) and then each
 * of its segments run alone, in order (the runner stops a group at its first failure), so no
 * record of a group runs before an earlier one succeeded. Groups without suspects are not held
 * back.
 */
import type { SQSRecord } from 'aws-lambda';

/** What the consumer remembers of deliveries that ended without a crash (`./delivery-memo.ts`). */
export interface DeliveryMemo {
  /** The receive count at which the record's last known delivery ended without a crash. */
  accountedUpTo(messageId: string): number | undefined;
}

/** Settings of {@link planBatch}. */
export interface IsolationSettings {
  /** FIFO queue: keep per-group order. */
  readonly fifo: boolean;
  /**
   * True for a record on its final attempt (`isFinalAttempt` in `./failure-policy.ts`, over the
   * runs its status row counts).
   */
  readonly isFinal: (record: SQSRecord) => boolean;
  /** Hand-back delay of the first handed-back unit, in seconds. @default 2 */
  readonly handBackBaseSeconds?: number;
  /** Extra delay per further handed-back unit, so they come back apart. @default 3 */
  readonly handBackSpreadSeconds?: number;
}

/** A suspect and the records of its FIFO group that follow it (empty on a standard queue). */
export interface SuspectUnit {
  readonly suspect: SQSRecord;
  readonly followers: readonly SQSRecord[];
}

/** Records handed back without running, with the visibility delay they get. */
export interface HandBack {
  readonly records: readonly SQSRecord[];
  readonly delaySeconds: number;
}

/** How one batch runs. */
export interface BatchPlan {
  /**
   * True when the batch has suspects or a final attempt; otherwise `fresh` is the whole batch and
   * nothing else is set.
   */
  readonly isolated: boolean;
  /**
   * Run first, one after another, each alone: the fresh records on their final attempt (one unit),
   * then the suspect units holding a final-attempt record.
   */
  readonly urgent: readonly SuspectUnit[];
  /** Run after the urgent units, together (event order). */
  readonly fresh: readonly SQSRecord[];
  /** Run one after another, each alone, after the fresh ones. */
  readonly alone: readonly SuspectUnit[];
  /** Not run; reported failed. */
  readonly handBack: readonly HandBack[];
}

/** `ApproximateReceiveCount` of a record (1 when absent). */
export function receiveCountOf(record: SQSRecord): number {
  return Number(record.attributes.ApproximateReceiveCount ?? '1');
}

/** True when a record was delivered before and that delivery is not accounted for. */
export function isSuspect(record: SQSRecord, memo: DeliveryMemo): boolean {
  const count = receiveCountOf(record);
  if (count <= 1) return false;
  const accounted = memo.accountedUpTo(record.messageId);
  return accounted === undefined || accounted < count - 1;
}

/** Splits a batch into fresh records, suspects that run alone, and suspects handed back. */
export function planBatch(
  records: readonly SQSRecord[],
  memo: DeliveryMemo,
  settings: IsolationSettings,
): BatchPlan {
  const suspect = new Set(records.filter((r) => isSuspect(r, memo)).map((r) => r.messageId));
  // A batch without suspects runs as one, unless it holds a final attempt (only after failures):
  // that one runs first, apart, so that a crash of a fresh record cannot take it.
  const { isFinal } = settings;
  const hasFinal = records.some(isFinal);
  if (suspect.size === 0 && !hasFinal)
    return { isolated: false, urgent: [], fresh: [...records], alone: [], handBack: [] };

  // Per FIFO group (or per record on a standard queue): the fresh prefix, then segments, each
  // a suspect with the fresh records that follow it up to the next suspect.
  const fresh: SQSRecord[] = [];
  const groups: { prefix: SQSRecord[]; segments: SuspectUnit[]; index: number }[] = [];
  const byKey = new Map<string, SQSRecord[]>();
  records.forEach((r, i) => {
    const key = settings.fifo ? (r.attributes.MessageGroupId ?? '') : `#${i}`;
    byKey.set(key, [...(byKey.get(key) ?? []), r]);
  });
  for (const list of byKey.values()) {
    const first = list.findIndex((r) => suspect.has(r.messageId));
    if (first < 0) {
      fresh.push(...list);
      continue;
    }
    const segments: SuspectUnit[] = [];
    for (const r of list.slice(first)) {
      if (suspect.has(r.messageId)) segments.push({ suspect: r, followers: [] });
      else (segments.at(-1)!.followers as SQSRecord[]).push(r);
    }
    groups.push({ prefix: list.slice(0, first), segments, index: records.indexOf(list[first]!) });
  }

  // A group with a record on its final attempt is urgent: it runs first, every segment alone, as
  // handing back would kill that record. Of the others, the most-delivered group runs its first
  // segment (it is closest to its DLQ).
  type Group = (typeof groups)[number];
  const recordsOf = (g: Group) => g.segments.flatMap((u) => [u.suspect, ...u.followers]);
  const urgency = (g: Group) => Math.max(...recordsOf(g).map(receiveCountOf));
  const mustRun = (g: Group) => recordsOf(g).some(isFinal);
  const urgent: SuspectUnit[] = [];
  for (const g of groups.filter(mustRun)) {
    if (g.prefix.length > 0) urgent.push({ suspect: g.prefix[0]!, followers: g.prefix.slice(1) });
    urgent.push(...g.segments);
  }
  const others = groups.filter((g) => !mustRun(g));
  for (const g of others) fresh.push(...g.prefix);
  fresh.sort((a, b) => records.indexOf(a) - records.indexOf(b));
  // Fresh records on their final attempt (they failed on their own before) run before everything
  // else, with the rest of their FIFO group: no suspect's crash can take them.
  // Stryker disable next-line StringLiteral: equivalent: a FIFO record always has a MessageGroupId, and any constant fallback keys such records alike (keyOf only groups)
  const keyOf = (r: SQSRecord) => (settings.fifo ? (r.attributes.MessageGroupId ?? '') : r.messageId);
  const finalKeys = new Set(fresh.filter(isFinal).map(keyOf));
  const freshFinal = fresh.filter((r) => finalKeys.has(keyOf(r)));
  if (freshFinal.length > 0) {
    urgent.unshift({ suspect: freshFinal[0]!, followers: freshFinal.slice(1) });
    fresh.splice(0, fresh.length, ...fresh.filter((r) => !finalKeys.has(keyOf(r))));
  }
  others.sort((a, b) => urgency(b) - urgency(a) || a.index - b.index);
  const alone: SuspectUnit[] = [];
  const handBack: HandBack[] = [];
  const base = settings.handBackBaseSeconds ?? 2;
  const spread = settings.handBackSpreadSeconds ?? 3;
  let handedBack = 0;
  others.forEach((g, i) => {
    // FIFO: every suspect group runs its first segment. Handing a group back would not spare its
    // records a receive (SQS FIFO delivers them again only with their head), and the lone run is
    // what tells a crashing head from its group-mates (`./culprit.ts`).
    if (i === 0 || settings.fifo) {
      alone.push(g.segments[0]!);
      // A FIFO group's records from its next suspect on wait for the next invocation.
      const rest = recordsOf(g).slice(1 + g.segments[0]!.followers.length);
      if (rest.length > 0) handBack.push({ records: rest, delaySeconds: base });
    } else {
      handBack.push({ records: recordsOf(g), delaySeconds: base + spread * handedBack++ });
    }
  });
  return { isolated: true, urgent, fresh, alone, handBack };
}
