import {
  defineEnvironment,
  EnvValueError,
  integer,
  json,
  stringRecord,
  oneOf,
  oneOfList,
  text,
  type ConfigOf,
  type EnvironmentInput,
} from '../shared/env-contract';
import { SHARED_VARIABLES } from '../shared/shared-environment';
import { PROBE_MODES } from '../shared/jobs/probe-modes';
import { TENANT_MAX_BYTES } from '../shared/constants';
import { isTenantName } from '../shared/envelope';
import { AUTH_MODES } from './tenant';
import { probePolicyOf } from './probe-policy';

/** A check for `API_KEY_TENANTS`: an object of tenant names (`isTenantName`) by key id. */
function tenantsByKeyId(value: unknown): Record<string, string> {
  const record = stringRecord(value);
  for (const [id, tenant] of Object.entries(record))
    if (!isTenantName(tenant))
      throw new EnvValueError(
        `must be a tenant name (no control characters, at most ${TENANT_MAX_BYTES} bytes as JSON)`,
        id,
      );
  return record;
}

/**
 * The producer's environment contract: `IngestApi` writes it with {@link toEnvironment}, the entry
 * point reads it with {@link fromEnvironment}.
 */
const contract = defineEnvironment({
  standardQueueUrl: text('STANDARD_QUEUE_URL'),
  fifoQueueUrl: text('FIFO_QUEUE_URL'),
  /** Each custom lane's queue URL by lane name (`{}` when the app has none). */
  laneQueueUrls: json('LANE_QUEUE_URLS', stringRecord),
  /** Largest accepted request body, in bytes. */
  maxBodyBytes: integer('MAX_BODY_BYTES'),
  /** Probe modes this stage accepts; an unknown mode fails the cold start. */
  allowedProbeModes: oneOfList('ALLOWED_PROBE_MODES', PROBE_MODES),
  /** Who may send probes and how hard they may fail (`./probe-policy.ts`). */
  probePolicy: json('PROBE_LIMITS', probePolicyOf),
  /** How the stage authenticates callers, which decides where a request's tenant comes from. */
  authMode: oneOf('AUTH_MODE', AUTH_MODES),
  /**
   * `apiKey` mode: each API key's tenant, by the key's id (`{ "<key id>": "<tenant>" }`; `{}` in
   * the other modes). A key it does not name has no tenant (403).
   */
  apiKeyTenants: json('API_KEY_TENANTS', tenantsByKeyId),
  /** Where results too large for the status row are kept (`GET /v1/messages/{id}/result`). */
  resultBucket: SHARED_VARIABLES.resultBucket,
  statusTable: SHARED_VARIABLES.statusTable,
  statusRetentionDays: SHARED_VARIABLES.statusRetentionDays,
  idempotencyWindowSeconds: SHARED_VARIABLES.idempotencyWindowSeconds,
});

/** The parsed configuration (`fromEnvironment`). */
export type ProducerConfig = ConfigOf<typeof contract>;
/** What `IngestApi` gives `toEnvironment`. */
export type ProducerEnvironmentInput = EnvironmentInput<typeof contract>;

/**
 * `toEnvironment(input)`: the variables for the construct; `fromEnvironment(env)`: parses them at
 * cold start, throwing `ConfigError` naming the variable; `variables`: their names.
 */
export const { toEnvironment, fromEnvironment, variables } = contract;
