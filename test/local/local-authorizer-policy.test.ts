import { describe, expect, it } from 'vitest';
import { policyAllows } from '../../local/apigateway/local-auth';

const ARN = 'arn:aws:execute-api:us-east-1:000000000000:abc123/local/GET/v1/messages/42';
const statement = (Effect: string, Resource: unknown, Action: unknown = 'execute-api:Invoke') => ({
  Effect,
  Action,
  Resource,
});
const policy = (...Statement: unknown[]) => ({ Version: '2012-10-17', Statement });

describe("local mode reads a Lambda authorizer's policy as API Gateway does", () => {
  it.each<[string, unknown, boolean]>([
    [
      'the stage wildcard',
      policy(statement('Allow', 'arn:aws:execute-api:us-east-1:000000000000:abc123/local/*')),
      true,
    ],
    ['the exact method ARN', policy(statement('Allow', ARN)), true],
    [
      'a list of resources, one matching',
      policy(statement('Allow', ['arn:x', `${ARN.slice(0, -2)}*`])),
      true,
    ],
    ['action execute-api:*', policy(statement('Allow', '*', 'execute-api:*')), true],
    ['another method only', policy(statement('Allow', ARN.replace('/GET/', '/POST/'))), false],
    [
      'another stage',
      policy(statement('Allow', 'arn:aws:execute-api:us-east-1:000000000000:abc123/prod/*')),
      false,
    ],
    ['another action', policy(statement('Allow', '*', 'execute-api:ManageConnections')), false],
    ['a Deny that also matches', policy(statement('Allow', '*'), statement('Deny', ARN)), false],
    ['a Deny only', policy(statement('Deny', '*')), false],
    ['no statement', { Version: '2012-10-17' }, false],
    ['a single statement object', { Version: '2012-10-17', Statement: statement('Allow', '*') }, true],
    ['case matters in resources', policy(statement('Allow', ARN.toUpperCase())), false],
  ])('%s', (_name, doc, allowed) => {
    expect(policyAllows(doc, ARN)).toBe(allowed);
  });
});
