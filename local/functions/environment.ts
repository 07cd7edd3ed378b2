import * as path from 'node:path';
import type { Resolver } from '../template/resolver';
import type { FunctionSpec } from '../template/topology';

/** `PATH` of every sandbox unless {@link FunctionEnvOptions.path} says otherwise: Lambda's. */
export const LAMBDA_PATH = '/usr/local/bin:/usr/bin/:/bin:/opt/bin';

/** What {@link functionEnv} needs besides the function. */
export interface FunctionEnvOptions {
  readonly resolver: Resolver;
  readonly region: string;
  /** Endpoint of the functions' SDK clients (the emulator, or a proxy in front of it). */
  readonly endpoint: string;
  readonly logGroupName: string;
  /** The sandboxes' `PATH`. @default {@link LAMBDA_PATH} */
  readonly path?: string;
  /** Endpoint of the embedded DynamoDB emulator (`AWS_ENDPOINT_URL_DYNAMODB`). @default none */
  readonly dynamodbEndpoint?: string;
  /** Endpoint of the local EventBridge (`AWS_ENDPOINT_URL_EVENTBRIDGE`). @default none */
  readonly eventsEndpoint?: string;
}

/**
 * The `process.env` of a function's sandboxes: the template's variables (resolved), what the
 * Lambda runtime sets, and the endpoint plumbing that points the SDK at `endpoint`.
 */
export function functionEnv(spec: FunctionSpec, options: FunctionEnvOptions): Record<string, string> {
  const { resolver, region, endpoint, logGroupName } = options;
  const p = spec.resource.properties;
  const at = (property: string) => ({ resource: spec.logicalId, property });
  const variables = resolver.resolve(
    (p.Environment as { Variables?: unknown } | undefined)?.Variables ?? {},
    at('Environment.Variables'),
  ) as Record<string, unknown>;
  const logging = (resolver.resolve(p.LoggingConfig ?? {}, at('LoggingConfig')) ?? {}) as Record<
    string,
    unknown
  >;
  return {
    PATH: options.path ?? LAMBDA_PATH,
    LANG: 'en_US.UTF-8',
    ...Object.fromEntries(Object.entries(variables).map(([k, v]) => [k, String(v)])),
    // What the Lambda runtime sets (reserved names: they win over the template's variables).
    AWS_REGION: region,
    AWS_DEFAULT_REGION: region,
    AWS_ACCESS_KEY_ID: 'local',
    AWS_SECRET_ACCESS_KEY: 'local',
    AWS_SESSION_TOKEN: 'local',
    AWS_EXECUTION_ENV: `AWS_Lambda_${spec.runtime}`,
    AWS_LAMBDA_FUNCTION_NAME: spec.name,
    AWS_LAMBDA_FUNCTION_MEMORY_SIZE: String(spec.memoryMb),
    AWS_LAMBDA_FUNCTION_VERSION: '$LATEST',
    AWS_LAMBDA_LOG_GROUP_NAME: logGroupName,
    AWS_LAMBDA_INITIALIZATION_TYPE: 'on-demand',
    ...(logging.LogFormat ? { AWS_LAMBDA_LOG_FORMAT: String(logging.LogFormat) } : {}),
    ...(logging.ApplicationLogLevel ? { AWS_LAMBDA_LOG_LEVEL: String(logging.ApplicationLogLevel) } : {}),
    LAMBDA_TASK_ROOT: path.dirname(spec.file),
    _HANDLER: spec.handler,
    // Local-only plumbing, invisible to the handler code:
    // - SDK clients reach the emulator through the standard endpoint variables;
    AWS_ENDPOINT_URL: endpoint,
    // - the emulator's queue URLs have host sqs.<region>.localhost; the SQS client sends to the
    //   queue URL's host unless its endpoint has the same origin (then it neither rewrites nor
    //   warns on every call). worker.mjs resolves *.localhost to 127.0.0.1;
    AWS_ENDPOINT_URL_SQS: `http://sqs.${region}.localhost:${new URL(endpoint).port}`,
    // - DynamoDB is a second emulator (dynalite) with its own endpoint;
    ...(options.dynamodbEndpoint ? { AWS_ENDPOINT_URL_DYNAMODB: options.dynamodbEndpoint } : {}),
    // - EventBridge (PutEvents) is local mode's own endpoint (local/aws/event-bus.ts);
    ...(options.eventsEndpoint ? { AWS_ENDPOINT_URL_EVENTBRIDGE: options.eventsEndpoint } : {}),
    // - the SDK warns once per sandbox that Node < 22 loses support; Lambda runs nodejs24.x.
    AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
  };
}

/** The function's log group: `LoggingConfig.LogGroup` when the template sets one, else Lambda's `/aws/lambda/<name>`. */
export function logGroupNameOf(spec: FunctionSpec, resolver: Resolver): string {
  const logging = spec.resource.properties.LoggingConfig as { LogGroup?: unknown } | undefined;
  return logging?.LogGroup
    ? resolver.resolveString(logging.LogGroup, {
        resource: spec.logicalId,
        property: 'LoggingConfig.LogGroup',
      })
    : `/aws/lambda/${spec.name}`;
}
