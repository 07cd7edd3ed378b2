/**
 * In-process crash causes, attributed to the record that caused them. A job that leaves a
 * promise rejected with no handler, or throws from a timer callback, would otherwise bring the
 * whole runtime down (Node's default, and the Lambda runtime's `unhandledRejection` /
 * `uncaughtException` handlers), failing every record of the batch. {@link guardRecord} runs each
 * job in its own `AsyncLocalStorage` scope; {@link installFaultGuard} puts one listener in front
 * of the runtime's: an error raised in a job's scope fails that job's record
 * ({@link UncaughtJobError}, retryable) and the runtime lives on.
 *
 * Limits (Node cannot attribute these): an error from code that is not running in a job's async
 * context (module scope, a callback registered before the job started, native add-ons that lose
 * the context) goes to the runtime's own handlers as before; so do real crashes (`process.exit`,
 * out of memory, a native fault) and timeouts, which crash isolation (`./crash-isolation.ts`)
 * contains instead. An error raised in the scope of a record that has already finished cannot
 * fail it any more: it is logged and dropped rather than crashing the batch-mates still running.
 */
import { AsyncLocalStorage } from 'node:async_hooks';
import { RetryableError } from '../errors';

/** A job's own unhandled rejection or uncaught exception, caught by the fault guard. */
export class UncaughtJobError extends RetryableError {
  constructor(
    readonly source: 'unhandledRejection' | 'uncaughtException',
    cause: unknown,
  ) {
    super(
      `${source} in the job: ${cause instanceof Error ? `${cause.name}: ${cause.message}` : String(cause)}`,
      {
        cause,
      },
    );
  }
}

interface RecordScope {
  running: boolean;
  readonly fail: (error: UncaughtJobError) => void;
}

const scopes = new AsyncLocalStorage<RecordScope>();
const FAULTS = ['unhandledRejection', 'uncaughtException'] as const;
let installed = false;

/** Where the guard reports an error of a record that had already finished. */
export type LateFaultSink = (error: UncaughtJobError) => void;

/**
 * Installs the guard's listeners once per process, in front of the ones already there (the
 * runtime's), which still get every error the guard cannot attribute. Idempotent.
 */
export function installFaultGuard(late: LateFaultSink, proc: NodeJS.Process = process): void {
  if (installed) return;
  installed = true;
  // The two events have different listener types; one untyped view of the emitter serves both.
  const emitter = proc as unknown as NodeJS.EventEmitter<Record<string, unknown[]>>;
  for (const event of FAULTS) {
    const previous = emitter.listeners(event) as ((...args: unknown[]) => void)[];
    emitter.removeAllListeners(event);
    emitter.on(event, (error: unknown, ...rest: unknown[]) => {
      const scope = scopes.getStore();
      if (scope) {
        const wrapped = new UncaughtJobError(event, error);
        if (scope.running) scope.fail(wrapped);
        else late(wrapped);
        return;
      }
      if (previous.length > 0) {
        for (const listener of previous) listener.call(proc, error, ...rest);
        return;
      }
      // Node's default: print the error and end the process.
      proc.stderr.write(`${error instanceof Error ? (error.stack ?? String(error)) : String(error)}\n`);
      proc.exit(event === 'uncaughtException' ? 1 : 128);
    });
  }
}

/** True once {@link installFaultGuard} ran in this process. */
export function faultGuardInstalled(): boolean {
  return installed;
}

/**
 * Runs one record's job in its own scope: resolves or rejects as `work` does, or rejects with
 * {@link UncaughtJobError} as soon as the job raises an error nobody handles (when the guard is
 * installed).
 */
export async function guardRecord<T>(work: () => Promise<T>): Promise<T> {
  let fail!: (error: UncaughtJobError) => void;
  const failed = new Promise<never>((_, reject) => (fail = reject));
  const scope: RecordScope = { running: true, fail };
  try {
    return await scopes.run(scope, () => Promise.race([work(), failed]));
  } finally {
    scope.running = false;
  }
}
