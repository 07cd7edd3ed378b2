import { createHash, createHmac, type Hash, type Hmac } from 'node:crypto';
import { defaultProvider } from '@aws-sdk/credential-provider-node';
import { SignatureV4 } from '@smithy/signature-v4';
import { OpsError } from './errors';
import type { Target } from './target';

/** A string as it is, any binary source as a Uint8Array view of the same bytes. */
function bytes(data: string | ArrayBuffer | ArrayBufferView): string | Uint8Array {
  if (typeof data === 'string') return data;
  return data instanceof ArrayBuffer
    ? new Uint8Array(data)
    : new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
}

/** `@smithy/signature-v4`'s hash: SHA-256, or HMAC-SHA-256 with a secret, from node:crypto. */
class Sha256 {
  readonly #hash: Hash | Hmac;
  constructor(secret?: string | ArrayBuffer | ArrayBufferView) {
    this.#hash = secret === undefined ? createHash('sha256') : createHmac('sha256', bytes(secret));
  }
  update(data: string | ArrayBuffer | ArrayBufferView): void {
    this.#hash.update(bytes(data));
  }
  async digest(): Promise<Uint8Array> {
    return new Uint8Array(this.#hash.digest());
  }
}

/** What authenticates the tool's API calls on a target (docs/DESIGN.md §3, "Authentication"). */
export type ApiAuth =
  | { readonly mode: 'apiKey'; readonly apiKey?: string }
  | {
      readonly mode: 'jwt';
      /** The bearer token: `EVENT_PIPELINE_TOKEN` or `--token-stdin` on AWS, the tenant's token of the env file locally. */
      readonly token?: string;
    }
  | {
      readonly mode: 'iam';
      /** Local mode's generated credentials; on AWS the default credential chain. */
      readonly credentials?: { readonly accessKeyId: string; readonly secretAccessKey: string };
      /** On AWS, a named profile of the default chain instead of the environment's identity. */
      readonly profile?: string;
    };

/** A local tenant's credentials as `.local/env.json` holds them (`auth.tenants.<name>`). */
export interface LocalTenantCredentialsLike {
  readonly accessKeyId?: string;
  readonly secretAccessKey?: string;
  readonly apiKey?: string;
  readonly token?: string;
}

/**
 * How a local tenant authenticates on a stage whose auth mode is `mode`: its access key (iam),
 * its API key (apiKey) or its token (jwt); `undefined` when it lacks what the mode needs.
 */
export function localTenantAuth(
  mode: string | undefined,
  c: LocalTenantCredentialsLike | undefined,
): ApiAuth | undefined {
  if (mode === 'iam' && c?.accessKeyId && c.secretAccessKey)
    return { mode, credentials: { accessKeyId: c.accessKeyId, secretAccessKey: c.secretAccessKey } };
  if (mode === 'apiKey' && c?.apiKey) return { mode, apiKey: c.apiKey };
  if (mode === 'jwt' && c?.token) return { mode, token: c.token };
  return undefined;
}

/**
 * The headers that authenticate one API request the stage's way: `x-api-key` (apiKey stages),
 * `Authorization: Bearer <token>` (jwt stages) or a SigV4 signature for `execute-api` (iam
 * stages), over the method, URL, headers and body.
 */
export async function authHeaders(
  target: Pick<Target, 'name' | 'region' | 'auth' | 'apiKey'>,
  request: {
    readonly method: string;
    readonly url: string;
    readonly headers: Record<string, string>;
    readonly body?: string;
  },
  missingKey: () => never,
): Promise<Record<string, string>> {
  // A target without `auth` (an env file or stack from before 0.3.0) uses its API key.
  const auth: ApiAuth = target.auth ?? {
    mode: 'apiKey',
    ...(target.apiKey ? { apiKey: target.apiKey } : {}),
  };
  if (auth.mode === 'apiKey') return { ...request.headers, 'x-api-key': auth.apiKey ?? missingKey() };
  if (auth.mode === 'jwt') {
    if (!auth.token)
      throw new OpsError(
        `no bearer token for ${target.name} (auth jwt): set EVENT_PIPELINE_TOKEN or pipe it to --token-stdin`,
      );
    return { ...request.headers, authorization: `Bearer ${auth.token}` };
  }
  const url = new URL(request.url);
  const signer = new SignatureV4({
    service: 'execute-api',
    region: target.region,
    credentials: auth.credentials ?? defaultProvider(auth.profile ? { profile: auth.profile } : {}),
    sha256: Sha256,
  });
  try {
    const signed = await signer.sign({
      method: request.method,
      protocol: url.protocol,
      hostname: url.hostname,
      ...(url.port ? { port: Number(url.port) } : {}),
      path: url.pathname,
      query: Object.fromEntries(url.searchParams),
      headers: { ...request.headers, host: url.host },
      ...(request.body === undefined ? {} : { body: request.body }),
    });
    return signed.headers as Record<string, string>;
  } catch (error) {
    throw new OpsError(
      `cannot sign the request to ${target.name} (SigV4, execute-api): ${(error as Error).message.split('\n')[0]}`,
    );
  }
}
