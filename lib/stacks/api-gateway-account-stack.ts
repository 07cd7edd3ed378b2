import { Stack, Validations, type StackProps } from 'aws-cdk-lib';
import * as apigw from 'aws-cdk-lib/aws-apigateway';
import * as iam from 'aws-cdk-lib/aws-iam';
import type { Construct } from 'constructs';

/** Name of the one-per-account-and-region stack holding the API Gateway CloudWatch role setting. */
export const API_GATEWAY_ACCOUNT_STACK = 'EventPipeline-account';

/**
 * The API Gateway account setting (`AWS::ApiGateway::Account`): the role API Gateway writes
 * execution logs with. It is one setting per account and region, so it lives here — deployed once
 * (`npm run deploy -- EventPipeline-account`) — and not in the stage stacks, where dev, staging and
 * prod in one account would overwrite each other and deleting one stage would break the others' logs.
 */
export class ApiGatewayAccountStack extends Stack {
  public readonly role: iam.Role;

  constructor(scope: Construct, id: string, props: StackProps = {}) {
    super(scope, id, props);
    this.role = new iam.Role(this, 'CloudWatchRole', {
      assumedBy: new iam.ServicePrincipal('apigateway.amazonaws.com'),
      managedPolicies: [
        iam.ManagedPolicy.fromAwsManagedPolicyName('service-role/AmazonAPIGatewayPushToCloudWatchLogs'),
      ],
    });
    new apigw.CfnAccount(this, 'Account', { cloudWatchRoleArn: this.role.roleArn });
    Validations.of(this.role).acknowledge({
      id: 'AwsSolutions::AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AmazonAPIGatewayPushToCloudWatchLogs]',
      reason:
        'The account-level API Gateway logging role must use this AWS-managed policy (logs actions only); it is what ' +
        'lets every stage of the account write execution logs.',
    });
  }
}
