import type { Logger } from '@aws-lambda-powertools/logger';
import { PipelineError } from '../errors';

/** The log fields of a record's failure: name and message, plus the error object (with its stack) if unexpected. */
export interface FailureLogFields {
  readonly errorName: string;
  readonly errorMessage: string;
  /** Only for errors the pipeline did not raise on purpose (not a `PipelineError`). */
  readonly error?: unknown;
}

/**
 * How a record's failure is logged: an error the pipeline raises on purpose (`PipelineError`:
 * retryable, permanent, deadline) is one short line with its name and message; an unexpected one
 * (a bug, a dependency's error) also carries the error object, whose stack Powertools formats.
 */
export function failureLogFields(error: unknown): FailureLogFields {
  const name = error instanceof Error ? error.name : typeof error;
  const message = error instanceof Error ? error.message : String(error);
  if (error instanceof PipelineError) return { errorName: name, errorMessage: message };
  return { errorName: name, errorMessage: message, error };
}

/**
 * Logs one failure line at WARN (`failureLogFields`), then, for an expected error, its stack at
 * DEBUG only (Powertools skips the line, and formatting the stack, below DEBUG).
 */
export function logFailure(
  log: Logger,
  message: string,
  error: unknown,
  extra: Record<string, unknown> = {},
): void {
  const fields = failureLogFields(error);
  log.warn(message, { ...fields, ...extra });
  if (fields.error === undefined && log.getLevelName() === 'DEBUG') log.debug('failure stack', { error });
}
