import { describe, expect, it } from 'vitest';
import { LocalSecrets } from '../../local/aws/secrets';
import type { TemplateResource } from '../../local/template/reader';
import { localPseudoParameters, Resolver } from '../../local/template/resolver';

// Local values of Secrets Manager dynamic references (an EventBridge connection's API key).
const secret = (logicalId: string, properties: Record<string, unknown>): TemplateResource => ({
  logicalId,
  type: 'AWS::SecretsManager::Secret',
  properties,
  metadata: {},
  dependsOn: [],
  stackName: 'S',
});

function secretsOf(resources: TemplateResource[], given: Record<string, unknown> = {}) {
  const resolver = new Resolver({
    pseudo: localPseudoParameters('S'),
    resources: new Map(resources.map((r) => [r.logicalId, r])),
  });
  const arn = (id: string) => resolver.resolveString({ Ref: id }, { resource: 'T', property: 'Ref' });
  return { secrets: new LocalSecrets(resources, resolver, given), arn };
}

describe('local secrets', () => {
  it('resolves a JSON field of a given secret, by name', () => {
    const { secrets } = secretsOf([], { hook: { apiKey: 'k-1' } });
    expect(secrets.resolve('{{resolve:secretsmanager:hook:SecretString:apiKey::}}')).toBe('k-1');
  });

  it('resolves a stack secret by its ARN: its literal SecretString, or a value generated once under GenerateStringKey', () => {
    const { secrets, arn } = secretsOf([
      secret('Literal', { Name: 'literal', SecretString: 'plain' }),
      secret('Generated', {
        GenerateSecretString: { SecretStringTemplate: '{"user":"u"}', GenerateStringKey: 'apiKey' },
      }),
    ]);
    const generated = secrets.resolve(`{{resolve:secretsmanager:${arn('Generated')}:SecretString:apiKey::}}`);

    expect(secrets.resolve(`{{resolve:secretsmanager:${arn('Literal')}}}`)).toBe('plain');
    expect(secrets.resolve('{{resolve:secretsmanager:literal:SecretString:::}}')).toBe('plain');
    expect(generated).toMatch(/^[A-Za-z0-9_-]{32}$/);
    expect(secrets.resolve(`{{resolve:secretsmanager:${arn('Generated')}:SecretString:user::}}`)).toBe('u');
    expect(secrets.resolve(`{{resolve:secretsmanager:${arn('Generated')}:SecretString:apiKey::}}`)).toBe(
      generated,
    );
  });

  it('lets given values win over the stack’s, and names a secret without a local value', () => {
    const { secrets, arn } = secretsOf([secret('Literal', { SecretString: 'plain' })], { other: 'x' });
    const { secrets: overridden } = secretsOf([secret('Literal', { SecretString: 'plain' })], {
      [arn('Literal')]: 'mine',
    });

    expect(overridden.resolve(`{{resolve:secretsmanager:${arn('Literal')}}}`)).toBe('mine');
    expect(() => secrets.resolve('{{resolve:secretsmanager:missing:SecretString:apiKey::}}')).toThrow(
      /secret missing has no local value: put it in \.local\/secrets\.json/,
    );
    expect(() => secrets.resolve('{{resolve:secretsmanager:other:SecretString:apiKey::}}')).toThrow(
      /secret other is not JSON, so it has no field apiKey/,
    );
  });
});
