import * as logs from 'aws-cdk-lib/aws-logs';

/**
 * What CloudWatch Logs masks in the pipeline's function logs (docs/DESIGN.md §5, "What reaches
 * logs"): personal data a job payload may carry (email addresses, card numbers) and secrets a
 * stack trace or an error message might quote. The pipeline's code logs none of them in clear (the
 * reference app's `email.send` logs a recipient as a hash); this policy is the net under that rule
 * for what an adopter's job or a dependency logs. Masked values stay readable to
 * principals granted `logs:Unmask`. IP addresses are not masked: the functions log none, and API
 * access logs need the caller's address.
 */
export const LOG_DATA_IDENTIFIERS: readonly logs.DataIdentifier[] = [
  logs.DataIdentifier.EMAILADDRESS,
  logs.DataIdentifier.CREDITCARDNUMBER,
  logs.DataIdentifier.AWSSECRETKEY,
  logs.DataIdentifier.OPENSSHPRIVATEKEY,
  logs.DataIdentifier.PGPPRIVATEKEY,
  logs.DataIdentifier.PKCSPRIVATEKEY,
  logs.DataIdentifier.PUTTYPRIVATEKEY,
];

/** The data protection policy of a function log group: audit and mask {@link LOG_DATA_IDENTIFIERS}. */
export function logDataProtectionPolicy(): logs.DataProtectionPolicy {
  return new logs.DataProtectionPolicy({
    name: 'event-pipeline-function-logs',
    description: 'Masks personal data and secrets in function logs (docs/DESIGN.md §5)',
    identifiers: [...LOG_DATA_IDENTIFIERS],
  });
}
