import { randomBytes } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { LocalModeError } from '../errors';
import type { TemplateResource } from '../template/reader';
import type { Resolver } from '../template/resolver';

/*
 * Secrets Manager values local mode needs: the API key of an EventBridge connection is a dynamic
 * reference, `{{resolve:secretsmanager:<secret-id>:SecretString:<json-key>:<version-stage>:<version-id>}}`
 * (CloudFormation "Using dynamic references": secret-id is a name or an ARN; the JSON key, stage
 * and version are optional). Local mode has no Secrets Manager; a secret's value comes from,
 * first to last:
 * 1. the `secrets` given to local mode (`startLocal({ secrets })`), else `.local/secrets.json` of
 *    the working directory: `{ "<secret name or ARN>": "<SecretString>" | { <JSON fields> } }`;
 * 2. a secret of the stack (`AWS::SecretsManager::Secret`) with a literal `SecretString`;
 * 3. a secret of the stack with `GenerateSecretString`: a random value made once per start
 *    (32 characters; inside `SecretStringTemplate` under `GenerateStringKey` when both are set).
 */

/** The default file of local secret values (in the working directory). */
export const LOCAL_SECRETS_FILE = '.local/secrets.json';

const REFERENCE = /\{\{resolve:secretsmanager:(.+?)\}\}/g;

/** Secret values of the local stage, by secret name and ARN. */
export class LocalSecrets {
  private readonly values = new Map<string, string>();

  /**
   * @param secrets the stack's `AWS::SecretsManager::Secret`s
   * @param given values that win over the stack's (name or ARN → SecretString or JSON object)
   */
  constructor(
    secrets: readonly TemplateResource[],
    resolver: Resolver,
    given: Readonly<Record<string, unknown>> = {},
  ) {
    for (const s of secrets) {
      const name = resolver.physicalName(s.logicalId);
      const arn = resolver.resolveString({ Ref: s.logicalId }, { resource: s.logicalId, property: 'Ref' });
      const value = stackSecretValue(s, resolver);
      if (value === undefined) continue;
      this.values.set(name, value);
      this.values.set(arn, value);
    }
    for (const [id, value] of Object.entries(given)) {
      this.values.set(id, typeof value === 'string' ? value : JSON.stringify(value));
    }
  }

  /** Reads `file` (when it exists) as the given values. */
  static readFile(file: string): Record<string, unknown> {
    if (!existsSync(file)) return {};
    try {
      const parsed = JSON.parse(readFileSync(file, 'utf8')) as unknown;
      if (parsed && typeof parsed === 'object' && !Array.isArray(parsed))
        return parsed as Record<string, unknown>;
    } catch (error) {
      throw new LocalModeError(`${file} is not valid JSON: ${(error as Error).message}`);
    }
    throw new LocalModeError(`${file} must be a JSON object: { "<secret name or ARN>": "<value>" | { … } }`);
  }

  /**
   * Replaces every `{{resolve:secretsmanager:…}}` of `text` with its value; throws a
   * {@link LocalModeError} naming the secret when it has none locally.
   */
  resolve(text: string): string {
    return text.replace(REFERENCE, (_whole, body: string) => {
      const [id, field] = splitReference(body);
      const value = this.values.get(id) ?? this.values.get(secretNameOfArn(id) ?? '');
      if (value === undefined)
        throw new LocalModeError(
          `secret ${id} has no local value: put it in ${LOCAL_SECRETS_FILE} ({ "${id}": … }) or give it to startLocal({ secrets })`,
        );
      if (!field) return value;
      let parsed: unknown;
      try {
        parsed = JSON.parse(value);
      } catch {
        throw new LocalModeError(`secret ${id} is not JSON, so it has no field ${field}`);
      }
      const v = (parsed as Record<string, unknown>)[field];
      if (v === undefined) throw new LocalModeError(`secret ${id} has no field ${field}`);
      return typeof v === 'string' ? v : JSON.stringify(v);
    });
  }
}

/** `<secret-id>:SecretString:<json-key>:…` → [secret id, json key]. The id may be an ARN (colons). */
function splitReference(body: string): [string, string | undefined] {
  const marker = body.lastIndexOf(':SecretString');
  if (marker < 0) return [body, undefined];
  const id = body.slice(0, marker);
  const field = body.slice(marker + ':SecretString'.length + 1).split(':')[0];
  return [id, field || undefined];
}

/** The name inside a secret ARN (`…:secret:<name>-<6 chars>`). */
function secretNameOfArn(id: string): string | undefined {
  return /:secret:(.+)-[A-Za-z0-9]{6}$/.exec(id)?.[1];
}

function stackSecretValue(s: TemplateResource, resolver: Resolver): string | undefined {
  const at = (property: string) => ({ resource: s.logicalId, property });
  if (s.properties.SecretString !== undefined)
    return resolver.resolveString(s.properties.SecretString, at('SecretString'));
  const generate = resolver.resolve(s.properties.GenerateSecretString, at('GenerateSecretString')) as
    { SecretStringTemplate?: string; GenerateStringKey?: string; PasswordLength?: number } | undefined;
  if (!generate) return undefined;
  const length = Number(generate.PasswordLength ?? 32);
  const random = randomBytes(length).toString('base64url').slice(0, length);
  if (generate.SecretStringTemplate && generate.GenerateStringKey) {
    const template = JSON.parse(generate.SecretStringTemplate) as Record<string, unknown>;
    return JSON.stringify({ ...template, [generate.GenerateStringKey]: random });
  }
  return random;
}
