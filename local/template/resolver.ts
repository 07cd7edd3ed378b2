import { createHash } from 'node:crypto';
import { LocalModeError } from '../errors';
import type { TemplateParameter, TemplateResource } from './reader';

/** The account id of every local resource (the emulator's fixed account). */
export const LOCAL_ACCOUNT_ID = '000000000000';

/** Region used when neither the caller nor the synthesized stack names one. */
export const DEFAULT_LOCAL_REGION = 'us-east-1';

/** Values of CloudFormation's pseudo parameters in local mode. */
export interface PseudoParameters {
  readonly region: string;
  readonly accountId: string;
  readonly partition: string;
  readonly urlSuffix: string;
  readonly stackName: string;
  readonly stackId: string;
}

/**
 * Pseudo parameters of a local stack: account {@link LOCAL_ACCOUNT_ID}, partition `aws`, URL
 * suffix `amazonaws.com`, and a stack id derived from the stack name (stable across runs).
 */
export function localPseudoParameters(
  stackName: string,
  region: string = DEFAULT_LOCAL_REGION,
): PseudoParameters {
  const accountId = LOCAL_ACCOUNT_ID;
  return {
    region,
    accountId,
    partition: 'aws',
    urlSuffix: 'amazonaws.com',
    stackName,
    stackId: `arn:aws:cloudformation:${region}:${accountId}:stack/${stackName}/${deterministicUuid(stackName)}`,
  };
}

const ALNUM = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';
const LOWER_ALNUM = 'abcdefghijklmnopqrstuvwxyz0123456789';

/** `length` characters of `alphabet` derived from `seed` (same seed, same string). */
export function deterministicId(seed: string, length: number, alphabet: string = ALNUM): string {
  let out = '';
  let counter = 0;
  while (out.length < length) {
    const digest = createHash('sha256').update(`${seed}#${counter++}`).digest();
    for (const byte of digest) {
      if (out.length === length) break;
      out += alphabet[byte % alphabet.length];
    }
  }
  return out;
}

