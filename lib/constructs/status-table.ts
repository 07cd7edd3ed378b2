import { RemovalPolicy, Validations } from 'aws-cdk-lib';
import * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as iam from 'aws-cdk-lib/aws-iam';
import { Construct } from 'constructs';
import { STATUS_TABLE_KEYS } from '../../lambda/shared/status/keys';

/** Props of {@link StatusTable}. */
export interface StatusTableProps {
  /** Point-in-time recovery (35 days of restorable history). @default false */
  readonly pointInTimeRecovery?: boolean;
  /** Keep the table (and its rows) when the stack is deleted. @default false */
  readonly retain?: boolean;
  /**
   * A stream of new and old images: the outbox of completion events (`CompletionEvents`).
   * @default false
   */
  readonly stream?: boolean;
}

/**
 * The message status table (docs/DESIGN.md §3/5): one on-demand, encrypted table keyed by `pk`
 * holding two kinds of rows, told apart by their key prefix (`lambda/shared/status/keys.ts`):
 * status rows (`msg#<envelope id>`, which also carry the consumers' Powertools idempotency record
 * and run logs) and the API's `Idempotency-Key` records (`key#<tenant hash>#<key>`). Every row
 * carries the TTL attribute `expiration` (epoch seconds). Each grant is limited to the prefixes
 * its role uses (`dynamodb:LeadingKeys`).
 */
export class StatusTable extends Construct {
  public readonly table: dynamodb.Table;

  constructor(scope: Construct, id: string, props: StatusTableProps = {}) {
    super(scope, id);
    this.table = new dynamodb.Table(this, 'Table', {
      partitionKey: { name: STATUS_TABLE_KEYS.partitionKey, type: dynamodb.AttributeType.STRING },
      billingMode: dynamodb.BillingMode.PAY_PER_REQUEST,
      encryption: dynamodb.TableEncryption.AWS_MANAGED,
      timeToLiveAttribute: STATUS_TABLE_KEYS.ttlAttribute,
      ...(props.stream ? { stream: dynamodb.StreamViewType.NEW_AND_OLD_IMAGES } : {}),
      pointInTimeRecoverySpecification: { pointInTimeRecoveryEnabled: props.pointInTimeRecovery ?? false },
      removalPolicy: props.retain ? RemovalPolicy.RETAIN : RemovalPolicy.DESTROY,
    });
    if (!props.pointInTimeRecovery) {
      Validations.of(this.table).acknowledge({
        id: 'AwsSolutions::AwsSolutions-DDB3',
        reason:
          'Stages without PITR (dev, staging, local) hold only short-lived status and idempotency rows that expire by TTL ' +
          'within days; the messages themselves live in SQS and the S3 archive. Prod enables PITR (lib/config/stages.ts).',
      });
    }
  }

  /**
   * `actions` on the rows whose key starts with one of `prefixes` only (`dynamodb:LeadingKeys`):
   * a role that may write status rows cannot touch `Idempotency-Key` records, and the reverse.
   */
  private grantOnRows(
    grantee: iam.IGrantable,
    prefixes: readonly string[],
    ...actions: readonly string[]
  ): iam.Grant {
    return iam.Grant.addToPrincipal({
      grantee,
      actions: [...actions],
      resourceArns: [this.table.tableArn],
      conditions: {
        'ForAllValues:StringLike': { 'dynamodb:LeadingKeys': prefixes.map((p) => `${p}*`) },
      },
    });
  }

  /**
   * The producer: claims `Idempotency-Key` records (`PutItem`, on `key#` rows only: it cannot
   * overwrite a status row), reads and completes them, writes `accepted` on status rows and reads
   * them for GET (`GetItem`, `UpdateItem` on `msg#` and `key#` rows).
   */
  grantProducer(grantee: iam.IGrantable): void {
    const { statusPrefix, idempotencyKeyPrefix } = STATUS_TABLE_KEYS;
    this.grantOnRows(grantee, [idempotencyKeyPrefix], 'dynamodb:PutItem');
    this.grantOnRows(
      grantee,
      [statusPrefix, idempotencyKeyPrefix],
      'dynamodb:GetItem',
      'dynamodb:UpdateItem',
    );
  }

  /**
   * A consumer: every write is an `UpdateItem` on a status row (the transitions, with Powertools
   * idempotency's records on the same row, and crash isolation's lone-run markers); it reads a
   * row on an idempotency conflict or for a marker (`GetItem`), and the rows of a batch's unknown
   * redeliveries (`BatchGetItem`). No put, no delete, no scan; status rows (`msg#`) only.
   */
  grantConsumer(grantee: iam.IGrantable): iam.Grant {
    return this.grantOnRows(
      grantee,
      [STATUS_TABLE_KEYS.statusPrefix],
      'dynamodb:GetItem',
      'dynamodb:BatchGetItem',
      'dynamodb:UpdateItem',
    );
  }

  /**
   * The DLQ sweeper: marks status rows failed (`UpdateItem`), and reads a swept message's row
   * (`GetItem`): a row `failed` with the record's key tells it the record exists (no S3 check).
   */
  grantSweeper(grantee: iam.IGrantable): iam.Grant {
    return this.grantOnRows(
      grantee,
      [STATUS_TABLE_KEYS.statusPrefix],
      'dynamodb:GetItem',
      'dynamodb:UpdateItem',
    );
  }
}
