import { randomUUID } from 'node:crypto';
import { directInvocationRecord, type InvocationError, type Journal } from '../control/journal';
import type { LocalLogger } from '../log';
import type { PseudoParameters } from '../template/resolver';
import type { ScheduleSpec } from '../template/topology';
import type { FunctionHost } from '../functions/host';

/** The result of running one rule's targets. */
export interface ScheduleRun {
  readonly rule: string;
  readonly targets: readonly {
    readonly function: string;
    readonly durationMs: number;
    readonly error: InvocationError | null;
    readonly response: unknown;
  }[];
}

/** The event EventBridge sends a target of a scheduled rule (when the target has no `Input`). */
export function scheduledEvent(
  rule: Pick<ScheduleSpec, 'arn'>,
  pseudo: Pick<PseudoParameters, 'accountId' | 'region'>,
  now = new Date(),
) {
  return {
    version: '0',
    id: randomUUID(),
    'detail-type': 'Scheduled Event',
    source: 'aws.events',
    account: pseudo.accountId,
    time: now.toISOString().replace(/\.\d{3}Z$/, 'Z'),
    region: pseudo.region,
    resources: [rule.arn],
    detail: {},
  };
}

/**
 * Runs `rate(...)` rules on their schedule (the first run one period after start, like a new
 * rule) and on demand ({@link Scheduler.trigger}, `POST /_local/schedules/<rule logical id>`).
 * Invocations are asynchronous in AWS; here a run is recorded in the journal like any other
 * invocation, and a failed run is not retried.
 */
export class Scheduler {
  private readonly timers: NodeJS.Timeout[] = [];
  private readonly running = new Set<Promise<ScheduleRun>>();

  constructor(
    private readonly rules: readonly ScheduleSpec[],
    private readonly hosts: ReadonlyMap<string, FunctionHost>,
    private readonly journal: Journal,
    private readonly pseudo: PseudoParameters,
    private readonly logger: LocalLogger,
  ) {}

  /** Logical ids of the rules. */
  get ruleIds(): string[] {
    return this.rules.map((r) => r.logicalId);
  }

  /** Starts the timers of enabled `rate(...)` rules. */
  start(): void {
    for (const rule of this.rules) {
      if (!rule.enabled || rule.periodMs === undefined) continue;
      const timer = setInterval(() => {
        void this.trigger(rule.logicalId)?.catch((error) =>
          this.logger.warn(`${rule.logicalId}: ${(error as Error).message}`),
        );
      }, rule.periodMs);
      timer.unref();
      this.timers.push(timer);
    }
  }

  /** Invokes every target of rule `logicalId` now; `undefined` for an unknown rule. */
  trigger(logicalId: string): Promise<ScheduleRun> | undefined {
    const rule = this.rules.find((r) => r.logicalId === logicalId);
    if (!rule) return undefined;
    const run = this.run(rule);
    this.running.add(run);
    void run.finally(() => this.running.delete(run));
    return run;
  }

  private async run(rule: ScheduleSpec): Promise<ScheduleRun> {
    const targets = await Promise.all(
      rule.targets.map(async (t) => {
        const host = this.hosts.get(t.functionId)!;
        const outcome = await host.invoke(t.input ?? scheduledEvent(rule, this.pseudo));
        const error = outcome.ok ? null : outcome.error;
        this.journal.record(directInvocationRecord(t.functionId, outcome));
        return {
          function: t.functionId,
          durationMs: outcome.durationMs,
          error,
          response: outcome.ok ? outcome.payload : null,
        };
      }),
    );
    return { rule: rule.logicalId, targets };
  }

  /** Stops the timers; resolves when runs in progress are done (or after `timeoutMs`). */
  async stop(timeoutMs = 5000): Promise<void> {
    for (const t of this.timers.splice(0)) clearInterval(t);
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([
      Promise.allSettled([...this.running]),
      new Promise<void>((resolve) => {
        timer = setTimeout(resolve, timeoutMs);
      }),
    ]);
    clearTimeout(timer);
  }
}
