import type { APIGatewayProxyResult } from 'aws-lambda';

/** Error codes of the HTTP API (docs/DESIGN.md §3). */
export const ERROR_CODES = {
  InvalidJson: 400,
  ValidationError: 400,
  UnknownType: 400,
  Forbidden: 403,
  NotFound: 404,
  MethodNotAllowed: 405,
  RequestInProgress: 409,
  IdempotencyKeyReused: 422,
  PayloadTooLarge: 413,
  UnsupportedMediaType: 415,
  QueueUnavailable: 503,
  ResultUnavailable: 503,
} as const;
/** One of the API's error codes. */
export type ErrorCode = keyof typeof ERROR_CODES;

/** One problem of a refused request: the field (dotted path) and what is wrong with it. */
export interface ErrorDetail {
  readonly field: string;
  readonly message: string;
}

/** A request refusal that maps to an HTTP error response. */
export class ApiError extends Error {
  constructor(
    readonly code: ErrorCode,
    message: string,
    readonly details: readonly ErrorDetail[] = [],
    readonly headers: Record<string, string> = {},
  ) {
    super(message);
    this.name = 'ApiError';
  }

  get status(): number {
    return ERROR_CODES[this.code];
  }

  toBody() {
    return {
      error: {
        code: this.code,
        message: this.message,
        // Always present (maybe empty): every error body has one shape, the gateway's included.
        details: this.details,
      },
    };
  }
}

/** A JSON response with the API's standard headers. */
export function json(
  statusCode: number,
  body: unknown,
  headers: Record<string, string> = {},
): APIGatewayProxyResult {
  return {
    statusCode,
    headers: { 'content-type': 'application/json', 'cache-control': 'no-store', ...headers },
    body: JSON.stringify(body),
  };
}

/**
 * The error response for an {@link ApiError}; with `requestId` (API Gateway's request id) the body
 * carries it as `error.requestId`, like the gateway's own error answers.
 */
export function errorResponse(
  e: ApiError,
  extraHeaders: Record<string, string> = {},
  requestId?: string,
): APIGatewayProxyResult {
  const body = e.toBody();
  return json(e.status, requestId === undefined ? body : { error: { ...body.error, requestId } }, {
    ...e.headers,
    ...extraHeaders,
  });
}

/** Case-insensitive header lookup (API Gateway passes headers as the client sent them). */
export function header(
  headers: Record<string, string | undefined> | null | undefined,
  name: string,
): string | undefined {
  if (!headers) return undefined;
  const lower = name.toLowerCase();
  for (const [k, v] of Object.entries(headers)) if (k.toLowerCase() === lower) return v;
  return undefined;
}
