import { App } from 'aws-cdk-lib';
import { Validations } from 'aws-cdk-lib';
import { AwsSolutionsChecks } from 'cdk-nag';
import { loadStageConfig, StageConfigError } from '../lib/config/stages';
import { API_GATEWAY_ACCOUNT_STACK, ApiGatewayAccountStack } from '../lib/stacks/api-gateway-account-stack';
import { EventPipelineStack } from '../lib/stacks/event-pipeline-stack';

// The only place that reads context and the environment.
const app = new App();
const stage = String(app.node.tryGetContext('stage') ?? process.env.STAGE ?? 'dev');
let config;
try {
  config = loadStageConfig(stage, {
    env: {
      account: app.node.tryGetContext('account') ?? process.env.CDK_DEFAULT_ACCOUNT,
      region: app.node.tryGetContext('region') ?? process.env.CDK_DEFAULT_REGION,
    },
    alarmEmail: app.node.tryGetContext('alarmEmail'),
  });
} catch (error) {
  if (error instanceof StageConfigError) {
    console.error(`error: ${error.message}`);
    process.exit(1);
  }
  throw error;
}

new EventPipelineStack(app, `EventPipeline-${config.stage}`, {
  config,
  env: config.env.account || config.env.region ? config.env : undefined,
  description: `Event pipeline (${config.stage}): API Gateway → SQS standard/FIFO → Lambda consumers → DLQ + S3 failure archive`,
  tags: { project: 'event-pipeline', stage: config.stage },
});
// One per account and region, shared by every stage: deploy it once (README, "Deploying").
new ApiGatewayAccountStack(app, API_GATEWAY_ACCOUNT_STACK, {
  env: config.env.account || config.env.region ? config.env : undefined,
  description: 'Event pipeline: API Gateway CloudWatch role (account-and-region-wide setting, one-time)',
  tags: { project: 'event-pipeline' },
});
Validations.of(app).addPlugins(new AwsSolutionsChecks(app));
