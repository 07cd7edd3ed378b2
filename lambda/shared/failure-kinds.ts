/**
 * Why a message was given up on: `permanent` (its handler said it never succeeds), `exhausted`
 * (its attempts are used up), `unknown` (no recorded cause), `deferral-exhausted` (it could not be
 * deferred any longer: `DeferralExhausted` in `./errors.ts`). Apart from `./archive.ts` so that
 * code that only names the kinds (the completion relay) bundles no S3 client.
 */
export const FAILURE_KINDS = ['permanent', 'exhausted', 'unknown', 'deferral-exhausted'] as const;
/** One of {@link FAILURE_KINDS}. */
export type FailureKind = (typeof FAILURE_KINDS)[number];
