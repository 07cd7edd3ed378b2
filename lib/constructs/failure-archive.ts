import { Duration, RemovalPolicy, Stack, Validations } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as s3 from 'aws-cdk-lib/aws-s3';
import { Construct } from 'constructs';
import { ARCHIVE_PREFIX } from '../../lambda/shared/constants';
import { ARCHIVE_DEFAULTS } from '../config/defaults';

/** Pinned logical id of the archive bucket (the stack pins it; nag findings name it). */
export const ARCHIVE_BUCKET_LOGICAL_ID = 'FailureArchiveBucket';
/** Pinned logical id of the archive's KMS key (losing it loses every record it encrypted). */
export const ARCHIVE_KEY_LOGICAL_ID = 'FailureArchiveKey';

/** Props of {@link FailureArchive}. */
export interface FailureArchiveProps {
  /** Keep the bucket and its records when the stack is deleted. @default false */
  readonly retain?: boolean;
  /** Expire records after this many days. @default never */
  readonly expirationDays?: number;
  /** Expire noncurrent versions after this many days. @default ARCHIVE_DEFAULTS.noncurrentVersionDays (30) */
  readonly noncurrentVersionDays?: number;
  /**
   * IAM principal ARNs that may read records: the key denies decryption to every other
   * principal. @default none (decryption left to IAM policies)
   */
  readonly readers?: readonly string[];
}

/**
 * The S3 failure archive: versioned, encrypted with a customer-managed KMS key of its own
 * (rotated yearly, S3 Bucket Key on), TLS-only, public access blocked, lifecycle per stage. It
 * owns the grants its writers need: they may encrypt through S3 (`kms:GenerateDataKey` with
 * `kms:ViaService`) but never decrypt; reading records (whole message bodies) takes `kms:Decrypt`
 * on the key, which no role of the stack holds: only principals the account's IAM grants it
 * (operators, through `ops`).
 */
export class FailureArchive extends Construct {
  public readonly bucket: s3.Bucket;
  /** The key of the records; retained with the bucket. */
  public readonly key: kms.Key;

  constructor(scope: Construct, id: string, props: FailureArchiveProps = {}) {
    super(scope, id);
    const retain = props.retain ?? false;
    this.key = new kms.Key(this, 'Key', {
      description: 'Failure archive records (S3 SSE-KMS)',
      enableKeyRotation: true,
      // A retained archive keeps its key: without it the records could never be read again.
      removalPolicy: retain ? RemovalPolicy.RETAIN : RemovalPolicy.DESTROY,
    });
    (this.key.node.defaultChild as kms.CfnKey).overrideLogicalId(ARCHIVE_KEY_LOGICAL_ID);
    const readers = props.readers ?? [];
    if (readers.length > 0) {
      // Whatever an identity policy grants (kms:* on *), only the readers decrypt records. They
      // still need kms:Decrypt and s3:GetObject in their own IAM policies (the key's default
      // statement leaves its use to IAM); writers encrypt with GenerateDataKey, which this leaves.
      this.key.addToResourcePolicy(
        new iam.PolicyStatement({
          sid: 'OnlyArchiveReadersDecrypt',
          effect: iam.Effect.DENY,
          principals: [new iam.AnyPrincipal()],
          actions: ['kms:Decrypt'],
          resources: ['*'],
          conditions: { ArnNotLike: { 'aws:PrincipalArn': [...readers] } },
        }),
      );
    }
    this.bucket = new s3.Bucket(this, 'Bucket', {
      encryption: s3.BucketEncryption.KMS,
      encryptionKey: this.key,
      // One data key per bucket and period instead of one KMS call per record.
      bucketKeyEnabled: true,
      enforceSSL: true,
      minimumTLSVersion: 1.2,
      blockPublicAccess: s3.BlockPublicAccess.BLOCK_ALL,
      objectOwnership: s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
      versioned: true,
      removalPolicy: retain ? RemovalPolicy.RETAIN : RemovalPolicy.DESTROY,
      autoDeleteObjects: !retain,
      lifecycleRules: [
        {
          id: 'expire-failure-records',
          prefix: ARCHIVE_PREFIX,
          expiration: props.expirationDays ? Duration.days(props.expirationDays) : undefined,
          noncurrentVersionExpiration: Duration.days(
            props.noncurrentVersionDays ?? ARCHIVE_DEFAULTS.noncurrentVersionDays,
          ),
          abortIncompleteMultipartUploadAfter: Duration.days(1),
        },
      ],
    });
    Validations.of(this.bucket).acknowledge({
      id: 'AwsSolutions::AwsSolutions-S1',
      reason:
        "Only the pipeline's own functions write here (role-scoped PutObject on failed/*); object-level access is " +
        'audited through CloudTrail data events, and a second logging bucket would itself need access logs.',
    });
  }

