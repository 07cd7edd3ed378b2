import { z } from './zod';
import { PermanentError, RetryableError, RetryLaterError } from '../errors';
import { PROBE_MODES } from './probe-modes';
import { defineJob } from './types';

export { PROBE_MODES, type ProbeMode } from './probe-modes';

/** Payload contract of `probe`. */
export const ProbePayload = z
  .object({
    mode: z.enum(PROBE_MODES),
    failTimes: z.number().int().min(0).max(1000).default(0),
    /** `succeed` fails (retryably) until this moment: a downstream outage that ends. */
    failUntil: z.iso.datetime({ offset: true }).optional(),
    sleepMs: z.number().int().min(0).max(900_000).default(0),
    tag: z.string().max(256).optional(),
    /** Defers (`RetryLaterError`, no attempt spent) on its first this many deliveries, then goes on as `mode` says. */
    deferTimes: z.number().int().min(0).max(100).optional(),
    /** How long each deferral asks to wait, in seconds (up to 14 days, to reach a lane's cap). @default 5 */
    deferSeconds: z.number().int().min(0).max(1_209_600).optional(),
    /** Ignored filler, to make a message of a chosen size (the queues take 1 MiB). */
    padding: z.string().max(1_048_576).optional(),
    /** `succeed`/`sleep`/`crash` once it succeeds: the JSON value it returns as its result. */
    result: z.json().optional(),
    /**
     * Returns a string of this many characters (ASCII: as many bytes) as its result instead of
     * `result`: past 16 KiB it is kept in S3, past 4 MiB the run fails (`ResultTooLarge`).
     */
    resultBytes: z.number().int().min(0).max(5_000_000).optional(),
    /** Enqueues this many follow-up `probe` jobs in `succeed` mode (`ctx.enqueue`) before it runs its mode. */
    children: z.number().int().min(0).max(10).optional(),
  })
  .strict();

/** Raised by `probe` in `succeed` mode while `receiveCount <= failTimes` or before `failUntil`. */
export class ProbeTransientError extends RetryableError {}
/** Raised by `probe` in `fail-always` mode. */
export class ProbeAlwaysFailsError extends RetryableError {}
/** Raised by `probe` in `fail-permanent` mode. */
export class ProbePermanentError extends PermanentError {}

function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(done, ms);
    function done() {
      clearTimeout(timer);
      signal?.removeEventListener('abort', done);
      resolve();
    }
    signal?.addEventListener('abort', done, { once: true });
  });
}

/** The message of the log line a probe writes each time it succeeds. */
export const PROBE_SUCCEEDED = 'probe succeeded';

/** Longer than any Lambda timeout (15 min). */
const OUTLIVE_MS = 16 * 60 * 1000;

/** The synthetic canary used by smoke tests, fault runs and operators. */
export const probeJob = defineJob({
  type: 'probe',
  description: 'Synthetic canary that succeeds, sleeps, fails or crashes on request',
  schema: ProbePayload,
  ordered: false,
  async handle(p, ctx) {
    // The canary's proof of life, one line per successful run: operators see the probe went
    // through, and fault runs count how often a message's handler really succeeded.
    const succeeded = () => ctx.logger.info(PROBE_SUCCEEDED, { probeMode: p.mode, probeTag: p.tag });
    // A downstream that says "not now": each deferral is one more delivery of the same message.
    if (ctx.receiveCount <= (p.deferTimes ?? 0)) {
      const seconds = p.deferSeconds ?? 5;
      throw new RetryLaterError(
        { after: seconds },
        `probe deferring delivery ${ctx.receiveCount} of ${p.deferTimes} by ${seconds} s`,
      );
    }
    // Follow-up jobs first: a run that then fails, crashes or times out sends the same ids again.
    for (let i = 0; i < (p.children ?? 0); i++)
      await ctx.enqueue('probe', { mode: 'succeed', tag: `child ${i + 1} of ${p.children}` });
    const result = () => (p.resultBytes !== undefined ? 'r'.repeat(p.resultBytes) : p.result);
    switch (p.mode) {
      case 'succeed':
        if (ctx.receiveCount <= p.failTimes) {
          throw new ProbeTransientError(`probe failing attempt ${ctx.receiveCount} of ${p.failTimes}`);
        }
        if (p.failUntil !== undefined && Date.now() < Date.parse(p.failUntil)) {
          throw new ProbeTransientError(`probe failing attempt ${ctx.receiveCount} until ${p.failUntil}`);
        }
        succeeded();
        return result();
      case 'sleep':
        await sleep(p.sleepMs, ctx.signal);
        if (ctx.signal.aborted) throw new RetryableError('probe sleep interrupted by its deadline');
        succeeded();
        return result();
      case 'fail-permanent':
        throw new ProbePermanentError('probe asked to fail permanently');
      case 'fail-always':
        throw new ProbeAlwaysFailsError(`probe failing attempt ${ctx.receiveCount} (always)`);
      case 'timeout':
        // Deliberately ignores the abort signal: only the deadline or the function timeout ends it.
        await new Promise<void>((resolve) => setTimeout(resolve, OUTLIVE_MS).unref());
        return;
      case 'crash':
        // With failTimes: crashes on its first failTimes deliveries, then succeeds (a crash after enqueue).
        if (p.failTimes > 0 && ctx.receiveCount > p.failTimes) {
          succeeded();
          return result();
        }
        // After sleepMs: the other records of its batch run meanwhile.
        if (p.sleepMs > 0) await sleep(p.sleepMs);
        ctx.logger.warn('probe crashing the runtime on request');
        process.exit(137);
    }
  },
});
