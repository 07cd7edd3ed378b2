/** A failed operation: one line on stderr, exit code 1. */
export class OpsError extends Error {
  override readonly name: string = 'OpsError';
  /** Exit code of the process. */
  readonly exitCode: 1 | 2 = 1;
}

/** Bad usage (unknown command or option, bad filter value, malformed JSON): exit code 2. */
export class UsageError extends OpsError {
  override readonly name = 'UsageError';
  override readonly exitCode = 2;
}
