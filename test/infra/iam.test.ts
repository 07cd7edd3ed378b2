/**
 * The least-privilege proof (docs/DESIGN.md §2 invariant 7): for every stage, the exact permissions of every
 * role, no wildcard that is not explicitly justified here, and encryption + TLS-only + authenticated
 * access on every queue, bucket, topic and API method.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { loadStageConfig } from '../../app/stages';
import { STAGE_NAMES } from '../../app/stages';
import { synthStage } from '../helpers/synth';
import type { StageConfig } from '../../lib/config/types';
import {
  type CfnTemplate,
  formatRoleTables,
  list,
  permissionLine,
  policySources,
  render,
  type RoleTable,
  roleTables,
  type Statement,
  type WildcardFinding,
  wildcardFindings,
} from './iam-table';

const BUCKET = '<FailureArchiveBucket.Arn>';
const RECORDS = `${BUCKET}/failed/*`;
const RESULT_BUCKET = '<ResultBucket.Arn>';
/** Results too large for a status row: `results/<envelope id>.json` (lambda/shared/jobs/result.ts). */
const RESULTS = `${RESULT_BUCKET}/results/*`;
/** The completion events' bus and the queue of stream batches the relay could not publish. */
const BUS = '<CompletionEventsBusF19C6D83.Arn>';
const OUTBOX_FAILURES = '<CompletionEventsOutboxFailures8D3C7F6C.Arn>';
const TABLE = '<StatusTable.Arn>';
const ARCHIVE_KEY = '<FailureArchiveKey.Arn>';
/** A writer's use of the archive key: encrypt through S3 only, never decrypt. */
const ARCHIVE_ENCRYPT = `Allow kms:GenerateDataKey on ${ARCHIVE_KEY} when {"StringEquals":{"kms:ViaService":"s3.<AWS::Region>.amazonaws.com"}}`;
const LAMBDA_BASIC = 'arn:<AWS::Partition>:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole';
const AUTO_DELETE_PROVIDER = 'custom-resource provider CustomS3AutoDeleteObjectsCustomResourceProvider';
const PROVIDER_ROLE = '{"AWS":"<CustomS3AutoDeleteObjectsCustomResourceProviderRole3B1BD092.Arn>"}';

const allow = (actions: string[], resources: string[], condition = '', via?: string) =>
  actions.flatMap((a) => resources.map((r) => permissionLine('Allow', a, r, condition, via)));

/** What the Lambda event source mapping needs on its queue (CDK's grantConsumeMessages). */
const CONSUME = [
  'sqs:ChangeMessageVisibility',
  'sqs:DeleteMessage',
  'sqs:GetQueueAttributes',
  'sqs:GetQueueUrl',
  'sqs:ReceiveMessage',
];

/** The X-Ray writes active tracing adds to each function's role (stages with `tracing`). */
const TRACING = allow(['xray:PutTelemetryRecords', 'xray:PutTraceSegments'], ['*']);
const TRACED_FUNCTIONS = new Set([
  'producer',
  'consumer',
  'fifo-consumer',
  'dlq-sweeper',
  'completion-relay',
]);

/**
 * A pipeline function's writes to its own log group (the one its LoggingConfig names), and no
 * other: `[]` for a role that is no pipeline function's.
 */
function ownLogs(template: CfnTemplate, owner: string): string[] {
  if (!TRACED_FUNCTIONS.has(owner)) return [];
  const fn = Object.values(template.Resources).find(
    (r) =>
      r.Type === 'AWS::Lambda::Function' &&
      (r.Properties?.Environment as { Variables?: Record<string, unknown> })?.Variables
        ?.POWERTOOLS_SERVICE_NAME === owner,
  );
  const group = render((fn?.Properties?.LoggingConfig as { LogGroup?: unknown })?.LogGroup);
  expect(group, `${owner} logs to a log group of the stack`).toMatch(/^<[A-Za-z0-9]+>$/);
  // CDK's LogGroup.grant names the group both ways: its ARN (`…:log-group:<name>:*`, the streams)
  // and the bare group ARN (CreateLogStream's resource).
  return allow(
    ['logs:CreateLogStream', 'logs:PutLogEvents'],
    [
      group.replace(/>$/, '.Arn>'),
      `arn:<AWS::Partition>:logs:<AWS::Region>:<AWS::AccountId>:log-group:${group}`,
    ],
  );
}