  /** One object-level action on `failed/*` of this bucket only. */
  private grantOnRecords(grantee: iam.IGrantable, action: string): iam.Grant {
    const grant = iam.Grant.addToPrincipal({
      grantee,
      actions: [action],
      resourceArns: [this.bucket.arnForObjects(`${ARCHIVE_PREFIX}*`)],
    });
    this.acknowledgePrefixWildcard(grantee);
    return grant;
  }

  private acknowledgePrefixWildcard(grantee: iam.IGrantable): void {
    const scope = (grantee.grantPrincipal as iam.Role).node
      ? (grantee.grantPrincipal as iam.Role)
      : undefined;
    if (!scope) return;
    Validations.of(scope).acknowledge({
      id: `AwsSolutions::AwsSolutions-IAM5[Resource::<${ARCHIVE_BUCKET_LOGICAL_ID}.Arn>/${ARCHIVE_PREFIX}*]`,
      reason:
        'Archive records are keyed failed/<queue>/<yyyy>/<mm>/<dd>/<messageId>.json, unknown until a message fails: ' +
        'access is limited to the failed/ prefix of this one bucket.',
    });
  }

  /**
   * Lets `grantee` write records (`s3:PutObject` on `failed/*` only, and `kms:GenerateDataKey` on
   * the archive's key through S3 only: it encrypts, never decrypts). Hand-written instead of
   * `bucket.grantPut`, which would add legal-hold, retention, tagging and abort actions the
   * writers never call, and `kms:Decrypt` besides.
   */
  grantWriteRecords(grantee: iam.IGrantable): iam.Grant {
    grantee.grantPrincipal.addToPrincipalPolicy(
      new iam.PolicyStatement({
        actions: ['kms:GenerateDataKey'],
        resources: [this.key.keyArn],
        conditions: { StringEquals: { 'kms:ViaService': `s3.${Stack.of(this).region}.amazonaws.com` } },
      }),
    );
    return this.grantOnRecords(grantee, 's3:PutObject');
  }

  /**
   * Lets `grantee` remove records (`s3:DeleteObject` on `failed/*`): the consumers remove the
   * provisional record of a final attempt that succeeded. The bucket is versioned, so a removal
   * keeps the earlier version until the noncurrent-version lifecycle expires it.
   */
  grantRemoveRecords(grantee: iam.IGrantable): iam.Grant {
    return this.grantOnRecords(grantee, 's3:DeleteObject');
  }

  /**
   * Lets `grantee` check whether a record exists (`HeadObject` = `s3:GetObject`, plus
   * `s3:ListBucket` limited to the prefix so a missing record answers 404, not 403).
   */
  grantCheckRecords(grantee: iam.IGrantable): void {
    this.grantOnRecords(grantee, 's3:GetObject');
    grantee.grantPrincipal.addToPrincipalPolicy(
      new iam.PolicyStatement({
        actions: ['s3:ListBucket'],
        resources: [this.bucket.bucketArn],
        conditions: { StringLike: { 's3:prefix': [`${ARCHIVE_PREFIX}*`] } },
      }),
    );
    this.acknowledgePrefixWildcard(grantee);
  }
}
