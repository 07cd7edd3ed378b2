import { API_KEY_ENV } from './cli';
import { OpsError } from './errors';
import { authHeaders } from './request-auth';
import type { Target } from './target';

/** A message to send through the HTTP API (docs/DESIGN.md §3). */
export interface SendInput {
  readonly type: string;
  readonly payload: Record<string, unknown>;
  readonly orderingKey?: string;
  readonly idempotencyKey?: string;
}

/** The API's answer. */
export interface ApiAnswer {
  readonly status: number;
  readonly body: unknown;
}

function requireKey(target: Target): string {
  if (!target.apiKey)
    throw new OpsError(
      `no API key for ${target.name}: pass --api-key-stdin or set ${API_KEY_ENV} (--api-key works too, but ps shows it); its value: aws apigateway get-api-key --include-value --api-key <ApiKeyId output> --query value --output text`,
    );
  return target.apiKey;
}

/** POSTs one message to `/v1/messages` with the stage's API key; any answer is returned. */
export async function postMessage(
  target: Target,
  input: SendInput,
  doFetch: typeof fetch = fetch,
): Promise<ApiAnswer> {
  const url = `${target.apiUrl}/v1/messages`;
  const requestBody = JSON.stringify({
    type: input.type,
    payload: input.payload,
    ...(input.orderingKey ? { orderingKey: input.orderingKey } : {}),
  });
  // x-api-key on apiKey stages, a SigV4 signature on iam ones (`./request-auth.ts`).
  const headers = await authHeaders(
    target,
    {
      method: 'POST',
      url,
      headers: {
        'content-type': 'application/json',
        ...(input.idempotencyKey ? { 'idempotency-key': input.idempotencyKey } : {}),
      },
      body: requestBody,
    },
    () => requireKey(target) as never,
  );
  let res: Response;
  try {
    res = await doFetch(url, { method: 'POST', headers, body: requestBody });
  } catch (error) {
    throw new OpsError(
      target.kind === 'local'
        ? `local mode is not running (nothing answers at ${target.apiUrl}): start it with npm start`
        : `cannot reach ${target.apiUrl}: ${(error as Error).message}`,
    );
  }
  const text = await res.text();
  let body: unknown = text;
  try {
    body = JSON.parse(text);
  } catch {
    /* not JSON: keep the text */
  }
  return { status: res.status, body };
}

/** The 202 body of an accepted message. */
export interface Accepted {
  /** The envelope id (`GET /v1/messages/{id}`); absent from the 202 of a stage deployed before the status API. */
  readonly id?: string;
  readonly messageId: string;
  /** `standard` or `fifo`: the kind of queue. */
  readonly queue: string;
  /** The lane the message went to (answered since lanes exist). */
  readonly lane?: string;
  readonly sequenceNumber?: string;
}

/** {@link postMessage}, failing with the API's error line unless it answered 202. */
export async function send(
  target: Target,
  input: SendInput,
  doFetch: typeof fetch = fetch,
): Promise<Accepted> {
  const answer = await postMessage(target, input, doFetch);
  if (answer.status !== 202) {
    const err = (answer.body as { error?: { code?: string; message?: string } })?.error;
    throw new OpsError(
      `the API answered ${answer.status}${err ? ` ${err.code ?? ''}: ${err.message ?? ''}` : `: ${JSON.stringify(answer.body)}`}`,
    );
  }
  return answer.body as Accepted;
}
