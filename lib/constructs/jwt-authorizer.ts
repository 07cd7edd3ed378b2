import { Duration } from 'aws-cdk-lib';
import * as apigw from 'aws-cdk-lib/aws-apigateway';
import { Construct } from 'constructs';
import { DEFAULT_JWT_ALGORITHMS } from '../../lambda/authorizer/algorithms';
import { toEnvironment } from '../../lambda/authorizer/config';
import { jwksUriOf } from '../config/settings';
import type { JwtSettings } from '../config/types';
import { PipelineFunction } from './pipeline-function';

/** Seconds API Gateway keeps an authorizer result per `Authorization` header value. */
export const JWT_AUTHORIZER_CACHE_SECONDS = 300;

/** Props of {@link JwtAuthorizer}. */
export interface JwtAuthorizerProps {
  /** The token issuer (`auth.jwt`) (required). */
  readonly jwt: JwtSettings;
  /** Retention of the function's log group, in days (required). */
  readonly logRetentionDays: number;
  /** Keep the function's log group when the stack is deleted. @default false */
  readonly retainLogs?: boolean;
  /** X-Ray active tracing. @default false */
  readonly tracing?: boolean;
}

/**
 * The `jwt` stage's Lambda authorizer (REQUEST type): a function of its own (`lambda/authorizer`)
 * that checks the bearer token against the issuer's JWKS (signature, algorithm, `iss`, `aud`,
 * `exp`/`nbf`) and returns the tenant as context; API Gateway caches its answer per `Authorization`
 * header for {@link JWT_AUTHORIZER_CACHE_SECONDS} seconds. Its role can write its own log group
 * only: it reads the public key set over HTTPS and nothing of the stack.
 */
export class JwtAuthorizer extends Construct {
  public readonly function: PipelineFunction;
  public readonly authorizer: apigw.RequestAuthorizer;

  constructor(scope: Construct, id: string, props: JwtAuthorizerProps) {
    super(scope, id);
    const { jwt } = props;
    this.function = new PipelineFunction(this, 'Function', {
      handlerDir: 'authorizer',
      serviceName: 'authorizer',
      description: `Checks bearer tokens of ${jwt.issuer} for the API`,
      timeout: Duration.seconds(10),
      memoryMb: 256,
      logRetentionDays: props.logRetentionDays,
      retainLogs: props.retainLogs ?? false,
      ...(props.tracing === undefined ? {} : { tracing: props.tracing }),
      environment: toEnvironment({
        issuer: jwt.issuer,
        audience: jwt.audience,
        jwksUri: jwksUriOf(jwt),
        tenantClaim: jwt.tenantClaim ?? 'sub',
        algorithms: jwt.algorithms ?? DEFAULT_JWT_ALGORITHMS,
      }),
    });
    this.authorizer = new apigw.RequestAuthorizer(this, 'Authorizer', {
      handler: this.function.fn,
      // A request without the header is refused (401) before the function runs.
      identitySources: [apigw.IdentitySource.header('Authorization')],
      resultsCacheTtl: Duration.seconds(JWT_AUTHORIZER_CACHE_SECONDS),
    });
  }
}
