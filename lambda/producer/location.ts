import type { APIGatewayProxyEvent } from 'aws-lambda';
import { header } from './http';

/** The path of a message's status, relative to the API's base URL. */
export function statusPath(id: string): string {
  return `/v1/messages/${id}`;
}

/**
 * The absolute status URL of message `id` for the request `event` (the 202's `Location`):
 * scheme from `X-Forwarded-Proto` (default https), host from the `Host` header (else the
 * request context's domain), and on API Gateway's own `execute-api` domain the stage as base
 * path (`https://<api>.execute-api.<region>.amazonaws.com/<stage>/v1/messages/<id>`). Locally
 * and on a custom domain without a base path mapping there is none.
 */
export function statusUrl(event: APIGatewayProxyEvent, id: string): string {
  const ctx = event.requestContext;
  const proto = header(event.headers, 'x-forwarded-proto')?.split(',')[0]?.trim() || 'https';
  const host = header(event.headers, 'host') ?? ctx?.domainName ?? 'localhost';
  const executeApi = /\.execute-api\.[a-z0-9-]+\.amazonaws\.com(\.cn)?$/.test(host.split(':')[0] ?? '');
  const base = executeApi && ctx?.stage ? `/${ctx.stage}` : '';
  return `${proto}://${host}${base}${statusPath(id)}`;
}
