import * as path from 'node:path';
import type { Duration } from 'aws-cdk-lib';
import { RemovalPolicy, Validations } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as nodejs from 'aws-cdk-lib/aws-lambda-nodejs';
import * as logs from 'aws-cdk-lib/aws-logs';
import { Construct } from 'constructs';
import { METRICS_NAMESPACE } from '../../lambda/shared/constants';
import { FUNCTION_DEFAULTS } from '../config/defaults';
import { ConfigError } from '../config/errors';
import { PACKAGE_ROOT } from '../package-root';
import { logDataProtectionPolicy } from './log-data-protection';

/** The runtime of every function (set explicitly: NodejsFunction's own default is old). */
const FUNCTION_RUNTIME = lambda.Runtime.NODEJS_24_X;

/** Props of {@link PipelineFunction}. */
export interface PipelineFunctionProps {
  /**
   * The handler's entry file: a folder under the package's `lambda/` holding an `index.ts`, or an
   * absolute path (a generated entry, `lib/bundling/entries.ts`) (required).
   */
  readonly handlerDir: string;
  /** Short description shown in the console (required). */
  readonly description: string;
  /** Function timeout (required). */
  readonly timeout: Duration;
  /** Function memory in MB. @default FUNCTION_DEFAULTS.memoryMb (256) */
  readonly memoryMb?: number;
  /** Retention of the function's log group, in days; one CloudWatch offers (required). */
  readonly logRetentionDays: number;
  /** Keep the function's log group when the stack is deleted. @default false */
  readonly retainLogs?: boolean;
  /** Variables added to the Powertools ones (service name, metrics namespace, source maps). @default none */
  readonly environment?: Record<string, string>;
  /** Powertools service name (log `service` key and metric dimension) (required). */
  readonly serviceName: string;
  /**
   * X-Ray active tracing. The AWS SDK passes the invocation's trace header (`_X_AMZN_TRACE_ID`) on
   * each request, so a message sent by a traced producer carries `AWSTraceHeader` and its consumer's
   * invocation joins the same trace: no tracing library in the bundle.
   * @default false
   */
  readonly tracing?: boolean;
}

const RETENTION: Record<number, logs.RetentionDays> = {
  1: logs.RetentionDays.ONE_DAY,
  3: logs.RetentionDays.THREE_DAYS,
  5: logs.RetentionDays.FIVE_DAYS,
  7: logs.RetentionDays.ONE_WEEK,
  14: logs.RetentionDays.TWO_WEEKS,
  30: logs.RetentionDays.ONE_MONTH,
  60: logs.RetentionDays.TWO_MONTHS,
  90: logs.RetentionDays.THREE_MONTHS,
  180: logs.RetentionDays.SIX_MONTHS,
  365: logs.RetentionDays.ONE_YEAR,
};

/** CloudWatch Logs retention for a number of days (must be one CloudWatch offers). */
export function retentionDays(days: number): logs.RetentionDays {
  const r = RETENTION[days];
  if (r === undefined)
    throw new ConfigError(
      `Log retention of ${days} days is not offered; use one of ${Object.keys(RETENTION).join(', ')}`,
    );
  return r;
}

/**
 * A NodejsFunction with the project's defaults: explicit Node.js runtime, arm64, ESM bundle
 * (minified, with source maps), JSON logs into a log group of its own with a set retention and a
 * data protection policy (`./log-data-protection.ts`), Powertools environment, and a role of its
 * own that may write to that log group only (no `AWSLambdaBasicExecutionRole`, whose logs actions
 * are on every log group of the account).
 */
export class PipelineFunction extends Construct {
  public readonly fn: nodejs.NodejsFunction;
  public readonly logGroup: logs.LogGroup;
  /** The function's role: its own log group, then what the pipeline grants it. */
  public readonly role: iam.Role;

  constructor(scope: Construct, id: string, props: PipelineFunctionProps) {
    super(scope, id);
    this.logGroup = new logs.LogGroup(this, 'Logs', {
      retention: retentionDays(props.logRetentionDays),
      removalPolicy: props.retainLogs ? RemovalPolicy.RETAIN : RemovalPolicy.DESTROY,
      dataProtectionPolicy: logDataProtectionPolicy(),
    });
    // The log group exists before the function (CloudFormation creates it), so the role needs
    // no logs:CreateLogGroup; streams and events of this one group only.
    this.role = new iam.Role(this, 'Role', {
      assumedBy: new iam.ServicePrincipal('lambda.amazonaws.com'),
      description: `${props.serviceName}: writes its own log group only, plus the grants of the pipeline`,
    });
    this.logGroup.grant(this.role, 'logs:CreateLogStream', 'logs:PutLogEvents');
    this.fn = new nodejs.NodejsFunction(this, 'Function', {
      entry: path.isAbsolute(props.handlerDir)
        ? props.handlerDir
        : path.join(PACKAGE_ROOT, 'lambda', props.handlerDir, 'index.ts'),
      handler: 'handler',
      description: props.description,
      runtime: FUNCTION_RUNTIME,
      architecture: lambda.Architecture.ARM_64,
      timeout: props.timeout,
      memorySize: props.memoryMb ?? FUNCTION_DEFAULTS.memoryMb,
      logGroup: this.logGroup,
      role: this.role,
      ...(props.tracing ? { tracing: lambda.Tracing.ACTIVE } : {}),
      loggingFormat: lambda.LoggingFormat.JSON,
      environment: {
        POWERTOOLS_SERVICE_NAME: props.serviceName,
        POWERTOOLS_METRICS_NAMESPACE: METRICS_NAMESPACE,
        // No NODE_OPTIONS=--enable-source-maps (on until 2026-12-05): it decodes the whole map at
        // every cold start (consumer init 1.19× a bare handler's without it, 1.23× with; 21 runs,
        // bench/README.md). Stacks still name the TypeScript file and line: the functions map them
        // when one is read (lambda/shared/stack-map.ts), from the map bundled beside index.mjs.
        ...props.environment,
      },
      bundling: {
        format: nodejs.OutputFormat.ESM,
        target: 'node22',
        minify: true,
        // Error classes name themselves from their constructor (`new.target.name`): keep names through minification.
        keepNames: true,
        sourceMap: true,
        // Stacks need the mappings only, not the sources: the map shrinks to about a third.
        sourcesContent: false,
        mainFields: ['module', 'main'],
        // Some CommonJS dependencies call require(); ESM bundles need it defined.
        banner: "import{createRequire as __cr}from'node:module';const require=__cr(import.meta.url);",
        // `event-pipeline/jobs` in an app's job module resolves to the package's TypeScript
        // source (package.json `exports`), the same module the lane runtime imports: one copy of
        // each error class in a bundle, so `instanceof PermanentError` holds.
        esbuildArgs: { '--conditions': 'event-pipeline-source,module' },
      },
    });
    if (props.tracing) {
      Validations.of(this.role).acknowledge({
        id: 'AwsSolutions::AwsSolutions-IAM5[Resource::*]',
        reason:
          'Active tracing grants only xray:PutTraceSegments and xray:PutTelemetryRecords, which support no resource ' +
          'types: X-Ray accepts "*" only for them. The statement carries no access to any data.',
      });
    }
  }
}
