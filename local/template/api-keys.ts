import { LocalModeError } from '../errors';
import type { TemplateResource } from './reader';
import type { Resolver } from './resolver';

/** An `AWS::ApiGateway::ApiKey` of the template that callers may use: one tenant's key. */
export interface ApiKeySpec {
  readonly logicalId: string;
  /**
   * The key's id: the local value of its `Ref`, through the same resolver as every function's
   * environment, so the producer's `API_KEY_TENANTS` (a JSON object built from these `Ref`s) maps it.
   */
  readonly id: string;
  /** The tenant the key belongs to ({@link tenantOfApiKey}). */
  readonly tenant: string;
  /** `Value`, when the template sets one; else local mode generates the key (as API Gateway does). */
  readonly value?: string;
}

/** What {@link analyzeApiKeys} found: the usable keys in template order, and why others were left out. */
export interface ApiKeys {
  readonly keys: readonly ApiKeySpec[];
  readonly notes: readonly string[];
}

/**
 * The tenant an API key belongs to, as the stack names it: `Description: tenant <name>`, else
 * `Name: <stack name>-<name>`; a key that says neither is tenant `default` when it is the
 * template's only key (templates from before tenants), else it is known by its logical id.
 */
export function tenantOfApiKey(
  key: { readonly logicalId: string; readonly name?: string; readonly description?: string },
  stackName: string,
  onlyKey: boolean,
): string {
  const described = /^tenant (\S.*)$/.exec(key.description?.trim() ?? '')?.[1]?.trim();
  if (described) return described;
  if (key.name?.startsWith(`${stackName}-`) && key.name.length > stackName.length + 1) {
    return key.name.slice(stackName.length + 1);
  }
  return onlyKey ? 'default' : key.logicalId;
}

/**
 * Reads the template's API keys as API Gateway would accept them on a method with
 * `ApiKeyRequired`: enabled keys (`Enabled` is `true` unless it says `false`), and, when the
 * template has usage plan keys, only keys one of them puts in a usage plan (a key outside every
 * usage plan is refused by API Gateway). Two keys of one tenant are a startup error.
 */
export function analyzeApiKeys(
  resources: readonly TemplateResource[],
  resolver: Resolver,
  stackName: string,
): ApiKeys {
  const at = (r: TemplateResource, property: string) => ({ resource: r.logicalId, property });
  const all = resources.filter((r) => r.type === 'AWS::ApiGateway::ApiKey');
  const planKeys = resources.filter((r) => r.type === 'AWS::ApiGateway::UsagePlanKey');
  const inPlan = new Set(
    planKeys.map((r) => (r.properties.KeyId as { Ref?: unknown } | undefined)?.Ref).filter((id) => id),
  );
  const notes: string[] = [];
  const keys: ApiKeySpec[] = [];
  const byTenant = new Map<string, string>();
  for (const r of all) {
    const p = r.properties;
    if (p.Enabled === false || p.Enabled === 'false') {
      notes.push(`API key ${r.logicalId} is disabled: no local caller can use it`);
      continue;
    }
    if (planKeys.length > 0 && !inPlan.has(r.logicalId)) {
      notes.push(
        `API key ${r.logicalId} is in no usage plan: API Gateway refuses it, and so does local mode`,
      );
      continue;
    }
    const text = (property: string) =>
      p[property] === undefined ? undefined : resolver.resolveString(p[property], at(r, property));
    const tenant = tenantOfApiKey(
      { logicalId: r.logicalId, name: text('Name'), description: text('Description') },
      stackName,
      all.length === 1,
    );
    const other = byTenant.get(tenant);
    if (other) {
      throw new LocalModeError(
        `${r.logicalId} (AWS::ApiGateway::ApiKey): tenant ${tenant} already has API key ${other}; local mode serves one key per tenant`,
      );
    }
    byTenant.set(tenant, r.logicalId);
    keys.push({
      logicalId: r.logicalId,
      id: resolver.resolveString({ Ref: r.logicalId }, at(r, 'Ref')),
      tenant,
      ...(p.Value === undefined ? {} : { value: text('Value') }),
    });
  }
  return { keys, notes };
}
