import type { HttpAnswer } from './http-answer';

/**
 * Turns a Lambda proxy response into the HTTP answer, as API Gateway does: `statusCode`,
 * `headers` and `multiValueHeaders`, `body` (base64-decoded when `isBase64Encoded`).
 * `undefined` when the response is malformed (API Gateway then answers 502).
 */
export function proxyAnswer(payload: unknown, requestId: string): HttpAnswer | undefined {
  if (payload === null || typeof payload !== 'object' || Array.isArray(payload)) return undefined;
  const r = payload as Record<string, unknown>;
  const status = Number(r.statusCode);
  if (!Number.isInteger(status) || status < 100 || status > 599) return undefined;
  if (r.body !== undefined && r.body !== null && typeof r.body !== 'string') return undefined;
  const headers: Record<string, string | string[]> = {};
  if (r.headers !== undefined && r.headers !== null) {
    if (typeof r.headers !== 'object') return undefined;
    for (const [k, v] of Object.entries(r.headers as Record<string, unknown>))
      headers[k.toLowerCase()] = String(v);
  }
  if (r.multiValueHeaders !== undefined && r.multiValueHeaders !== null) {
    if (typeof r.multiValueHeaders !== 'object') return undefined;
    for (const [k, v] of Object.entries(r.multiValueHeaders as Record<string, unknown>)) {
      if (!Array.isArray(v)) return undefined;
      headers[k.toLowerCase()] = v.map(String);
    }
  }
  headers['content-type'] ??= 'application/json';
  headers['x-amzn-requestid'] = requestId;
  const body =
    typeof r.body === 'string' ? (r.isBase64Encoded === true ? Buffer.from(r.body, 'base64') : r.body) : '';
  return { statusCode: status, headers, body };
}
