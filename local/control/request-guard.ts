import type { IncomingHttpHeaders } from 'node:http';

/** Host names that reach this machine's loopback interface only. */
const LOOPBACK_HOSTS = new Set(['127.0.0.1', 'localhost', '[::1]', '::1']);

/** The host name of a `Host` or `Origin` value (`localhost:3000` → `localhost`), lower-cased. */
function hostOf(value: string): string | undefined {
  try {
    const url = new URL(value.includes('://') ? value : `http://${value}`);
    return url.hostname.toLowerCase();
  } catch {
    return undefined;
  }
}

/**
 * Why local mode refuses a request, or `undefined` to serve it. Local mode listens on loopback,
 * but a web page the developer visits can still reach it: through DNS rebinding (a name of the
 * page's that resolves to 127.0.0.1: its `Host` is that name) or by a cross-site `fetch`/form
 * (its `Origin` or `Sec-Fetch-Site` says so). Tools (curl, the SDKs, `ops`) send a loopback `Host`
 * and no `Origin`, and are served.
 */
export function refuseForeignRequest(headers: IncomingHttpHeaders): string | undefined {
  const host = headers.host === undefined ? undefined : hostOf(headers.host);
  if (host === undefined || !LOOPBACK_HOSTS.has(host))
    return `Host ${JSON.stringify(headers.host ?? '')} is not a loopback name (127.0.0.1, localhost, [::1])`;
  const origin = headers.origin;
  if (origin !== undefined && origin !== 'null') {
    const from = hostOf(origin);
    if (from === undefined || !LOOPBACK_HOSTS.has(from))
      return `cross-site request from origin ${JSON.stringify(origin)}`;
  } else if (origin === 'null') return 'cross-site request from an opaque origin';
  if (headers['sec-fetch-site'] === 'cross-site') return 'cross-site request (Sec-Fetch-Site)';
  return undefined;
}
