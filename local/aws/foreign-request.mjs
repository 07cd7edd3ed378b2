// The local request guard for the emulators' own processes (dynalite-process.mjs,
// emulator-worker.mjs), which run plain Node.js without a TypeScript loader: the same rules as
// local/control/request-guard.ts (refuseForeignRequest), which the API and /_local use, except
// that names under .localhost are loopback here too: the emulator's own SQS endpoint and queue
// URLs are http://sqs.<region>.localhost:<port> (RFC 6761: browsers resolve *.localhost to
// loopback themselves, never through DNS, so no page can rebind one).
// test/local/local-request-guard.test.ts checks that both answer alike.

/** Host names that reach this machine's loopback interface only. */
const LOOPBACK_HOSTS = new Set(['127.0.0.1', 'localhost', '[::1]', '::1']);
/** @param {string} host @returns {boolean} */
const isLoopback = (host) => LOOPBACK_HOSTS.has(host) || host.endsWith('.localhost');

/** @param {string} value a `Host` or `Origin` value @returns {string | undefined} its host name */
function hostOf(value) {
  try {
    const url = new URL(value.includes('://') ? value : `http://${value}`);
    return url.hostname.toLowerCase();
  } catch {
    return undefined;
  }
}

/**
 * Why an emulator refuses a request (a foreign `Host`: DNS rebinding; a cross-site browser
 * request: `Origin`, `Sec-Fetch-Site`), or `undefined` to serve it.
 * @param {Record<string, string | string[] | undefined>} headers
 * @returns {string | undefined}
 */
export function refuseForeignRequest(headers) {
  const rawHost = typeof headers.host === 'string' ? headers.host : undefined;
  const host = rawHost === undefined ? undefined : hostOf(rawHost);
  if (host === undefined || !isLoopback(host))
    return `Host ${JSON.stringify(rawHost ?? '')} is not a loopback name (127.0.0.1, localhost, [::1])`;
  const origin = typeof headers.origin === 'string' ? headers.origin : undefined;
  if (origin !== undefined && origin !== 'null') {
    const from = hostOf(origin);
    if (from === undefined || !isLoopback(from))
      return `cross-site request from origin ${JSON.stringify(origin)}`;
  } else if (origin === 'null') return 'cross-site request from an opaque origin';
  if (headers['sec-fetch-site'] === 'cross-site') return 'cross-site request (Sec-Fetch-Site)';
  return undefined;
}

/** The body of an emulator's 403 (AWS JSON error shape, which the SDKs read). */
export function refusalBody(reason) {
  return JSON.stringify({
    __type: 'AccessDeniedException',
    message: `local mode serves this machine only: ${reason}`,
  });
}
