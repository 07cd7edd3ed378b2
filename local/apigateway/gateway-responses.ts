import type { GatewayResponseSpec } from '../template/topology';
import type { HttpAnswer } from './http-answer';

/** API Gateway's own answers (gateway responses) that local mode can produce. */
export type GatewayResponseType =
  | 'MISSING_AUTHENTICATION_TOKEN'
  | 'INVALID_API_KEY'
  | 'INVALID_SIGNATURE'
  | 'UNAUTHORIZED'
  | 'ACCESS_DENIED'
  | 'AUTHORIZER_FAILURE'
  | 'REQUEST_TOO_LARGE'
  | 'INTEGRATION_TIMEOUT'
  | 'LAMBDA_FAILURE';

/** Default status, message and error type of each gateway response (API Gateway developer guide). */
const GATEWAY_DEFAULTS: Record<
  GatewayResponseType,
  { status: number; message: string; errorType: string; family: string }
> = {
  MISSING_AUTHENTICATION_TOKEN: {
    status: 403,
    message: 'Missing Authentication Token',
    errorType: 'MissingAuthenticationTokenException',
    family: 'DEFAULT_4XX',
  },
  INVALID_API_KEY: {
    status: 403,
    message: 'Forbidden',
    errorType: 'ForbiddenException',
    family: 'DEFAULT_4XX',
  },
  INVALID_SIGNATURE: {
    status: 403,
    message:
      'The request signature we calculated does not match the signature you provided. Check your AWS Secret Access Key and signing method. Consult the service documentation for details.',
    errorType: 'InvalidSignatureException',
    family: 'DEFAULT_4XX',
  },
  // A Lambda authorizer that threw "Unauthorized", or a request without its identity source.
  UNAUTHORIZED: {
    status: 401,
    message: 'Unauthorized',
    errorType: 'UnauthorizedException',
    family: 'DEFAULT_4XX',
  },
  // A Lambda authorizer's policy that does not allow the method.
  ACCESS_DENIED: {
    status: 403,
    message: 'User is not authorized to access this resource with an explicit deny',
    errorType: 'AccessDeniedException',
    family: 'DEFAULT_4XX',
  },
  // A Lambda authorizer that failed otherwise (an error, a malformed answer).
  AUTHORIZER_FAILURE: {
    status: 500,
    message: 'Internal server error',
    errorType: 'AuthorizerFailureException',
    family: 'DEFAULT_5XX',
  },
  REQUEST_TOO_LARGE: {
    status: 413,
    message: 'Request Too Long',
    errorType: 'RequestTooLongException',
    family: 'DEFAULT_4XX',
  },
  INTEGRATION_TIMEOUT: {
    status: 504,
    message: 'Endpoint request timed out',
    errorType: 'InternalServerErrorException',
    family: 'DEFAULT_5XX',
  },
  // A failed or malformed Lambda proxy response has no response type of its own: API Gateway
  // answers 502 "Internal server error", customizable through DEFAULT_5XX.
  LAMBDA_FAILURE: {
    status: 502,
    message: 'Internal server error',
    errorType: 'InternalServerErrorException',
    family: 'DEFAULT_5XX',
  },
};

/** Values of `$context` variables a gateway response template may use. */
export interface GatewayContext {
  readonly requestId: string;
  readonly extendedRequestId?: string;
  readonly stage?: string;
  readonly apiId?: string;
  readonly httpMethod?: string;
  readonly resourcePath?: string;
  readonly path?: string;
  /** `$context.error.message` when it is not the type's default (e.g. why a signature was refused). */
  readonly errorMessage?: string;
  /** The `x-amzn-errortype` header when it is not the type's default (e.g. `UnrecognizedClientException`). */
  readonly errorType?: string;
}

/**
 * Renders one of API Gateway's own answers from the template's `AWS::ApiGateway::GatewayResponse`
 * resources, as API Gateway does: the type's own response if defined, else `DEFAULT_4XX` /
 * `DEFAULT_5XX`, else the built-in `{"message":…}`; `StatusCode` overrides the type's default;
 * `$context.*` variables in the `application/json` template are substituted (templates are not
 * VTL-evaluated); static `gatewayresponse.header.*` parameters become headers.
 */
export function renderGatewayResponse(
  responses: ReadonlyMap<string, GatewayResponseSpec>,
  type: GatewayResponseType,
  context: GatewayContext,
): HttpAnswer {
  const d = GATEWAY_DEFAULTS[type];
  const spec = (type === 'LAMBDA_FAILURE' ? undefined : responses.get(type)) ?? responses.get(d.family);
  const responseType = type === 'LAMBDA_FAILURE' ? 'DEFAULT_5XX' : type;
  const vars: Record<string, string> = {
    requestId: context.requestId,
    extendedRequestId: context.extendedRequestId ?? context.requestId,
    stage: context.stage ?? '',
    apiId: context.apiId ?? '',
    httpMethod: context.httpMethod ?? '',
    resourcePath: context.resourcePath ?? '',
    path: context.path ?? '',
    'error.message': context.errorMessage ?? d.message,
    'error.messageString': JSON.stringify(context.errorMessage ?? d.message),
    'error.responseType': responseType,
    'error.validationErrorString': '',
  };
  const template =
    spec?.templates['application/json'] ??
    Object.values(spec?.templates ?? {})[0] ??
    '{"message":$context.error.messageString}';
  const body = template.replace(
    /\$!?(?:\{context\.([A-Za-z]+(?:\.[A-Za-z]+)*)\}|context\.([A-Za-z]+(?:\.[A-Za-z]+)*))/g,
    (_, braced: string | undefined, bare: string | undefined) => vars[(braced ?? bare)!] ?? '',
  );
  return {
    statusCode: spec?.statusCode ?? d.status,
    headers: {
      'content-type': 'application/json',
      'x-amzn-requestid': context.requestId,
      'x-amzn-errortype': context.errorType ?? d.errorType,
      ...spec?.headers,
    },
    body,
  };
}
