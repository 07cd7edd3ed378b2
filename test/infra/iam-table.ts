/**
 * Reads a synthesized template's IAM into plain strings: who (which role, owned by which function
 * or service) may do what (exact action) to what (resource, with intrinsics rendered the way
 * cdk-nag names them, e.g. `<FailureArchiveBucket.Arn>/failed/*`), and under which condition.
 * Used by iam.test.ts; kept free of vitest so a script can print the tables too.
 */

/** A CloudFormation resource as the template holds it. */
export interface CfnResource {
  readonly Type: string;
  readonly Properties?: Record<string, unknown>;
}
/** The parts of a template this module reads. */
export interface CfnTemplate {
  readonly Resources: Record<string, CfnResource>;
}

/** One IAM policy statement, as written in a template. */
export interface Statement {
  readonly Sid?: string;
  readonly Effect: 'Allow' | 'Deny';
  readonly Action?: unknown;
  readonly NotAction?: unknown;
  readonly Resource?: unknown;
  readonly NotResource?: unknown;
  readonly Principal?: unknown;
  readonly NotPrincipal?: unknown;
  readonly Condition?: unknown;
}

/** A policy document found in a template, and what holds it. */
export interface PolicySource {
  /** Logical id of the resource holding the document (inline role policies: `<Role>.Policies.<name>`). */
  readonly source: string;
  readonly type: string;
  readonly statements: readonly Statement[];
}

/** Renders an intrinsic-bearing value as text: `{Ref: X}` → `<X>`, `{Fn::GetAtt: [X, Arn]}` → `<X.Arn>`. */
export function render(value: unknown): string {
  if (typeof value === 'string') return value;
  if (typeof value === 'number' || typeof value === 'boolean') return String(value);
  if (Array.isArray(value)) return `[${value.map(render).join(', ')}]`;
  if (value && typeof value === 'object') {
    const o = value as Record<string, unknown>;
    if (typeof o.Ref === 'string') return `<${o.Ref}>`;
    if (Array.isArray(o['Fn::GetAtt'])) return `<${(o['Fn::GetAtt'] as string[]).join('.')}>`;
    if (Array.isArray(o['Fn::Join'])) {
      const [sep, parts] = o['Fn::Join'] as [string, unknown[]];
      return parts.map(render).join(sep);
    }
    if (typeof o['Fn::Sub'] === 'string') return (o['Fn::Sub'] as string).replace(/\$\{([^}]+)\}/g, '<$1>');
  }
  return JSON.stringify(value);
}

/** True for `{ Ref: … }` and `{ "Fn::…": … }`. */
function isIntrinsic(value: unknown): boolean {
  if (!value || typeof value !== 'object' || Array.isArray(value)) return false;
  const keys = Object.keys(value);
  return keys.length === 1 && (keys[0] === 'Ref' || keys[0].startsWith('Fn::'));
}

/** `value` as a list (IAM accepts a single string or an array in most places). */
export function list(value: unknown): unknown[] {
  if (value === undefined) return [];
  return Array.isArray(value) ? value : [value];
}

/** A condition or principal block with every intrinsic rendered, as compact JSON (`''` when absent). */
export function renderJson(value: unknown): string {
  if (value === undefined) return '';
  const walk = (v: unknown): unknown => {
    if (Array.isArray(v)) return v.map(walk);
    if (isIntrinsic(v)) return render(v);
    if (v && typeof v === 'object') {
      return Object.fromEntries(Object.entries(v as Record<string, unknown>).map(([k, x]) => [k, walk(x)]));
    }
    return v;
  };
  return JSON.stringify(walk(value));
}

const statementsOf = (doc: unknown): Statement[] =>
  list((doc as { Statement?: unknown } | undefined)?.Statement) as Statement[];

/**
 * Every policy document of the template: identity policies (AWS::IAM::Policy, ManagedPolicy, inline
 * role policies, trust policies), resource policies (queues, buckets, topics, KMS keys) and Lambda
 * permissions (as a one-statement document whose Resource is the function).
 */
