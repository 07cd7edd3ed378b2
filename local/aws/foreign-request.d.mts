/** Why an emulator refuses a request, or `undefined` to serve it (see foreign-request.mjs). */
export function refuseForeignRequest(
  headers: Record<string, string | string[] | undefined>,
): string | undefined;
/** The body of an emulator's 403. */
export function refusalBody(reason: string): string;
