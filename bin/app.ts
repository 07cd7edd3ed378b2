import { App, Validations } from 'aws-cdk-lib';
import { AwsSolutionsChecks } from 'cdk-nag';
import {
  API_GATEWAY_ACCOUNT_STACK,
  ApiGatewayAccountStack,
  ConfigError,
  type AuthMode,
} from 'event-pipeline';
import { EventPipelineStack } from '../app/event-pipeline-stack';
import { loadStageConfig } from '../app/stages';

// This repository's own app, the reference adopter of the package: it imports `event-pipeline`
// by name, as an app that installed it does. The only place that reads context and the environment. The stage comes from `-c stage=<name>`
// only: there is no default, so a deploy never picks a stage nobody asked for.
const app = new App();
try {
  const stage: unknown = app.node.tryGetContext('stage');
  const name = stage === undefined ? undefined : String(stage);
  const extra = {
    env: {
      account: app.node.tryGetContext('account') ?? process.env.CDK_DEFAULT_ACCOUNT,
      region: app.node.tryGetContext('region') ?? process.env.CDK_DEFAULT_REGION,
    },
    // For one deploy only: the stage's `alarmEmail` in app/stages.ts is what persists.
    alarmEmail: app.node.tryGetContext('alarmEmail'),
  };
  const base = loadStageConfig(name, extra);
  // `-c auth=iam|apiKey` (what `npm start -- --auth …` passes): the stage with another auth mode.
  const authMode: unknown = app.node.tryGetContext('auth');
  const config =
    authMode === undefined
      ? base
      : loadStageConfig(name, { ...extra, auth: { ...base.auth, mode: String(authMode) as AuthMode } });
  const env = config.env.account || config.env.region ? config.env : undefined;
  new EventPipelineStack(app, `EventPipeline-${config.stage}`, {
    config,
    env,
    description: `Event pipeline (${config.stage}): API Gateway → SQS standard/FIFO → Lambda consumers → DLQ + S3 failure archive`,
    tags: { project: 'event-pipeline', stage: config.stage },
  });
  // One per account and region, shared by every stage: deploy it once (README, "Deploying").
  new ApiGatewayAccountStack(app, API_GATEWAY_ACCOUNT_STACK, {
    env,
    description: 'Event pipeline: API Gateway CloudWatch role (account-and-region-wide setting, one-time)',
    tags: { project: 'event-pipeline' },
  });
} catch (error) {
  if (error instanceof ConfigError) {
    console.error(`error: ${error.message}`);
    process.exit(1);
  }
  throw error;
}
Validations.of(app).addPlugins(new AwsSolutionsChecks(app));