export function policySources(template: CfnTemplate): PolicySource[] {
  const out: PolicySource[] = [];
  for (const [id, r] of Object.entries(template.Resources)) {
    const p = r.Properties ?? {};
    switch (r.Type) {
      case 'AWS::IAM::Policy':
      case 'AWS::IAM::ManagedPolicy':
      case 'AWS::SQS::QueuePolicy':
      case 'AWS::S3::BucketPolicy':
      case 'AWS::SNS::TopicPolicy':
        out.push({ source: id, type: r.Type, statements: statementsOf(p.PolicyDocument) });
        break;
      case 'AWS::KMS::Key':
        out.push({ source: id, type: r.Type, statements: statementsOf(p.KeyPolicy) });
        break;
      case 'AWS::IAM::Role':
        out.push({
          source: `${id}.AssumeRolePolicyDocument`,
          type: r.Type,
          statements: statementsOf(p.AssumeRolePolicyDocument),
        });
        for (const inline of list(p.Policies) as { PolicyName: string; PolicyDocument: unknown }[]) {
          out.push({
            source: `${id}.Policies.${inline.PolicyName}`,
            type: r.Type,
            statements: statementsOf(inline.PolicyDocument),
          });
        }
        break;
      case 'AWS::Lambda::Permission':
        out.push({
          source: id,
          type: r.Type,
          statements: [
            {
              Effect: 'Allow',
              Action: p.Action,
              Resource: p.FunctionName,
              Principal: { Service: p.Principal },
            },
          ],
        });
        break;
    }
  }
  return out;
}

/** Who owns each role: a pipeline function (by its Powertools service name) or a CDK/AWS service role. */
export function roleOwners(template: CfnTemplate): Map<string, string> {
  const owners = new Map<string, string>();
  const resources = Object.entries(template.Resources);
  const providerFunctions = new Set(
    resources
      .filter(([, r]) => r.Type.startsWith('Custom::'))
      .map(([, r]) => render(r.Properties?.ServiceToken).replace(/^<(.+)\.Arn>$/, '$1')),
  );
  for (const [id, r] of resources) {
    const p = r.Properties ?? {};
    if (r.Type === 'AWS::Lambda::Function') {
      const roleId = render(p.Role).replace(/^<(.+)\.Arn>$/, '$1');
      const service = (p.Environment as { Variables?: Record<string, unknown> } | undefined)?.Variables
        ?.POWERTOOLS_SERVICE_NAME;
      const owner =
        typeof service === 'string'
          ? service
          : providerFunctions.has(id)
            ? `custom-resource provider ${id.replace(/Handler[0-9A-F]{8}$/, '')}`
            : `function ${id}`;
      owners.set(roleId, owner);
    }
    if (r.Type === 'AWS::ApiGateway::Account') {
      owners.set(render(p.CloudWatchRoleArn).replace(/^<(.+)\.Arn>$/, '$1'), 'apigateway account logging');
    }
  }
  return owners;
}

/** One permission a role holds: `Allow s3:PutObject on <X.Arn>/failed/* [when {…}] [via <policy>]`. */
export function permissionLine(
  effect: string,
  action: string,
  resource: string,
  condition: string,
  via?: string,
): string {
  return [`${effect} ${action} on ${resource}`, condition && `when ${condition}`, via && `via ${via}`]
    .filter(Boolean)
    .join(' ');
}

/** What one role may do. */
export interface RoleTable {
  readonly role: string;
  readonly owner: string;
  readonly managedPolicies: readonly string[];
  /** Sorted permission lines (identity policies, then resource policies naming the role). */
  readonly permissions: readonly string[];
  /** Statements this reader cannot list exactly (NotAction / NotResource / NotPrincipal). */
  readonly unsupported: readonly string[];
}

/**
 * The permission table of every role: identity statements from AWS::IAM::Policy / ManagedPolicy
 * and inline role policies, plus resource-policy statements whose principal is the role's ARN
 * (marked `via <resource type>`), each expanded to one line per action × resource.
 */
