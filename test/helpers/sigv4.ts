/**
 * Signed requests as real clients make them, for the local API's IAM methods: the AWS SDK's
 * signer (`@smithy/signature-v4`, what every SDK v3 client uses) and `curl --aws-sigv4`.
 */
import { execFile } from 'node:child_process';
import { createHash, createHmac, type Hash, type Hmac } from 'node:crypto';
import { SignatureV4 } from '@smithy/signature-v4';

/** Long-term credentials of a local IAM user. */
export interface AccessKey {
  readonly accessKeyId: string;
  readonly secretAccessKey: string;
}

type SourceData = string | ArrayBuffer | ArrayBufferView;
const bytes = (data: SourceData): string | Buffer =>
  typeof data === 'string'
    ? data
    : ArrayBuffer.isView(data)
      ? Buffer.from(data.buffer, data.byteOffset, data.byteLength)
      : Buffer.from(data);

/** The SDK's hash interface over node:crypto (what `@aws-crypto/sha256-js` provides in the SDK). */
class Sha256 {
  private readonly hash: Hash | Hmac;
  constructor(secret?: SourceData) {
    this.hash = secret === undefined ? createHash('sha256') : createHmac('sha256', bytes(secret));
  }
  update(data: SourceData): void {
    this.hash.update(bytes(data));
  }
  async digest(): Promise<Uint8Array> {
    return new Uint8Array(this.hash.digest());
  }
}

/** Options of {@link sdkSignedInit}. */
export interface SdkSignOptions {
  readonly method?: string;
  readonly headers?: Record<string, string>;
  readonly body?: string;
  readonly credentials: AccessKey;
  readonly region: string;
  /** @default 'execute-api' */
  readonly service?: string;
  /** @default now */
  readonly signingDate?: Date;
  /** Whether the signer adds `x-amz-content-sha256` (the SDK's default). @default true */
  readonly applyChecksum?: boolean;
}

/**
 * Signs a request to `url` with the AWS SDK's SigV4 signer and returns the `fetch` init that
 * sends it: the signed headers (without `host`, which `fetch` sets from the URL, to the value
 * that was signed).
 */
export async function sdkSignedInit(url: string, options: SdkSignOptions): Promise<RequestInit> {
  const u = new URL(url);
  const query: Record<string, string | string[]> = {};
  for (const [k, v] of u.searchParams) {
    const existing = query[k];
    query[k] = existing === undefined ? v : [...(Array.isArray(existing) ? existing : [existing]), v];
  }
  const signer = new SignatureV4({
    service: options.service ?? 'execute-api',
    region: options.region,
    credentials: options.credentials,
    sha256: Sha256,
    applyChecksum: options.applyChecksum ?? true,
  });
  const method = options.method ?? 'POST';
  const signed = await signer.sign(
    {
      method,
      protocol: u.protocol,
      hostname: u.hostname,
      port: Number(u.port),
      path: u.pathname,
      query,
      headers: { host: u.host, ...options.headers },
      body: options.body,
    },
    { signingDate: options.signingDate },
  );
  const { host: _host, ...headers } = signed.headers;
  return { method, headers, body: options.body };
}

/** A response to a `curl` request. */
export interface CurlAnswer {
  readonly status: number;
  readonly body: string;
}

/**
 * Runs `curl --aws-sigv4 "aws:amz:<region>:execute-api" --user "<id>:<secret>"` (the quick start's
 * command) with `args`, returning the status and body.
 */
export function curlSigned(
  credentials: AccessKey,
  region: string,
  args: readonly string[],
  service = 'execute-api',
): Promise<CurlAnswer> {
  return new Promise((resolve, reject) => {
    execFile(
      'curl',
      [
        '-s',
        '--aws-sigv4',
        `aws:amz:${region}:${service}`,
        '--user',
        `${credentials.accessKeyId}:${credentials.secretAccessKey}`,
        '-w',
        '\n%{http_code}',
        ...args,
      ],
      { encoding: 'utf8' },
      (error, stdout) => {
        if (error) return reject(error);
        const cut = stdout.lastIndexOf('\n');
        resolve({ status: Number(stdout.slice(cut + 1)), body: stdout.slice(0, cut) });
      },
    );
  });
}
