import { Duration, RemovalPolicy, Validations } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as s3 from 'aws-cdk-lib/aws-s3';
import { Construct } from 'constructs';
import { RESULT_PREFIX } from '../../lambda/shared/jobs/result';

/** Pinned logical id of the result bucket (nag acknowledgements name it). */
export const RESULT_BUCKET_LOGICAL_ID = 'ResultBucket';

/** Props of {@link ResultBucket}. */
export interface ResultBucketProps {
  /** Days a result is kept: the status rows' retention, so a result lives as long as its row (required). */
  readonly retentionDays: number;
  /** Keep the bucket when the stack is deleted. @default false */
  readonly retain?: boolean;
}

/**
 * Job results too large for a status row (`lambda/shared/jobs/result.ts`: over 16 KiB of JSON, up
 * to 4 MiB), one object `results/<envelope id>.json` each. Encrypted (SSE-S3), TLS-only, public
 * access blocked, unversioned (a result is written once per message and read through the API),
 * expired with the status rows. Apart from the failure archive on purpose: the archive's key can
 * deny decryption to every principal but its readers (`archiveReaders`), and the producer must
 * read results to return them.
 */
export class ResultBucket extends Construct {
  public readonly bucket: s3.Bucket;

  constructor(scope: Construct, id: string, props: ResultBucketProps) {
    super(scope, id);
    const retain = props.retain ?? false;
    this.bucket = new s3.Bucket(this, 'Bucket', {
      encryption: s3.BucketEncryption.S3_MANAGED,
      enforceSSL: true,
      minimumTLSVersion: 1.2,
      blockPublicAccess: s3.BlockPublicAccess.BLOCK_ALL,
      objectOwnership: s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
      removalPolicy: retain ? RemovalPolicy.RETAIN : RemovalPolicy.DESTROY,
      autoDeleteObjects: !retain,
      lifecycleRules: [
        {
          id: 'expire-results-with-status-rows',
          prefix: RESULT_PREFIX,
          // A row's TTL counts from its last write; S3 counts whole days from the object's creation.
          expiration: Duration.days(props.retentionDays + 1),
          abortIncompleteMultipartUploadAfter: Duration.days(1),
        },
      ],
    });
    (this.bucket.node.defaultChild as s3.CfnBucket).overrideLogicalId(RESULT_BUCKET_LOGICAL_ID);
    Validations.of(this.bucket).acknowledge({
      id: 'AwsSolutions::AwsSolutions-S1',
      reason:
        "Only the pipeline's consumers write here (role-scoped PutObject on results/*) and only the producer reads " +
        '(GetObject on results/*, for the caller who owns the message); objects expire with the status rows, and a ' +
        'second logging bucket would itself need access logs.',
    });
  }

  private grant(grantee: iam.IGrantable, action: string): iam.Grant {
    const grant = iam.Grant.addToPrincipal({
      grantee,
      actions: [action],
      resourceArns: [this.bucket.arnForObjects(`${RESULT_PREFIX}*`)],
    });
    const role = grantee.grantPrincipal as iam.Role;
    if (role.node)
      Validations.of(role).acknowledge({
        id: `AwsSolutions::AwsSolutions-IAM5[Resource::<${RESULT_BUCKET_LOGICAL_ID}.Arn>/${RESULT_PREFIX}*]`,
        reason:
          'Results are keyed results/<envelope id>.json, one per message, unknown until a job returns: access is ' +
          'limited to the results/ prefix of this one bucket.',
      });
    return grant;
  }

  /** The consumers: `s3:PutObject` on `results/*`. */
  grantWrite(grantee: iam.IGrantable): iam.Grant {
    return this.grant(grantee, 's3:PutObject');
  }

  /** The producer: `s3:GetObject` on `results/*`. */
  grantRead(grantee: iam.IGrantable): iam.Grant {
    return this.grant(grantee, 's3:GetObject');
  }
}
