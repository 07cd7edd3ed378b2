/**
 * A startup or runtime problem of local mode that is the user's to fix (a port in use, a failed
 * synth, a template construct local mode cannot run). Its message is one readable line; `main`
 * prints it without a stack trace.
 */
export class LocalModeError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'LocalModeError';
  }
}