/** What a consumer needs on the status table. */
const STATUS_CONSUMER = ['dynamodb:BatchGetItem', 'dynamodb:GetItem', 'dynamodb:UpdateItem'];

/**
 * The rows a grant on the status table reaches (`dynamodb:LeadingKeys`): status rows are `msg#…`,
 * Idempotency-Key records `key#…` (lambda/shared/status/keys.ts).
 */
const ROWS = (...prefixes: string[]) =>
  JSON.stringify({ 'ForAllValues:StringLike': { 'dynamodb:LeadingKeys': prefixes.map((p) => `${p}*`) } });
const STATUS_ROWS = ROWS('msg#');

/**
 * Every role the stack may hold, and exactly what each may do (without tracing; see {@link TRACING},
 * and without a pipeline function's writes to its own log group; see {@link ownLogs}). No pipeline
 * function has a managed policy: AWSLambdaBasicExecutionRole would let it write every log group.
 */
const EXPECTED_ROLES: Record<string, { managed: string[]; permissions: string[] }> = {
  // Calls SendMessage / SendMessageBatch (both authorised by sqs:SendMessage) on the two source queues;
  // on the status table: claims Idempotency-Key records (PutItem, key# rows only: it cannot overwrite
  // a status row), reads them on a conflict and status rows for GET (GetItem), completes/releases keys
  // and writes `accepted` (UpdateItem). No delete, no scan. Consumers and sweeper: msg# rows only.
  // Reads results kept in S3 for GET /v1/messages/{id}/result (GetObject under results/ only).
  producer: {
    managed: [],
    permissions: [
      ...allow(['s3:GetObject'], [RESULTS]),
      ...allow(['dynamodb:PutItem'], [TABLE], ROWS('key#')),
      ...allow(['dynamodb:GetItem', 'dynamodb:UpdateItem'], [TABLE], ROWS('msg#', 'key#')),
      ...allow(['sqs:SendMessage'], ['<FifoQueue.Arn>', '<StandardQueue.Arn>']),
    ],
  },
  // Event source mapping + backoff (ChangeMessageVisibility) on its queue; permanent failures to its
  // DLQ; archive records under failed/ (written, replaced, and a final attempt's provisional one removed).
  // Status table: UpdateItem only for writes (transitions with Powertools idempotency's records on
  // the same row, lone-run markers); GetItem on a conflict or for a marker; BatchGetItem for the
  // rows of unknown redeliveries (crash isolation). Results too large for the row: PutObject under
  // results/ only. Follow-up jobs (ctx.enqueue): SendMessage on every lane's queue, no DLQ but its own.
  consumer: {
    managed: [],
    permissions: [
      ARCHIVE_ENCRYPT,
      ...allow(STATUS_CONSUMER, [TABLE], STATUS_ROWS),
      ...allow(CONSUME, ['<StandardQueue.Arn>']),
      ...allow(['sqs:SendMessage'], ['<StandardDlq.Arn>']),
      ...allow(['s3:DeleteObject', 's3:PutObject'], [RECORDS]),
      ...allow(['s3:PutObject'], [RESULTS]),
      ...allow(['sqs:SendMessage'], ['<FifoQueue.Arn>', '<StandardQueue.Arn>']),
    ],
  },
  'fifo-consumer': {
    managed: [],
    permissions: [
      ARCHIVE_ENCRYPT,
      ...allow(STATUS_CONSUMER, [TABLE], STATUS_ROWS),
      ...allow(CONSUME, ['<FifoQueue.Arn>']),
      ...allow(['sqs:SendMessage'], ['<FifoDlq.Arn>']),
      ...allow(['s3:DeleteObject', 's3:PutObject'], [RECORDS]),
      ...allow(['s3:PutObject'], [RESULTS]),
      ...allow(['sqs:SendMessage'], ['<FifoQueue.Arn>', '<StandardQueue.Arn>']),
    ],
  },
  // The stream mapping reads the status table's stream (ListStreams supports no resource type);
  // the relay publishes on the stage's bus only; the mapping describes a batch given up on the
  // outbox failure queue (SendMessage only). No table, no other bus.
  'completion-relay': {
    managed: [],
    permissions: [
      ...allow(
        ['dynamodb:DescribeStream', 'dynamodb:GetRecords', 'dynamodb:GetShardIterator'],
        ['<StatusTable.StreamArn>'],
      ),
      ...allow(['dynamodb:ListStreams'], ['*']),
      ...allow(['events:PutEvents'], [BUS]),
      ...allow(['sqs:SendMessage'], [OUTBOX_FAILURES]),
    ],
  },
  // Reads and releases DLQ messages (never deletes them); HeadObject (s3:GetObject) + conditional put
  // on failed/*; ListBucket only under failed/ so a missing record answers 404, not 403; marks status
  // rows failed (UpdateItem) and reads a swept message's row (GetItem: its marker of a record).
  'dlq-sweeper': {
    managed: [],
    permissions: [
      ARCHIVE_ENCRYPT,
      ...allow(['dynamodb:GetItem', 'dynamodb:UpdateItem'], [TABLE], STATUS_ROWS),
      ...allow(['sqs:ChangeMessageVisibility', 'sqs:ReceiveMessage'], ['<FifoDlq.Arn>', '<StandardDlq.Arn>']),
      ...allow(['s3:GetObject', 's3:PutObject'], [RECORDS]),
      ...allow(['s3:ListBucket'], [BUCKET], '{"StringLike":{"s3:prefix":["failed/*"]}}'),
    ],
  },
  // No 'apigateway account logging' role: the account-wide API Gateway CloudWatch role lives in the
  // EventPipeline-account stack (test/infra/account-stack.test.ts), not in any stage.
  // CDK's autoDeleteObjects provider (stages that retain neither the archive nor the status rows):
  // it empties the buckets when the stack is deleted. Its rights come from the bucket policies, not
  // from an identity policy. Stages that retain one bucket only: see {@link autoDeleted}.
  [AUTO_DELETE_PROVIDER]: {
    managed: [LAMBDA_BASIC],
    permissions: [BUCKET, RESULT_BUCKET].flatMap((b) =>
      allow(
        ['s3:DeleteObject*', 's3:GetBucket*', 's3:List*', 's3:PutBucketPolicy'],
        [b, `${b}/*`],
        '',
        'AWS::S3::BucketPolicy',
      ),
    ),
  },
};

