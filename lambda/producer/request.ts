import type { APIGatewayProxyEvent } from 'aws-lambda';
import { ApiError, header } from './http';

/** The producer's routes. */
export type Route = 'single' | 'batch' | 'status' | 'result';

const ROUTES: Record<string, Route> = {
  '/v1/messages': 'single',
  '/v1/messages/batch': 'batch',
  '/v1/messages/{id}': 'status',
  '/v1/messages/{id}/result': 'result',
};

/** The route of a proxy event (by resource, else by path without trailing slashes). */
export function routeOf(event: APIGatewayProxyEvent): Route | undefined {
  const path = event.path?.replace(/\/+$/, '');
  const candidates = [event.resource, path];
  for (const c of candidates) if (c && ROUTES[c]) return ROUTES[c];
  if (path && /^\/v1\/messages\/[^/]+$/.test(path)) return 'status';
  if (path && /^\/v1\/messages\/[^/]+\/result$/.test(path)) return 'result';
  return undefined;
}

/** The `{id}` of a status request (path parameter, else the last path segment). */
export function statusIdOf(event: APIGatewayProxyEvent): string {
  const fromParams = event.pathParameters?.id;
  if (fromParams !== undefined) return fromParams;
  const last =
    event.path
      ?.replace(/\/+$/, '')
      .replace(/\/result$/, '')
      .split('/')
      .pop() ?? '';
  try {
    return decodeURIComponent(last);
  } catch {
    return last;
  }
}

/**
 * The request's JSON body: checks the media type, the size limit (`maxBodyBytes`) and the JSON
 * syntax, throwing {@link ApiError} (415, 413, 400) naming the field.
 */
export function parseJsonBody(event: APIGatewayProxyEvent, maxBodyBytes: number): unknown {
  const contentType = header(event.headers, 'content-type');
  const mediaType = contentType?.split(';')[0]?.trim().toLowerCase();
  if (mediaType !== 'application/json') {
    throw new ApiError(
      'UnsupportedMediaType',
      `content-type must be application/json, got ${contentType ? `"${contentType}"` : 'none'}`,
      [{ field: 'content-type', message: 'must be application/json' }],
    );
  }
  const raw = event.body ?? '';
  const bytes = event.isBase64Encoded ? Buffer.from(raw, 'base64') : Buffer.from(raw, 'utf8');
  if (bytes.length > maxBodyBytes) {
    throw new ApiError(
      'PayloadTooLarge',
      `Request body is ${bytes.length} bytes; the limit is ${maxBodyBytes}`,
      [{ field: '(body)', message: `larger than ${maxBodyBytes} bytes` }],
    );
  }
  try {
    return JSON.parse(bytes.toString('utf8'));
  } catch (e) {
    throw new ApiError('InvalidJson', `Request body is not valid JSON: ${(e as Error).message}`, [
      { field: '(body)', message: 'not valid JSON' },
    ]);
  }
}
