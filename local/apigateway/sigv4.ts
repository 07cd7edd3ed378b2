import { createHash, createHmac, timingSafeEqual } from 'node:crypto';

/** The only signing algorithm API Gateway's IAM authorization accepts in a header. */
export const SIGV4_ALGORITHM = 'AWS4-HMAC-SHA256';

/** How far a request's `X-Amz-Date` may be from the server's clock, as AWS allows: 5 minutes. */
export const SIGV4_MAX_SKEW_MS = 5 * 60_000;

/** A request as the API server received it: nothing normalized yet. */
export interface ReceivedRequest {
  readonly method: string;
  /** The request target as received (`req.url`): the path, encoded as sent, and the query. */
  readonly target: string;
  /** Raw header name/value pairs, in order (Node's `rawHeaders`). */
  readonly rawHeaders: readonly string[];
  readonly body: Buffer;
}

/** What {@link verifySigV4} checks the signature against. */
export interface SigV4Expectation {
  /** The region the credential scope must name (local mode's region). */
  readonly region: string;
  /** The service the credential scope must name. @default 'execute-api' */
  readonly service?: string;
  /** The server's clock. */
  readonly now: Date;
  /** The secret access key of an access key id; `undefined` for a key this server does not know. */
  readonly secretOf: (accessKeyId: string) => string | undefined;
}

/** Why a request is not authenticated, from the caller's point of view. */
export type SigV4Failure =
  /** No `Authorization` header at all: API Gateway's "Missing Authentication Token". */
  | 'missing'
  /** An `Authorization` header that is not a complete SigV4 header, or no `X-Amz-Date`. */
  | 'incomplete'
  /** An access key id (or a session token) this server did not issue. */
  | 'unknown-key'
  /** A credential scope for another date, region or service. */
  | 'scope'
  /** A request date more than {@link SIGV4_MAX_SKEW_MS} away from the server's clock. */
  | 'expired'
  /** A payload hash header that does not match the body. */
  | 'payload'
  /** The signature does not match the one recomputed over the request. */
  | 'mismatch';

/** The outcome of {@link verifySigV4}. */
export type SigV4Result =
  | { readonly ok: true; readonly accessKeyId: string }
  | {
      readonly ok: false;
      readonly failure: SigV4Failure;
      /** The message AWS answers with for this failure. */
      readonly message: string;
      /** The canonical request local mode signed, for a `mismatch` (to compare with the client's). */
      readonly canonicalRequest?: string;
    };

/** SHA-256 of the empty string (a request without a body). */
const EMPTY_SHA256 = 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855';

const MISMATCH =
  'The request signature we calculated does not match the signature you provided. Check your AWS Secret Access Key and signing method. Consult the service documentation for details.';

/**
 * URI-encodes a string as SigV4 does (RFC 3986): everything but `A-Z a-z 0-9 - _ . ~`, in
 * upper-case hex. `encodeURIComponent` leaves `!'()*` alone; SigV4 does not.
 */
