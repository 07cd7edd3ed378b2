import { describe, expect, it } from 'vitest';
import { loadStageConfig } from '../../app/stages';
import { STAGE_NAMES } from '../../app/stages';
import { LOGICAL_IDS } from '../../lib/constructs/event-pipeline';
import { synthStage } from '../helpers/synth';

describe.each(STAGE_NAMES)('status table on stage %s', (stage) => {
  const template = synthStage(stage);
  const config = loadStageConfig(stage);
  const tables = template.findResources('AWS::DynamoDB::Table');

  it('is one on-demand, encrypted table with a pinned logical id, keyed by pk, with a TTL on expiration', () => {
    expect(Object.keys(tables)).toEqual([LOGICAL_IDS.statusTable]);
    template.hasResourceProperties('AWS::DynamoDB::Table', {
      BillingMode: 'PAY_PER_REQUEST',
      KeySchema: [{ AttributeName: 'pk', KeyType: 'HASH' }],
      AttributeDefinitions: [{ AttributeName: 'pk', AttributeType: 'S' }],
      SSESpecification: { SSEEnabled: true },
      TimeToLiveSpecification: { AttributeName: 'expiration', Enabled: true },
    });
  });

  it('has point-in-time recovery and a removal policy as the stage says', () => {
    const table = tables[LOGICAL_IDS.statusTable]!;
    expect(table.Properties.PointInTimeRecoverySpecification).toEqual({
      PointInTimeRecoveryEnabled: config.status.pointInTimeRecovery,
    });
    expect(table.DeletionPolicy).toBe(config.status.retain ? 'Retain' : 'Delete');
    expect(table.UpdateReplacePolicy).toBe(config.status.retain ? 'Retain' : 'Delete');
  });

  it('gives the producer, both consumers and the sweeper the table name, retention and window', () => {
    const fns = Object.values(template.findResources('AWS::Lambda::Function')).filter(
      (f) => f.Properties.Environment?.Variables?.STATUS_TABLE !== undefined,
    );
    expect(fns).toHaveLength(4);
    for (const f of fns) {
      const vars = f.Properties.Environment.Variables;
      expect(vars.STATUS_TABLE).toEqual({ Ref: LOGICAL_IDS.statusTable });
      expect(vars.STATUS_RETENTION_DAYS).toBe(String(config.status.retentionDays));
      if (vars.IDEMPOTENCY_WINDOW_SECONDS !== undefined)
        expect(vars.IDEMPOTENCY_WINDOW_SECONDS).toBe(String(config.status.idempotencyWindowHours * 3600));
    }
  });

  it('routes GET /v1/messages/{id} behind authentication', () => {
    const [idResource] = Object.entries(
      template.findResources('AWS::ApiGateway::Resource', { Properties: { PathPart: '{id}' } }),
    )[0]!;
    const methods = Object.values(
      template.findResources('AWS::ApiGateway::Method', { Properties: { ResourceId: { Ref: idResource } } }),
    );
    expect(methods).toHaveLength(1);
    const auth = methods[0]!.Properties as { AuthorizationType?: string; ApiKeyRequired?: boolean };
    expect(auth.AuthorizationType === 'AWS_IAM' || auth.ApiKeyRequired === true).toBe(true);
  });
});

describe('status table stage settings', () => {
  it('enables PITR and retains the table in prod only', () => {
    expect(loadStageConfig('prod').status).toMatchObject({ pointInTimeRecovery: true, retain: true });
    for (const s of ['dev', 'staging', 'local'] as const)
      expect(loadStageConfig(s).status).toMatchObject({ pointInTimeRecovery: false, retain: false });
  });

  it('refuses an idempotency window longer than the row retention', () => {
    expect(() =>
      loadStageConfig('dev', {
        status: { retentionDays: 1, idempotencyWindowHours: 48, pointInTimeRecovery: false, retain: false },
      }),
    ).toThrow(/status.idempotencyWindowHours/);
  });
});