/** The buckets CDK's autoDeleteObjects provider empties on a stage: those it does not retain. */
const autoDeleted = (config: StageConfig): string[] => [
  ...(config.retainArchive ? [] : [BUCKET]),
  ...(config.status.retain ? [] : [RESULT_BUCKET]),
];

/** A justified wildcard: which policy may grant it, to whom, and why. */
interface AllowedWildcard {
  readonly source: RegExp;
  readonly kind: WildcardFinding['kind'];
  readonly value: string;
  readonly principal: string;
  readonly why: string;
}

const ACCOUNT_ROOT = '{"AWS":"arn:<AWS::Partition>:iam::<AWS::AccountId>:root"}';
const CLOUDWATCH = '{"Service":"cloudwatch.amazonaws.com"}';
const PIPELINE_WRITERS = /^(Consumer|FifoConsumer|DlqSweeper)(Handler)?RoleDefaultPolicy[0-9A-F]{8}$/;
const RESULT_WRITERS = /^(Consumer|FifoConsumer)HandlerRoleDefaultPolicy[0-9A-F]{8}$/;

const ALLOWED_WILDCARDS: readonly AllowedWildcard[] = [
  {
    source: /^(IngestProducer|Consumer|FifoConsumer|DlqSweeper)(Handler)?RoleDefaultPolicy[0-9A-F]{8}$/,
    kind: 'resource',
    value: '*',
    principal: '',
    why: 'Active tracing: xray:PutTraceSegments and xray:PutTelemetryRecords support no resource types, so X-Ray accepts only "*" for them; they carry no data access.',
  },
  {
    source: /^CompletionEventsRelayRoleDefaultPolicy[0-9A-F]{8}$/,
    kind: 'resource',
    value: '*',
    principal: '',
    why: "dynamodb:ListStreams, which the relay's stream mapping calls, supports no resource type (it lists stream ARNs, no data); with tracing the two X-Ray writes share the statement. The stream reads are on the status table's stream only.",
  },
  {
    source: RESULT_WRITERS,
    kind: 'resource',
    value: RESULTS,
    principal: '',
    why: 'Result keys are results/<envelope id>.json, one per message, unknown until a job returns a large result; consumers may PutObject under results/ of the one result bucket only.',
  },
  {
    source: /^IngestProducerRoleDefaultPolicy[0-9A-F]{8}$/,
    kind: 'resource',
    value: RESULTS,
    principal: '',
    why: 'GET /v1/messages/{id}/result reads results/<envelope id>.json for the caller who owns the message; the producer may GetObject under results/ of the one result bucket only.',
  },
  {
    source: PIPELINE_WRITERS,
    kind: 'resource',
    value: RECORDS,
    principal: '',
    why: 'Archive keys are failed/<queue>/<yyyy>/<mm>/<dd>/<messageId>.json, unknown until a message fails; the grant is limited to the failed/ prefix of the one archive bucket.',
  },
  {
    source: /^FailureArchiveKey$/,
    kind: 'resource',
    value: '*',
    principal: ACCOUNT_ROOT,
    why: 'In a key policy Resource "*" means "this key": the default key policy that leaves the archive key\'s use to IAM policies (no role of the stack may decrypt).',
  },
  {
    source: /^FailureArchiveKey$/,
    kind: 'action',
    value: 'kms:*',
    principal: ACCOUNT_ROOT,
    why: 'The account-root kms:* statement is the default key policy; without it the archive key could not be administered, rotated or granted to operators by IAM.',
  },
  {
    source: /^MonitoringTopicKey[0-9A-F]{8}$/,
    kind: 'resource',
    value: '*',
    principal: ACCOUNT_ROOT,
    why: 'In a key policy Resource "*" means "this key": the standard self-referencing key policy that delegates access to the account IAM.',
  },
  {
    source: /^MonitoringTopicKey[0-9A-F]{8}$/,
    kind: 'action',
    value: 'kms:*',
    principal: ACCOUNT_ROOT,
    why: 'The account-root kms:* statement is the default key policy; without it the key could not be administered or rotated by IAM.',
  },
  {
    source: /^MonitoringTopicKey[0-9A-F]{8}$/,
    kind: 'resource',
    value: '*',
    principal: CLOUDWATCH,
    why: 'CloudWatch encrypts alarm notifications for the KMS-encrypted alarm topic with this key ("*" in a key policy is the key itself).',
  },
  {
    source: /^MonitoringTopicKey[0-9A-F]{8}$/,
    kind: 'action',
    value: 'kms:GenerateDataKey*',
    principal: CLOUDWATCH,
    why: 'The documented grant CloudWatch needs to publish to an encrypted SNS topic (GenerateDataKey and its variants, plus Decrypt).',
  },
  ...(
    [
      [/^FailureArchiveBucketPolicy[0-9A-F]{8}$/, BUCKET],
      [/^ResultsBucketPolicy[0-9A-F]{8}$/, RESULT_BUCKET],
    ] as const
  ).flatMap(([source, bucket]): AllowedWildcard[] => [
    ...['s3:DeleteObject*', 's3:GetBucket*', 's3:List*'].map((value): AllowedWildcard => ({
      source,
      kind: 'action',
      value,
      principal: PROVIDER_ROLE,
      why: 'CDK autoDeleteObjects (non-retained stages): its provider role lists and deletes every object version when the stack is deleted.',
    })),
    {
      source,
      kind: 'resource',
      value: `${bucket}/*`,
      principal: PROVIDER_ROLE,
      why: 'CDK autoDeleteObjects must reach every object of the bucket it empties, and only its provider role is granted this.',
    },
  ]),
];

