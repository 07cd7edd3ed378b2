import { DeadlineExceededError } from '../errors';

/**
 * Time kept back from each record's deadline for the bookkeeping after it (visibility change,
 * archive write, DLQ send) and for the response: 10% of the time left, between 250 ms and 5 s.
 */
export function deadlineMarginMs(remainingMs: number): number {
  return Math.min(5000, Math.max(250, Math.floor(remainingMs * 0.1)));
}

/** The time a record's job may run: what the invocation has left minus {@link deadlineMarginMs}. */
export function recordBudgetMs(remainingMs: number): number {
  return remainingMs - deadlineMarginMs(remainingMs);
}

/**
 * A record whose budget is below this does not start: it is handed back without counting as a
 * run (the invocation's time went to the records before it; in a FIFO phase they run one after
 * another, so the last ones of a long phase would otherwise each "run" with no time and fail).
 */
export const MIN_RECORD_BUDGET_MS = 25;

/** Runs `work` with an abort signal that fires after `ms`; rejects with {@link DeadlineExceededError} then. */
export async function withDeadline<T>(ms: number, work: (signal: AbortSignal) => Promise<T>): Promise<T> {
  if (ms <= 0) throw new DeadlineExceededError(0);
  const controller = new AbortController();
  let timer: NodeJS.Timeout | undefined;
  const expired = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      controller.abort();
      reject(new DeadlineExceededError(ms));
    }, ms);
  });
  try {
    return await Promise.race([work(controller.signal), expired]);
  } finally {
    clearTimeout(timer);
  }
}
