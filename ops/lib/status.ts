import { queueDepth } from './dlq';
import type { AlarmView, Target } from './target';

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
}

/** Per lane, its queue's and its DLQ's depth and oldest age; and every alarm's state. */
export async function status(target: Target): Promise<StatusReport> {
  const refs = target.queues.flatMap((p) => [
    { pair: p, role: 'source' as const, ref: p.source },
    { pair: p, role: 'dlq' as const, ref: p.dlq },
  ]);
  const [depths, ages, alarms] = await Promise.all([
    Promise.all(refs.map((r) => queueDepth(target, r.ref.url))),
    target.oldestAges(refs.map((r) => r.ref)),
    target.alarms(),
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
  };
}
