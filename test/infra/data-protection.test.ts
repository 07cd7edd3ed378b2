/**
 * Data protection of the stack (docs/DESIGN.md §5): what reaches the function logs is masked, the
 * failure archive is encrypted with a key of its own that no role of the stack may decrypt with,
 * the alarm topic's key serves only this account's alarms, and prod keeps its logs and key.
 */
import { Match } from 'aws-cdk-lib/assertions';
import { describe, expect, it } from 'vitest';
import { loadStageConfig, STAGE_NAMES } from '../../app/stages';
import { synthConfig, synthStage } from '../helpers/synth';

const FUNCTION_SERVICES = ['completion-relay', 'consumer', 'dlq-sweeper', 'fifo-consumer', 'producer'];

/** The log group each pipeline function writes to (its LoggingConfig), by service name. */
function functionLogGroups(stage: (typeof STAGE_NAMES)[number]) {
  const template = synthStage(stage);
  const resources = template.toJSON().Resources as Record<
    string,
    { Type: string; Properties: { DataProtectionPolicy: { Statement: unknown[] } } }
  >;
  return Object.fromEntries(
    Object.values(template.findResources('AWS::Lambda::Function'))
      .filter((f) => f.Properties?.Environment?.Variables?.POWERTOOLS_SERVICE_NAME !== undefined)
      .map((f) => {
        const id = f.Properties.LoggingConfig.LogGroup.Ref as string;
        return [
          f.Properties.Environment.Variables.POWERTOOLS_SERVICE_NAME as string,
          { id, ...resources[id] },
        ];
      }),
  );
}

describe.each(STAGE_NAMES)('data protection on stage %s', (stage) => {
  it('masks email addresses, card numbers and secrets in every function log group', () => {
    const groups = functionLogGroups(stage);

    expect(Object.keys(groups).sort()).toEqual(FUNCTION_SERVICES);
    for (const [service, group] of Object.entries(groups)) {
      const policy = group.Properties.DataProtectionPolicy;
      const identifiers = (policy.Statement as { DataIdentifier: unknown[]; Operation: object }[]).map(
        (s) => [
          Object.keys(s.Operation)[0],
          s.DataIdentifier.map((d) => JSON.stringify(d).match(/data-identifier\/([A-Za-z-]+)/)?.[1]),
        ],
      );
      const listed = [
        'EmailAddress',
        'CreditCardNumber',
        'AwsSecretKey',
        'OpenSshPrivateKey',
        'PgpPrivateKey',
        'PkcsPrivateKey',
        'PuttyPrivateKey',
      ];
      expect(identifiers, service).toEqual([
        ['Audit', listed],
        ['Deidentify', listed],
      ]);
    }
  });

  it('encrypts the archive with its own rotated key, which no role of the stack may decrypt with', () => {
    const template = synthStage(stage);

    template.hasResourceProperties('AWS::KMS::Key', {
      Description: 'Failure archive records (S3 SSE-KMS)',
      EnableKeyRotation: true,
    });
    expect(
      template.findResources('AWS::KMS::Key', {
        Properties: { Description: Match.stringLikeRegexp('Failure archive') },
      }),
    ).toHaveProperty('FailureArchiveKey');
    const policies = Object.values(template.findResources('AWS::IAM::Policy')).map((p) =>
      JSON.stringify(p.Properties.PolicyDocument),
    );
    expect(policies.filter((p) => p.includes('kms:Decrypt'))).toEqual([]);
  });

  it('lets CloudWatch use the alarm topic key only for alarms of this account', () => {
    synthStage(stage).hasResourceProperties('AWS::KMS::Key', {
      KeyPolicy: {
        Statement: Match.arrayWith([
          Match.objectLike({
            Principal: { Service: 'cloudwatch.amazonaws.com' },
            Action: ['kms:Decrypt', 'kms:GenerateDataKey*'],
            Condition: {
              StringEquals: { 'aws:SourceAccount': { Ref: 'AWS::AccountId' } },
              ArnLike: {
                'aws:SourceArn': {
                  'Fn::Join': [
                    '',
                    [
                      'arn:',
                      { Ref: 'AWS::Partition' },
                      ':cloudwatch:',
                      { Ref: 'AWS::Region' },
                      ':',
                      { Ref: 'AWS::AccountId' },
                      ':alarm:*',
                    ],
                  ],
                },
              },
            },
          }),
        ]),
      },
    });
  });
});

describe('retention per stage', () => {
  it('keeps the function logs and the archive key with the stack in prod', () => {
    const template = synthStage('prod').toJSON() as {
      Resources: Record<string, { DeletionPolicy?: string }>;
    };

    for (const [service, group] of Object.entries(functionLogGroups('prod')))
      expect(template.Resources[group.id]!.DeletionPolicy, service).toBe('Retain');
    expect(template.Resources.FailureArchiveKey!.DeletionPolicy).toBe('Retain');
  });

  it('deletes them with the stack in dev, whose archive is not retained either', () => {
    const template = synthStage('dev').toJSON() as { Resources: Record<string, { DeletionPolicy?: string }> };

    for (const [service, group] of Object.entries(functionLogGroups('dev')))
      expect(template.Resources[group.id]!.DeletionPolicy, service).toBe('Delete');
    expect(template.Resources.FailureArchiveKey!.DeletionPolicy).toBe('Delete');
  });
});

describe('archive readers', () => {
  const ONCALL = 'arn:aws:iam::111122223333:role/oncall';
  const denyOthers = {
    Sid: 'OnlyArchiveReadersDecrypt',
    Effect: 'Deny',
    Principal: { AWS: '*' },
    Action: 'kms:Decrypt',
    Resource: '*',
    Condition: { ArnNotLike: { 'aws:PrincipalArn': [ONCALL] } },
  };

  it('denies decryption of the records to every principal but the readers the stage names', () => {
    const template = synthConfig(loadStageConfig('prod', { archiveReaders: [ONCALL] }));

    template.hasResourceProperties('AWS::KMS::Key', {
      Description: 'Failure archive records (S3 SSE-KMS)',
      KeyPolicy: { Statement: Match.arrayWith([denyOthers]) },
    });
  });

  it('leaves decryption to IAM policies when the stage names no reader', () => {
    const [key] = Object.values(
      synthStage('prod').findResources('AWS::KMS::Key', {
        Properties: { Description: 'Failure archive records (S3 SSE-KMS)' },
      }),
    );

    expect(JSON.stringify(key!.Properties.KeyPolicy)).not.toContain('Deny');
  });

  it('refuses a reader that is not an IAM principal ARN, at synth', () => {
    expect(() => loadStageConfig('prod', { archiveReaders: ['oncall'] })).toThrow(
      'Stage "prod": archiveReaders: "oncall" is not an IAM principal ARN',
    );
  });
});