export function sigv4Escape(value: string): string {
  return encodeURIComponent(value).replace(
    /[!'()*]/g,
    (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`,
  );
}

/** Decodes a percent-encoded part, leaving it as it is when it is not valid percent-encoding. */
function decodeLoosely(part: string): string {
  try {
    return decodeURIComponent(part);
  } catch {
    return part;
  }
}

/**
 * The canonical URI of a path as it was sent, for every service but S3: dot segments and empty
 * segments removed, then the path (already encoded once on the wire) URI-encoded again, `/` kept
 * — what the AWS SDK's signer and the SigV4 specification compute.
 */
export function canonicalUri(path: string): string {
  const segments: string[] = [];
  for (const segment of path.split('/')) {
    if (segment === '' || segment === '.') continue;
    if (segment === '..') segments.pop();
    else segments.push(segment);
  }
  const normalized = `${path.startsWith('/') ? '/' : ''}${segments.join('/')}${segments.length > 0 && path.endsWith('/') ? '/' : ''}`;
  return sigv4Escape(normalized).replace(/%2F/g, '/');
}

/**
 * The canonical query string: every `name=value` pair decoded, then encoded as SigV4 does
 * (`+` is a plus sign, not a space), sorted by name, then by value.
 */
export function canonicalQuery(query: string): string {
  const pairs: [string, string][] = [];
  for (const part of query.replace(/^\?/, '').split('&')) {
    if (part === '') continue;
    const eq = part.indexOf('=');
    const name = eq < 0 ? part : part.slice(0, eq);
    const value = eq < 0 ? '' : part.slice(eq + 1);
    pairs.push([sigv4Escape(decodeLoosely(name)), sigv4Escape(decodeLoosely(value))]);
  }
  const order = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);
  return pairs
    .sort((a, b) => order(a[0], b[0]) || order(a[1], b[1]))
    .map(([n, v]) => `${n}=${v}`)
    .join('&');
}

/** The values of a header (case-insensitive) in the order received. */
function headerValues(rawHeaders: readonly string[], name: string): string[] {
  const out: string[] = [];
  for (let i = 0; i + 1 < rawHeaders.length; i += 2) {
    if (rawHeaders[i]!.toLowerCase() === name) out.push(rawHeaders[i + 1]!);
  }
  return out;
}

/** The parts of an `Authorization: AWS4-HMAC-SHA256 Credential=…, SignedHeaders=…, Signature=…` header. */
interface AuthorizationHeader {
  readonly accessKeyId: string;
  readonly scope: { readonly date: string; readonly region: string; readonly service: string };
  readonly terminator: string;
  readonly signedHeaders: readonly string[];
  readonly signature: string;
}

/** Parses the header, or says what AWS says is missing from it. */
function parseAuthorization(value: string): AuthorizationHeader | string {
  const trimmed = value.trim();
  const space = trimmed.indexOf(' ');
  const algorithm = space < 0 ? trimmed : trimmed.slice(0, space);
  if (algorithm !== SIGV4_ALGORITHM) {
    return `Authorization header requires the ${SIGV4_ALGORITHM} algorithm (SigV4); got "${algorithm.slice(0, 32)}".`;
  }
  const params = new Map<string, string>();
  for (const part of trimmed.slice(space + 1).split(',')) {
    const eq = part.indexOf('=');
    if (eq > 0) params.set(part.slice(0, eq).trim(), part.slice(eq + 1).trim());
  }
  const missing = ['Credential', 'SignedHeaders', 'Signature'].filter((p) => !params.get(p));
  if (missing.length) {
    return missing.map((p) => `Authorization header requires '${p}' parameter.`).join(' ');
  }
  const credential = params.get('Credential')!.split('/');
  if (credential.length !== 5 || credential.some((c) => c === '')) {
    return "Credential should have the form '<access key id>/<date>/<region>/<service>/aws4_request'.";
  }
  const [accessKeyId, date, region, service, terminator] = credential as [
    string,
    string,
    string,
    string,
    string,
  ];
  return {
    accessKeyId,
    scope: { date, region, service },
    terminator,
    signedHeaders: params.get('SignedHeaders')!.split(';'),
    signature: params.get('Signature')!,
  };
}

/** `20240102T030405Z` → the Date, or `undefined` when it is not that format. */
function parseAmzDate(value: string): Date | undefined {
  const m = /^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z$/.exec(value);
  if (!m) return undefined;
  const [y, mo, d, h, mi, s] = m.slice(1).map(Number) as [number, number, number, number, number, number];
  const date = new Date(Date.UTC(y, mo - 1, d, h, mi, s));
  return date.getUTCDate() === d && date.getUTCMonth() === mo - 1 ? date : undefined;
}

/** A Date in SigV4's basic ISO 8601 format, `20240102T030405Z`. */
export function amzDate(date: Date): string {
  return date
    .toISOString()
    .replace(/[-:]/g, '')
    .replace(/\.\d{3}Z$/, 'Z');
}

const hmac = (key: Buffer | string, data: string) => createHmac('sha256', key).update(data, 'utf8').digest();
const sha256Hex = (data: Buffer | string) => createHash('sha256').update(data).digest('hex');

/**
 * Verifies an AWS Signature Version 4 `Authorization` header the way API Gateway's IAM
 * authorization does, over the request exactly as it was received: it recomputes the canonical
 * request (method, the path encoded twice, the sorted query, the signed headers' values trimmed,
 * the SHA-256 of the body), the string to sign for the credential scope, and the signature with
 * the secret of the access key id, and compares signatures in constant time.
 *
 * Refused, each with AWS's message: no `Authorization` header (`missing`); another algorithm, a
 * header without `Credential`, `SignedHeaders` or `Signature`, no `X-Amz-Date`, `host` or
 * `x-amz-date` not signed (`incomplete`); an access key id this server did not issue, or any
 * `X-Amz-Security-Token` (local principals have long-term keys only) (`unknown-key`); a scope for
 * another date than `X-Amz-Date`'s, another region or service, or not ending in `aws4_request`
 * (`scope`); a date more than 5 minutes off (`expired`); an `X-Amz-Content-SHA256` that is not the
 * body's hash, `UNSIGNED-PAYLOAD` included (`payload`); any other difference (`mismatch`).
 * Presigned URLs (the signature in the query string) are not accepted.
 *
 * @example
 * const result = verifySigV4(
 *   { method: req.method, target: req.url, rawHeaders: req.rawHeaders, body },
 *   { region: 'us-east-1', now: new Date(), secretOf: (id) => secrets.get(id) },
 * );
 * if (!result.ok) answer403(result.message);
 */
export function verifySigV4(request: ReceivedRequest, expect: SigV4Expectation): SigV4Result {
  const service = expect.service ?? 'execute-api';
  const fail = (failure: SigV4Failure, message: string, canonicalRequest?: string): SigV4Result => ({
    ok: false,
    failure,
    message,
    ...(canonicalRequest === undefined ? {} : { canonicalRequest }),
  });
  const authorizations = headerValues(request.rawHeaders, 'authorization');
  if (authorizations.length === 0) return fail('missing', 'Missing Authentication Token');
  if (authorizations.length > 1) return fail('incomplete', 'More than one Authorization header.');
  const auth = parseAuthorization(authorizations[0]!);
  if (typeof auth === 'string') return fail('incomplete', auth);

  const dates = headerValues(request.rawHeaders, 'x-amz-date');
  if (dates.length !== 1) {
    return fail('incomplete', "Authorization header requires existence of a 'X-Amz-Date' header.");
  }
  const signed = auth.signedHeaders;
  if (!signed.includes('host')) {
    return fail('incomplete', "'Host' must be a 'SignedHeader' in the AWS Authorization.");
  }
  if (!signed.includes('x-amz-date')) {
    return fail('incomplete', "'X-Amz-Date' must be a 'SignedHeader' in the AWS Authorization.");
  }
  const requestDate = parseAmzDate(dates[0]!.trim());
  if (!requestDate) {
    return fail(
      'incomplete',
      `X-Amz-Date "${dates[0]!.slice(0, 32)}" is not in the form YYYYMMDD'T'HHMMSS'Z'.`,
    );
  }

  if (headerValues(request.rawHeaders, 'x-amz-security-token').length > 0) {
    return fail('unknown-key', 'The security token included in the request is invalid.');
  }
  const secret = expect.secretOf(auth.accessKeyId);
  if (secret === undefined) {
    return fail('unknown-key', 'The security token included in the request is invalid.');
  }

  const longDate = amzDate(requestDate);
  if (auth.scope.date !== longDate.slice(0, 8)) {
    return fail(
      'scope',
      `Date in Credential scope does not match YYYYMMDD from ISO-8601 version of date from HTTP: '${auth.scope.date}' != '${longDate.slice(0, 8)}', from '${longDate}'.`,
    );
  }
  if (auth.scope.region !== expect.region) {
    return fail(
      'scope',
      `Credential should be scoped to a valid region, not '${auth.scope.region}'. Local mode serves region '${expect.region}'.`,
    );
  }
  if (auth.scope.service !== service) {
    return fail('scope', `Credential should be scoped to correct service: '${service}'.`);
  }
  if (auth.terminator !== 'aws4_request') {
    return fail(
      'scope',
      `Credential should be scoped with a valid terminator: 'aws4_request', not '${auth.terminator}'.`,
    );
  }

  const skew = requestDate.getTime() - expect.now.getTime();
  if (Math.abs(skew) > SIGV4_MAX_SKEW_MS) {
    const bound = amzDate(new Date(expect.now.getTime() + Math.sign(skew) * SIGV4_MAX_SKEW_MS));
    const now = amzDate(expect.now);
    return fail(
      'expired',
      skew < 0
        ? `Signature expired: ${longDate} is now earlier than ${bound} (${now} - 5 min.)`
        : `Signature not yet current: ${longDate} is still later than ${bound} (${now} + 5 min.)`,
    );
  }

  const bodyHash = request.body.length === 0 ? EMPTY_SHA256 : sha256Hex(request.body);
  const declared = headerValues(request.rawHeaders, 'x-amz-content-sha256');
  if (declared.length > 0 && (declared.length > 1 || declared[0]!.trim().toLowerCase() !== bodyHash)) {
    return fail('payload', "The provided 'x-amz-content-sha256' header does not match what was computed.");
  }

  const q = request.target.indexOf('?');
  const path = q < 0 ? request.target : request.target.slice(0, q);
  const query = q < 0 ? '' : request.target.slice(q + 1);
  const headerLines = signed.map((name) => {
    const values = headerValues(request.rawHeaders, name);
    return `${name}:${values.map((v) => v.trim().replace(/\s+/g, ' ')).join(',')}`;
  });
  const canonicalRequest = [
    request.method.toUpperCase(),
    canonicalUri(path),
    canonicalQuery(query),
    ...headerLines,
    '',
    signed.join(';'),
    bodyHash,
  ].join('\n');
  const scope = `${auth.scope.date}/${auth.scope.region}/${auth.scope.service}/aws4_request`;
  const stringToSign = [SIGV4_ALGORITHM, longDate, scope, sha256Hex(canonicalRequest)].join('\n');
  const key = hmac(
    hmac(hmac(hmac(`AWS4${secret}`, auth.scope.date), auth.scope.region), service),
    'aws4_request',
  );
  const expected = Buffer.from(createHmac('sha256', key).update(stringToSign, 'utf8').digest('hex'));
  const given = Buffer.from(auth.signature.toLowerCase());
  if (given.length !== expected.length || !timingSafeEqual(given, expected)) {
    return fail('mismatch', MISMATCH, canonicalRequest);
  }
  return { ok: true, accessKeyId: auth.accessKeyId };
}