const isAllowed = (f: WildcardFinding, a: AllowedWildcard) =>
  a.source.test(f.source) && a.kind === f.kind && a.value === f.value && a.principal === f.principal;

/** Resource types whose documents {@link policySources} reads. */
const POLICY_HOLDERS = [
  'AWS::IAM::Policy',
  'AWS::IAM::ManagedPolicy',
  'AWS::IAM::Role',
  'AWS::SQS::QueuePolicy',
  'AWS::S3::BucketPolicy',
  'AWS::SNS::TopicPolicy',
  'AWS::KMS::Key',
  'AWS::Lambda::Permission',
];

const resourcesOf = (t: CfnTemplate, type: string) =>
  Object.entries(t.Resources).filter(([, r]) => r.Type === type);

/** The statements of every `policyType` resource policy attached (through `targetKey`) to `target`. */
function attachedStatements(
  t: CfnTemplate,
  policyType: string,
  targetKey: string,
  target: string,
): Statement[] {
  return resourcesOf(t, policyType)
    .filter(([, p]) => list(p.Properties?.[targetKey]).map(render).includes(target))
    .flatMap(
      ([, p]) => list((p.Properties?.PolicyDocument as { Statement?: unknown }).Statement) as Statement[],
    );
}

/** True when a statement denies `action` on `resource` to everyone calling without TLS. */
function deniesInsecureTransport(
  statements: readonly Statement[],
  resource: string,
  action: string,
): boolean {
  return statements.some(
    (s) =>
      s.Effect === 'Deny' &&
      JSON.stringify(s.Condition) === JSON.stringify({ Bool: { 'aws:SecureTransport': 'false' } }) &&
      list(s.Action).includes(action) &&
      list(s.Resource).map(render).includes(resource) &&
      (s.Principal === '*' || render((s.Principal as { AWS?: unknown })?.AWS) === '*'),
  );
}