/** A UUID-shaped id derived from `seed`. */
export function deterministicUuid(seed: string): string {
  const h = createHash('sha256').update(seed).digest('hex');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-4${h.slice(13, 16)}-a${h.slice(17, 20)}-${h.slice(20, 32)}`;
}

/** Options of {@link generatedName}. */
export interface NameRule {
  /** Longest name the service accepts. */
  readonly maxLength: number;
  /** Lowercase the name (S3 buckets). @default false */
  readonly lowercase?: boolean;
  /** Suffix kept after the random part, e.g. `.fifo`. @default '' */
  readonly suffix?: string;
}

/**
 * The name CloudFormation would generate for a resource without an explicit name:
 * `<stack>-<logicalId>-<12 random chars><suffix>`, the `<stack>-<logicalId>` part truncated to fit
 * `maxLength`. The random part is derived from stack and logical id, so local names are the same
 * on every run.
 *
 * @example
 * generatedName('EventPipeline-local', 'FifoQueue', { maxLength: 80, suffix: '.fifo' });
 * // 'EventPipeline-local-FifoQueue-Xy3…Q.fifo'
 */
export function generatedName(stackName: string, logicalId: string, rule: NameRule): string {
  const suffix = rule.suffix ?? '';
  const random = deterministicId(`${stackName}/${logicalId}`, 12, rule.lowercase ? LOWER_ALNUM : ALNUM);
  const room = rule.maxLength - suffix.length - random.length - 1;
  let prefix = `${stackName}-${logicalId}`.slice(0, Math.max(0, room));
  if (rule.lowercase) prefix = prefix.toLowerCase().replace(/[^a-z0-9.-]/g, '-');
  return `${prefix}-${random}${suffix}`;
}

/** Where a value sits in the template, for error messages: resource logical id and property path. */
export interface Location {
  readonly resource: string;
  readonly property: string;
}

/** Marker for `Ref: AWS::NoValue`: the enclosing property is removed. */
const NO_VALUE = Symbol('AWS::NoValue');

const INTRINSICS = [
  'Ref',
  'Fn::GetAtt',
  'Fn::Join',
  'Fn::Select',
  'Fn::Split',
  'Fn::Sub',
  'Fn::Base64',
] as const;

/** Options of {@link Resolver}. */
export interface ResolverOptions {
  readonly pseudo: PseudoParameters;
  /** Every resource of the stage, by logical id. */
  readonly resources: ReadonlyMap<string, TemplateResource>;
  /** Template parameters; a `Ref` to one resolves to its `Default`. */
  readonly parameters?: ReadonlyMap<string, TemplateParameter>;
}

type Attributes = Record<string, unknown>;

/** What the template alone says about a resource: its physical name and attribute values. */
interface Computed {
  readonly name: string;
  readonly attributes: Attributes;
}

/**
 * Resolves CloudFormation intrinsic functions of a synthesized template into local values:
 * `Ref`, `Fn::GetAtt`, `Fn::Join`, `Fn::Select`, `Fn::Split`, `Fn::Sub`, `Fn::Base64` and the pseudo
 * parameters. Physical names are generated like CloudFormation does ({@link generatedName});
 * attributes only the running emulator knows (queue URL and ARN) are {@link Resolver.provide}d by
 * it. An unknown intrinsic, an unknown resource or an attribute that has no local value throws a
 * {@link LocalModeError} naming the resource and property being resolved.
 *
 * @example
 * const resolver = new Resolver({ pseudo: localPseudoParameters('EventPipeline-local'), resources });
 * resolver.provide('StandardQueue', { Ref: url, QueueUrl: url, Arn: arn });
 * resolver.resolve({ 'Fn::GetAtt': ['StandardQueue', 'Arn'] }, { resource: 'X', property: 'Y' }); // arn
 */
export class Resolver {
  readonly pseudo: PseudoParameters;
  private readonly resources: ReadonlyMap<string, TemplateResource>;
  private readonly parameters: ReadonlyMap<string, TemplateParameter>;
  private readonly provided = new Map<string, Attributes>();
  private readonly computed = new Map<string, Computed>();
  private readonly computing = new Set<string>();

  constructor(options: ResolverOptions) {
    this.pseudo = options.pseudo;
    this.resources = options.resources;
    this.parameters = options.parameters ?? new Map();
  }

  /** Records attributes of `logicalId` that only the running emulator knows (they win over computed ones). */
  provide(logicalId: string, attributes: Attributes): void {
    this.provided.set(logicalId, { ...this.provided.get(logicalId), ...attributes });
  }

  /** Resolves every intrinsic function inside `value`. */
  resolve(value: unknown, at: Location): unknown {
    const out = this.walk(value, at, at.property);
    return out === NO_VALUE ? undefined : out;
  }

  /** Resolves `value` and requires a string result. */
  resolveString(value: unknown, at: Location): string {
    const out = this.resolve(value, at);
    if (typeof out === 'string') return out;
    if (typeof out === 'number' || typeof out === 'boolean') return String(out);
    throw this.error(at, at.property, `expected a string, got ${JSON.stringify(out)}`);
  }

  /** The value `{ 'Fn::GetAtt': [logicalId, attribute] }` resolves to. */
  getAtt(logicalId: string, attribute: string, at: Location): unknown {
    return this.attribute(logicalId, attribute, at, at.property);
  }

  /** The physical name of a resource (its explicit name property, or a generated one). */
  physicalName(logicalId: string): string {
    const r = this.resources.get(logicalId);
    if (!r) throw new LocalModeError(`no resource ${logicalId} in the template`);
    return this.compute(r, { resource: logicalId, property: '(name)' }).name;
  }

  private error(at: Location, path: string, message: string): LocalModeError {
    return new LocalModeError(`cannot resolve ${at.resource} property ${path}: ${message}`);
  }

  /** `nested`: inside an intrinsic's arguments, where list positions are not property paths. */
  private walk(value: unknown, at: Location, path: string, nested = false): unknown {
    if (Array.isArray(value)) {
      return value
        .map((v, i) => this.walk(v, at, nested ? path : `${path}[${i}]`, nested))
        .filter((v) => v !== NO_VALUE);
    }
    if (value === null || typeof value !== 'object') return value;
    const entries = Object.entries(value as Record<string, unknown>);
    if (entries.length === 1) {
      const [key, arg] = entries[0]!;
      if (key === 'Ref' || key.startsWith('Fn::')) return this.intrinsic(key, arg, at, path);
    }
    const out: Record<string, unknown> = {};
    for (const [k, v] of entries) {
      const r = this.walk(v, at, nested ? path : path ? `${path}.${k}` : k, nested);
      if (r !== NO_VALUE) out[k] = r;
    }
    return out;
  }

  private intrinsic(name: string, arg: unknown, at: Location, path: string): unknown {
    const fail = (message: string) => this.error(at, path, `${name}: ${message}`);
    switch (name as (typeof INTRINSICS)[number]) {
      case 'Ref': {
        if (typeof arg !== 'string') throw fail('expects a logical id or pseudo parameter name');
        return this.refValue(arg, at, path);
      }
      case 'Fn::GetAtt': {
        let target: unknown;
        let attribute: unknown;
        if (typeof arg === 'string') {
          const dot = arg.indexOf('.');
          if (dot < 0) throw fail(`"${arg}" is not <logicalId>.<attribute>`);
          [target, attribute] = [arg.slice(0, dot), arg.slice(dot + 1)];
        } else if (Array.isArray(arg) && arg.length === 2) {
          [target, attribute] = [arg[0], this.walk(arg[1], at, path, true)];
        } else throw fail('expects [logicalId, attribute]');
        if (typeof target !== 'string' || typeof attribute !== 'string')
          throw fail('expects [logicalId, attribute]');
        return this.attribute(target, attribute, at, path);
      }
      case 'Fn::Join': {
        if (!Array.isArray(arg) || arg.length !== 2 || typeof arg[0] !== 'string')
          throw fail('expects [delimiter, list]');
        const list = this.walk(arg[1], at, path, true);
        if (!Array.isArray(list)) throw fail('the second argument is not a list');
        return list.map((v) => this.scalar(v, at, path, name)).join(arg[0]);
      }
      case 'Fn::Select': {
        if (!Array.isArray(arg) || arg.length !== 2) throw fail('expects [index, list]');
        const index = Number(this.walk(arg[0], at, path, true));
        const list = this.walk(arg[1], at, path, true);
        if (!Array.isArray(list)) throw fail('the second argument is not a list');
        if (!Number.isInteger(index) || index < 0 || index >= list.length) {
          throw fail(`index ${String(arg[0])} is out of range for a list of ${list.length}`);
        }
        return list[index];
      }
      case 'Fn::Split': {
        if (!Array.isArray(arg) || arg.length !== 2 || typeof arg[0] !== 'string')
          throw fail('expects [delimiter, string]');
        const source = this.walk(arg[1], at, path, true);
        if (typeof source !== 'string') throw fail('the second argument is not a string');
        return source.split(arg[0]);
      }
      case 'Fn::Sub': {
        let template: unknown = arg;
        let vars: Record<string, unknown> = {};
        if (Array.isArray(arg)) {
          if (arg.length !== 2 || typeof arg[1] !== 'object' || arg[1] === null)
            throw fail('expects string or [string, variables]');
          template = arg[0];
          vars = arg[1] as Record<string, unknown>;
        }
        if (typeof template !== 'string') throw fail('the template is not a string');
        return template.replace(/\$\{([^}]*)\}/g, (whole, inner: string) => {
          if (inner.startsWith('!')) return `\${${inner.slice(1)}}`;
          const key = inner.trim();
          if (key in vars) return this.scalar(this.walk(vars[key], at, path, true), at, path, name);
          if (key.includes('.') && !key.startsWith('AWS::')) {
            const dot = key.indexOf('.');
            return this.scalar(
              this.attribute(key.slice(0, dot), key.slice(dot + 1), at, path),
              at,
              path,
              name,
            );
          }
          if (!key) throw fail(`empty variable in "${whole}"`);
          return this.scalar(this.refValue(key, at, path), at, path, name);
        });
      }
      case 'Fn::Base64': {
        const s = this.walk(arg, at, path, true);
        if (typeof s !== 'string') throw fail('expects a string');
        return Buffer.from(s, 'utf8').toString('base64');
      }
      default:
        throw this.error(
          at,
          path,
          `intrinsic function ${name} is not supported in local mode (supported: ${INTRINSICS.join(', ')})`,
        );
    }
  }

  private scalar(v: unknown, at: Location, path: string, fn: string): string {
    if (typeof v === 'string') return v;
    if (typeof v === 'number' || typeof v === 'boolean') return String(v);
    throw this.error(at, path, `${fn}: cannot use ${JSON.stringify(v)} as a string`);
  }

  private refValue(name: string, at: Location, path: string): unknown {
    const p = this.pseudo;
    switch (name) {
      case 'AWS::Region':
        return p.region;
      case 'AWS::AccountId':
        return p.accountId;
      case 'AWS::Partition':
        return p.partition;
      case 'AWS::URLSuffix':
        return p.urlSuffix;
      case 'AWS::StackName':
        return p.stackName;
      case 'AWS::StackId':
        return p.stackId;
      case 'AWS::NotificationARNs':
        return [];
      case 'AWS::NoValue':
        return NO_VALUE;
    }
    if (name.startsWith('AWS::')) throw this.error(at, path, `Ref: unknown pseudo parameter ${name}`);
    const parameter = this.parameters.get(name);
    if (parameter) {
      if (parameter.Default === undefined)
        throw this.error(at, path, `Ref: parameter ${name} has no Default`);
      return parameter.Type === 'CommaDelimitedList' || parameter.Type?.startsWith('List<')
        ? String(parameter.Default).split(',')
        : parameter.Default;
    }
    return this.attribute(name, 'Ref', at, path);
  }

  private attribute(logicalId: string, attribute: string, at: Location, path: string): unknown {
    const r = this.resources.get(logicalId);
    const what = attribute === 'Ref' ? `Ref ${logicalId}` : `Fn::GetAtt ${logicalId}.${attribute}`;
    if (!r) throw this.error(at, path, `${what}: no resource ${logicalId} in the template`);
    const provided = this.provided.get(logicalId);
    if (provided && attribute in provided) return provided[attribute];
    const { attributes } = this.compute(r, at);
    if (attribute in attributes) return attributes[attribute];
    const pending = PROVIDED_LATER[r.type]?.includes(attribute);
    throw this.error(
      at,
      path,
      pending
        ? `${what}: ${r.type} ${logicalId} has not been created in the emulator yet`
        : `${what}: attribute ${attribute} of ${r.type} has no local value`,
    );
  }

  /** Attributes derivable from the template alone, computed once per resource. */
  private compute(r: TemplateResource, at: Location): Computed {
    const cached = this.computed.get(r.logicalId);
    if (cached) return cached;
    if (this.computing.has(r.logicalId)) {
      throw this.error(at, '(name)', `circular reference while naming ${r.logicalId}`);
    }
    this.computing.add(r.logicalId);
    try {
      const attrs = computeAttributes(r, this.pseudo, (prop) =>
        this.resolveString(r.properties[prop], { resource: r.logicalId, property: prop }),
      );
      this.computed.set(r.logicalId, attrs);
      return attrs;
    } finally {
      this.computing.delete(r.logicalId);
    }
  }
}

/** Attributes the emulator provides once it has created the resource. */
const PROVIDED_LATER: Record<string, readonly string[]> = {
  'AWS::SQS::Queue': ['Ref', 'Arn', 'QueueUrl'],
};

function computeAttributes(
  r: TemplateResource,
  p: PseudoParameters,
  prop: (name: string) => string,
): Computed {
  const named = (property: string, rule: NameRule) =>
    r.properties[property] !== undefined ? prop(property) : generatedName(p.stackName, r.logicalId, rule);
  const arn = (service: string, resource: string, region = p.region, account = p.accountId) =>
    `arn:${p.partition}:${service}:${region}:${account}:${resource}`;
  const id = (length: number) => deterministicId(`${p.stackName}/${r.logicalId}`, length, LOWER_ALNUM);
  /** A resource whose Ref is its physical name / id. */
  const ref = (name: string, extra: Attributes = {}): Computed => ({
    name,
    attributes: { Ref: name, ...extra },
  });
  switch (r.type) {
    case 'AWS::SQS::Queue': {
      const fifo = r.properties.FifoQueue === true || r.properties.FifoQueue === 'true';
      const name = named('QueueName', { maxLength: 80, suffix: fifo ? '.fifo' : '' });
      // Ref (the URL) and Arn are provided by the emulator once the queue exists.
      return { name, attributes: { QueueName: name } };
    }
    case 'AWS::S3::Bucket': {
      const name = named('BucketName', { maxLength: 63, lowercase: true });
      const host = (sub: string) => `${name}.${sub}.${p.urlSuffix}`;
      return ref(name, {
        Arn: `arn:${p.partition}:s3:::${name}`,
        DomainName: host('s3'),
        RegionalDomainName: host(`s3.${p.region}`),
        DualStackDomainName: host(`s3.dualstack.${p.region}`),
        WebsiteURL: `http://${name}.s3-website-${p.region}.${p.urlSuffix}`,
      });
    }
    case 'AWS::DynamoDB::Table': {
      const name = named('TableName', { maxLength: 255 });
      const tableArn = arn('dynamodb', `table/${name}`);
      return ref(name, { Arn: tableArn, StreamArn: `${tableArn}/stream/1970-01-01T00:00:00.000` });
    }
    case 'AWS::Lambda::Function': {
      const name = named('FunctionName', { maxLength: 64 });
      return ref(name, { Arn: arn('lambda', `function:${name}`) });
    }
    case 'AWS::Logs::LogGroup': {
      const name = named('LogGroupName', { maxLength: 512 });
      return ref(name, { Arn: arn('logs', `log-group:${name}:*`) });
    }
    case 'AWS::IAM::Role': {
      const name = named('RoleName', { maxLength: 64 });
      const rolePath = typeof r.properties.Path === 'string' ? r.properties.Path : '/';
      return ref(name, {
        Arn: arn('iam', `role${rolePath}${name}`, ''),
        RoleId: `AROA${id(17).toUpperCase()}`,
      });
    }
    case 'AWS::SNS::Topic': {
      const fifo = r.properties.FifoTopic === true || r.properties.FifoTopic === 'true';
      const name = named('TopicName', { maxLength: 256, suffix: fifo ? '.fifo' : '' });
      const topicArn = arn('sns', name);
      return { name, attributes: { Ref: topicArn, TopicArn: topicArn, TopicName: name } };
    }
    case 'AWS::KMS::Key': {
      const keyId = deterministicUuid(`${p.stackName}/${r.logicalId}`);
      return ref(keyId, { KeyId: keyId, Arn: arn('kms', `key/${keyId}`) });
    }
    case 'AWS::Events::Rule': {
      const name = named('Name', { maxLength: 64 });
      // A rule of a custom bus: its ARN names the bus, its Ref is `<bus>|<rule>` (CloudFormation).
      const bus = r.properties.EventBusName === undefined ? 'default' : prop('EventBusName');
      const busName = bus.startsWith('arn:') ? bus.slice(bus.indexOf('/') + 1) : bus;
      return busName === 'default'
        ? ref(name, { Arn: arn('events', `rule/${name}`) })
        : ref(`${busName}|${name}`, { Arn: arn('events', `rule/${busName}/${name}`) });
    }
    case 'AWS::Events::EventBus': {
      const name = prop('Name');
      return ref(name, { Name: name, Arn: arn('events', `event-bus/${name}`) });
    }
    case 'AWS::Events::Connection': {
      const name = named('Name', { maxLength: 64 });
      const uuid = deterministicUuid(`${p.stackName}/${r.logicalId}`);
      return ref(name, {
        Arn: arn('events', `connection/${name}/${uuid}`),
        SecretArn: arn('secretsmanager', `secret:events!connection/${name}/${uuid}-${id(6)}`),
      });
    }
    case 'AWS::Events::ApiDestination': {
      const name = named('Name', { maxLength: 64 });
      const uuid = deterministicUuid(`${p.stackName}/${r.logicalId}`);
      return ref(name, {
        Arn: arn('events', `api-destination/${name}/${uuid}`),
        ArnForPolicy: arn('events', `api-destination/${name}`),
      });
    }
    case 'AWS::SecretsManager::Secret': {
      const name = named('Name', { maxLength: 512 });
      const secretArn = arn('secretsmanager', `secret:${name}-${id(6)}`);
      return { name, attributes: { Ref: secretArn, Id: secretArn } };
    }
    case 'AWS::CloudWatch::Alarm': {
      const name = named('AlarmName', { maxLength: 255 });
      return ref(name, { Arn: arn('cloudwatch', `alarm:${name}`) });
    }
    case 'AWS::ApiGateway::RestApi': {
      const apiId = id(10);
      return ref(apiId, {
        RestApiId: apiId,
        RootResourceId: deterministicId(`${apiId}/root`, 10, LOWER_ALNUM),
      });
    }
    case 'AWS::ApiGateway::Stage':
      return ref(prop('StageName'));
    case 'AWS::ApiGateway::Resource':
      return ref(id(6), { ResourceId: id(6) });
    case 'AWS::ApiGateway::Deployment':
      return ref(id(6), { DeploymentId: id(6) });
    case 'AWS::ApiGateway::ApiKey':
      return ref(id(10), { APIKeyId: id(10) });
    case 'AWS::Lambda::EventSourceMapping': {
      const uuid = deterministicUuid(`${p.stackName}/${r.logicalId}`);
      return ref(uuid, { Id: uuid });
    }
    default:
      // Every CloudFormation resource has a Ref; for types without a local meaning a stable
      // generated physical id stands in for it. Their Fn::GetAtt attributes have no local value.
      return ref(generatedName(p.stackName, r.logicalId, { maxLength: 128 }));
  }
}
