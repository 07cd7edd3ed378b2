/**
 * The one error type of an invalid configuration: an unknown or missing stage, a stage setting out
 * of range, or a construct combination AWS would refuse (e.g. visibility < 6 × consumer timeout).
 * `bin/app.ts` prints it as one line (`error: …`) and exits with code 1, without a stack trace.
 * The message says what is wrong and what to do.
 */
export class ConfigError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ConfigError';
  }
}