/** The allow-list entries some finding of `template` uses. */
const allowancesUsedBy = (template: CfnTemplate): AllowedWildcard[] => {
  const findings = wildcardFindings(template);
  return ALLOWED_WILDCARDS.filter((a) => findings.some((f) => isAllowed(f, a)));
};

/**
 * Exactly how each stage encrypts its buckets: the archive with its own KMS key (readers limited
 * by the key), results with S3-managed keys (the producer must read them; the alarm topic has its own key).
 */
const BUCKET_ENCRYPTION: Record<string, unknown> = {
  FailureArchiveBucket: {
    ServerSideEncryptionConfiguration: [
      {
        BucketKeyEnabled: true,
        ServerSideEncryptionByDefault: {
          SSEAlgorithm: 'aws:kms',
          KMSMasterKeyID: { 'Fn::GetAtt': ['FailureArchiveKey', 'Arn'] },
        },
      },
    ],
  },
  ResultBucket: {
    ServerSideEncryptionConfiguration: [{ ServerSideEncryptionByDefault: { SSEAlgorithm: 'AES256' } }],
  },
};
const TOPIC_KEY = { 'Fn::GetAtt': [expect.stringMatching(/^MonitoringTopicKey[0-9A-F]{8}$/), 'Arn'] };

describe.each(STAGE_NAMES)('least privilege on stage %s', (stage) => {
  const config = loadStageConfig(stage);
  let template: CfnTemplate;
  let tables: RoleTable[];
  beforeAll(() => {
    template = synthStage(stage).toJSON() as CfnTemplate;
    tables = roleTables(template);
  });

  it('holds only known roles, each owned by a function or an AWS/CDK service', () => {
    const expectedOwners = Object.keys(EXPECTED_ROLES).filter(
      (o) => o !== AUTO_DELETE_PROVIDER || autoDeleted(config).length > 0,
    );
    expect(tables.map((t) => t.owner).sort()).toEqual(expectedOwners.sort());
    expect(resourcesOf(template, 'AWS::IAM::User')).toEqual([]);
    expect(resourcesOf(template, 'AWS::IAM::Group')).toEqual([]);
    expect(resourcesOf(template, 'AWS::IAM::AccessKey')).toEqual([]);
  });

  it.each(Object.keys(EXPECTED_ROLES))('grants %s exactly what its code calls', (owner) => {
    const table = tables.find((t) => t.owner === owner);
    if (owner === AUTO_DELETE_PROVIDER && autoDeleted(config).length === 0) {
      expect(table, 'retained buckets are never emptied').toBeUndefined();
      return;
    }
    expect(table, `role of ${owner}\n${formatRoleTables(tables)}`).toBeDefined();
    expect(table!.unsupported).toEqual([]);
    expect(table!.managedPolicies).toEqual(EXPECTED_ROLES[owner].managed);
    const tracing = config.tracing && TRACED_FUNCTIONS.has(owner) ? TRACING : [];
    const expected =
      owner === AUTO_DELETE_PROVIDER
        ? EXPECTED_ROLES[owner].permissions.filter((l) =>
            autoDeleted(config).some((b) => l.includes(`on ${b}`)),
          )
        : EXPECTED_ROLES[owner].permissions;
    expect(table!.permissions).toEqual([...expected, ...tracing, ...ownLogs(template, owner)].sort());
  });

  it('grants no wildcard action, resource or principal that is not justified', () => {
    const findings = wildcardFindings(template);
    const unjustified = findings.filter((f) => !ALLOWED_WILDCARDS.some((a) => isAllowed(f, a)));
    expect(unjustified).toEqual([]);
  });

  it('encrypts every queue and denies it to non-TLS callers', () => {
    const queues = resourcesOf(template, 'AWS::SQS::Queue');
    // Two lanes' queues and DLQs, and the completion events' outbox failure queue.
    expect(queues).toHaveLength(5);
    for (const [id, q] of queues) {
      const p = q.Properties ?? {};
      expect(p.SqsManagedSseEnabled === true || p.KmsMasterKeyId !== undefined, `${id} encrypted`).toBe(true);
      const statements = attachedStatements(template, 'AWS::SQS::QueuePolicy', 'Queues', `<${id}>`);
      expect(deniesInsecureTransport(statements, `<${id}.Arn>`, 'sqs:*'), `${id} TLS-only`).toBe(true);
    }
  });

  it('encrypts every bucket, blocks public access and denies non-TLS requests', () => {
    const buckets = resourcesOf(template, 'AWS::S3::Bucket');
    expect(buckets.map(([id]) => id).sort()).toEqual(Object.keys(BUCKET_ENCRYPTION).sort());
    for (const [id, b] of buckets) {
      const p = b.Properties ?? {};
      expect(p.BucketEncryption, `${id} encrypted`).toEqual(BUCKET_ENCRYPTION[id]);
      expect(p.PublicAccessBlockConfiguration, id).toEqual({
        BlockPublicAcls: true,
        BlockPublicPolicy: true,
        IgnorePublicAcls: true,
        RestrictPublicBuckets: true,
      });
      const statements = attachedStatements(template, 'AWS::S3::BucketPolicy', 'Bucket', `<${id}>`);
      for (const resource of [`<${id}.Arn>`, `<${id}.Arn>/*`]) {
        expect(deniesInsecureTransport(statements, resource, 's3:*'), `${resource} TLS-only`).toBe(true);
      }
    }
  });

  it('encrypts every topic with KMS and denies non-TLS publishing', () => {
    const topics = resourcesOf(template, 'AWS::SNS::Topic');
    expect(topics.length).toBeGreaterThan(0);
    for (const [id, t] of topics) {
      expect(t.Properties?.KmsMasterKeyId, `${id} encrypted`).toEqual(TOPIC_KEY);
      const statements = attachedStatements(template, 'AWS::SNS::TopicPolicy', 'Topics', `<${id}>`);
      expect(deniesInsecureTransport(statements, `<${id}>`, 'sns:Publish'), `${id} TLS-only`).toBe(true);
    }
  });

  it('authenticates every API method (SigV4, or a tenant API key where the stage chose apiKey)', () => {
    const methods = resourcesOf(template, 'AWS::ApiGateway::Method');
    expect(methods.length).toBeGreaterThan(0);
    for (const [id, m] of methods)
      expect(m.Properties?.AuthorizationType === 'AWS_IAM' || m.Properties?.ApiKeyRequired === true, id).toBe(
        true,
      );
  });

  it('reads every policy document it checks (no document without statements)', () => {
    // Prepare: every resource that holds a policy document (a role holds its trust policy).
    const holders = Object.values(template.Resources)
      .map((r) => r.Type)
      .filter((type) => POLICY_HOLDERS.includes(type))
      .sort();

    // Act
    const sources = policySources(template);

    // Assess: one document per holder (no inline role policies here), none of them empty.
    expect(holders.length).toBeGreaterThan(0);
    expect(sources.map((s) => s.type).sort()).toEqual(holders);
    expect(sources.filter((s) => s.statements.length === 0).map((s) => s.source)).toEqual([]);
  });
});

describe('wildcard allow-list', () => {
  it('justifies every entry with a specific reason', () => {
    for (const a of ALLOWED_WILDCARDS) expect(a.why.length, `${a.source} ${a.value}`).toBeGreaterThan(40);
  });

  it('has no stale entry: each one is used by some stage', () => {
    // Act: every stage's template (synthStage caches them, so after the suites above this is cheap).
    const used = new Set(
      STAGE_NAMES.flatMap((stage) => allowancesUsedBy(synthStage(stage).toJSON() as CfnTemplate)),
    );

    // Assess
    expect(
      ALLOWED_WILDCARDS.filter((a) => !used.has(a)).map((a) => `${a.source} ${a.kind} ${a.value}`),
    ).toEqual([]);
  });
});
