import { queueDepth } from './dlq';
import { OpsError } from './errors';
import type { AlarmView, Target } from './target';
import type { WaitingCounts } from './waiting';

/** One queue's line of `status`. */
export interface QueueStatus {
  /** The lane the queue belongs to. */
  readonly lane: string;
  /** Same as `lane` (kept for scripts from before lanes). */
  readonly queue: string;
  readonly role: 'source' | 'dlq';
  readonly name: string;
  readonly visible: number;
  readonly inFlight: number;
  readonly delayed: number;
  /** Seconds; `null` where the target cannot tell (local DLQs, no metric data yet). */
  readonly oldestAgeSeconds: number | null;
}

/** What `status` prints. */
export interface StatusReport {
  readonly target: string;
  readonly queues: QueueStatus[];
  readonly alarms: AlarmView[];
  /** Deferred and scheduled messages per lane (every lane listed), when asked for (`waiting`). */
  readonly waiting?: WaitingCounts;
}

/** Options of {@link status}. */
export interface StatusOptions {
  /** Also count each lane's deferred and scheduled messages (a scan of the status table). @default false */
  readonly waiting?: boolean;
}

/** Per lane, its queue's and its DLQ's depth and oldest age; and every alarm's state. */
export async function status(target: Target, options: StatusOptions = {}): Promise<StatusReport> {
  if (options.waiting && !target.waitingMessages)
    throw new OpsError(
      `${target.name} names no status table: deferred and scheduled messages cannot be counted`,
    );
  const refs = target.queues.flatMap((p) => [
    { pair: p, role: 'source' as const, ref: p.source },
    { pair: p, role: 'dlq' as const, ref: p.dlq },
  ]);
  const [depths, ages, alarms, waiting] = await Promise.all([
    Promise.all(refs.map((r) => queueDepth(target, r.ref.url))),
    target.oldestAges(refs.map((r) => r.ref)),
    target.alarms(),
    options.waiting ? target.waitingMessages!() : undefined,
  ]);
  return {
    target: target.kind === 'local' ? 'local' : `EventPipeline-${target.name} (${target.region})`,
    queues: refs.map((r, i) => ({
      lane: r.pair.key,
      queue: r.pair.key,
      role: r.role,
      name: r.ref.name,
      ...depths[i]!,
      oldestAgeSeconds: ages.get(r.ref.url) ?? null,
    })),
    alarms,
    ...(waiting
      ? {
          waiting: {
            ...waiting,
            // Every lane, none waiting included; a lane the rows name that the target lacks too.
            lanes: Object.fromEntries(
              [...new Set([...target.queues.map((p) => p.key), ...Object.keys(waiting.lanes)])].map(
                (lane) => [lane, waiting.lanes[lane] ?? { deferred: 0, scheduled: 0 }],
              ),
            ),
          },
        }
      : {}),
  };
}