export function roleTables(template: CfnTemplate): RoleTable[] {
  const owners = roleOwners(template);
  const roles = Object.entries(template.Resources).filter(([, r]) => r.Type === 'AWS::IAM::Role');
  const lines = new Map<string, Set<string>>(roles.map(([id]) => [id, new Set<string>()]));
  const unsupported = new Map<string, string[]>(roles.map(([id]) => [id, []]));

  const add = (roleId: string, s: Statement, source: string, via?: string) => {
    if (!lines.has(roleId)) return;
    if (s.NotAction !== undefined || s.NotResource !== undefined || s.NotPrincipal !== undefined) {
      unsupported.get(roleId)!.push(`${source}: ${JSON.stringify(s)}`);
      return;
    }
    const condition = renderJson(s.Condition);
    for (const action of list(s.Action)) {
      for (const resource of list(s.Resource)) {
        lines.get(roleId)!.add(permissionLine(s.Effect, render(action), render(resource), condition, via));
      }
    }
  };

  for (const [id, r] of Object.entries(template.Resources)) {
    const p = r.Properties ?? {};
    if (r.Type === 'AWS::IAM::Policy' || r.Type === 'AWS::IAM::ManagedPolicy') {
      for (const role of list(p.Roles))
        for (const s of statementsOf(p.PolicyDocument)) add(render(role).replace(/^<(.+)>$/, '$1'), s, id);
    }
    if (r.Type === 'AWS::IAM::Role') {
      for (const inline of list(p.Policies) as { PolicyDocument: unknown }[])
        for (const s of statementsOf(inline.PolicyDocument)) add(id, s, id);
    }
  }
  // Resource policies that name a role of this template as principal.
  for (const src of policySources(template)) {
    if (
      src.type === 'AWS::IAM::Policy' ||
      src.type === 'AWS::IAM::ManagedPolicy' ||
      src.type === 'AWS::IAM::Role'
    )
      continue;
    for (const s of src.statements) {
      const principal = (s.Principal ?? {}) as { AWS?: unknown };
      for (const p of list(principal.AWS)) {
        const roleId = render(p).replace(/^<(.+)\.Arn>$/, '$1');
        add(roleId, s, src.source, src.type);
      }
    }
  }

  return roles.map(([id, r]) => ({
    role: id,
    owner: owners.get(id) ?? `unknown (no function or service uses role ${id})`,
    managedPolicies: list(r.Properties?.ManagedPolicyArns).map(render).sort(),
    permissions: [...lines.get(id)!].sort(),
    unsupported: unsupported.get(id)!,
  }));
}

/** A wildcard in an Allow statement: an action or resource containing `*`, or an anonymous principal. */
export interface WildcardFinding {
  readonly source: string;
  readonly type: string;
  readonly kind: 'action' | 'resource' | 'principal';
  readonly value: string;
  /** The statement's principal, rendered (`''` in identity policies). */
  readonly principal: string;
}

/**
 * Every wildcard granted by an Allow statement of any policy document. Deny statements are not
 * listed: a wildcard in a Deny narrows access (the TLS-only policies deny `sqs:*` / `s3:*` to
 * everyone on purpose).
 */
export function wildcardFindings(template: CfnTemplate): WildcardFinding[] {
  const out: WildcardFinding[] = [];
  for (const src of policySources(template)) {
    for (const s of src.statements) {
      if (s.Effect !== 'Allow') continue;
      const at = { source: src.source, type: src.type, principal: renderJson(s.Principal ?? s.NotPrincipal) };
      for (const a of [...list(s.Action), ...list(s.NotAction)].map(render)) {
        if (a.includes('*')) out.push({ ...at, kind: 'action', value: a });
      }
      for (const r of [...list(s.Resource), ...list(s.NotResource)].map(render)) {
        if (r.includes('*')) out.push({ ...at, kind: 'resource', value: r });
      }
      const principal = s.Principal;
      const anonymous =
        principal === '*' ||
        list((principal as { AWS?: unknown } | undefined)?.AWS).some((p) => render(p) === '*');
      if (anonymous || s.NotPrincipal !== undefined)
        out.push({ ...at, kind: 'principal', value: at.principal });
    }
  }
  return out;
}

/** The tables as text, one block per role. */
export function formatRoleTables(tables: readonly RoleTable[]): string {
  return tables
    .map((t) =>
      [
        `${t.owner}  (role ${t.role})`,
        ...t.managedPolicies.map((m) => `  managed  ${m}`),
        ...(t.permissions.length ? t.permissions.map((l) => `  ${l}`) : ['  (no statements)']),
        ...t.unsupported.map((u) => `  UNSUPPORTED ${u}`),
      ].join('\n'),
    )
    .join('\n\n');
}
