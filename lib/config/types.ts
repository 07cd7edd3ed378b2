import type { JwtAlgorithm } from '../../lambda/authorizer/algorithms';
import type { ProbeMode } from '../../lambda/shared/jobs/probe';

export { JWT_ALGORITHMS, type JwtAlgorithm } from '../../lambda/authorizer/algorithms';

/** Settings of one Lambda SQS consumer and its event source mapping. */
export interface ConsumerSettings {
  /** Records per invocation (standard: 1–10000, FIFO: 1–10). */
  readonly batchSize: number;
  /** `MaximumBatchingWindowInSeconds` (0–300; FIFO queues accept 0 only in CDK). */
  readonly maxBatchingWindowSeconds: number;
  /** `ScalingConfig.MaximumConcurrency` (2–1000). */
  readonly maxConcurrency: number;
  /** Function timeout in seconds. */
  readonly timeoutSeconds: number;
  /** Function memory in MB. */
  readonly memoryMb: number;
}

/**
 * Limits on the `probe` canary the API accepts. A probe is a message any sender could otherwise
 * shape to fail for a whole attempt budget (blocking its FIFO group, tripping the DLQ alarm):
 * a stage that allows only `succeed`/`sleep` keeps these below its attempt budget and timeout.
 */
export interface ProbeSettings {
  /**
   * Tenants (docs/DESIGN.md §3, `tenantOf`) allowed to send probes: on `iam` stages principal
   * ARNs (a role's sessions are the role), on `apiKey` stages tenant names of `auth.tenants`, on
   * `jwt` stages `<auth.jwt.issuer>#<tenant claim>`;
   * `'any'`: every caller; `[]`: probes are off. @default 'any'
   */
  readonly senders: 'any' | readonly string[];
  /** Largest `failTimes` accepted (0–1000). @default 1000 */
  readonly maxFailTimes: number;
  /** Largest `sleepMs` accepted (0–900000). @default 900000 */
  readonly maxSleepMs: number;
  /** Latest `failUntil` accepted, in seconds after the request. @default 86400 */
  readonly maxFailUntilSeconds: number;
}

/**
 * How callers authenticate: SigV4 with their IAM identity, one API key per tenant, or a bearer
 * token (JWT) of an OpenID Connect / OAuth 2.0 issuer checked by a Lambda authorizer.
 */
export const AUTH_MODES = ['iam', 'apiKey', 'jwt'] as const;
/** One of {@link AUTH_MODES}. */
export type AuthMode = (typeof AUTH_MODES)[number];

/** The token issuer of a `jwt` stage (`auth.jwt`). */
export interface JwtSettings {
  /** The issuer, exactly as tokens carry it in `iss` (an `https://` URL) (required). */
  readonly issuer: string;
  /** The audience tokens must name in `aud`: this API's identifier at the issuer (required). */
  readonly audience: string;
  /**
   * The issuer's JSON Web Key Set (`https://`). @default `<issuer>/.well-known/jwks.json`
   * (Cognito, Auth0 and most OIDC issuers; see the issuer's discovery document `jwks_uri`)
   */
  readonly jwksUri?: string;
  /**
   * The claim naming the tenant: the tenant is `<issuer>#<claim value>`. @default 'sub'
   * (a client-credentials token's client)
   */
  readonly tenantClaim?: string;
  /** Accepted JWS algorithms. @default ['RS256', 'ES256'] */
  readonly algorithms?: readonly JwtAlgorithm[];
}

/** Authentication and tenants of the API. */
export interface AuthSettings {
  /**
   * `iam`: every method is `AWS_IAM` (SigV4); the tenant is the caller's account and principal.
   * `apiKey`: one API key per tenant in `tenants`, each with its own usage plan.
   * `jwt`: every method `CUSTOM`, a Lambda authorizer that checks a bearer token of `jwt`'s issuer;
   * the tenant is `<issuer>#<tenant claim>`.
   */
  readonly mode: AuthMode;
  /**
   * The token issuer (required by `mode: 'jwt'`; a stage may keep it while another mode is in use,
   * e.g. for `-c auth=jwt`). @default none
   */
  readonly jwt?: JwtSettings;
  /**
   * `apiKey`: the tenants, one key and usage plan each (names: lower case, digits, dashes).
   * `iam`: local mode's principals (one generated credential each); AWS needs no list.
   * `jwt`: local mode's tenants (one token each, the tenant claim's value); AWS needs no list.
   */
  readonly tenants: readonly string[];
  /**
   * `iam`: AWS account ids (12 digits) or principal ARNs of other accounts allowed to call, by an
   * API resource policy; principals of the stage's own account are allowed by their identity
   * policies. @default none
   */
  readonly allowedPrincipals: readonly string[];
  /**
   * Throttle and daily quota of each tenant's usage plan (`apiKey`), below the stage's so that no
   * tenant can take the whole stage. @default half of `api`'s rate, burst and quota
   */
  readonly tenantLimits?: {
    readonly rateLimit: number;
    readonly burstLimit: number;
    readonly quotaPerDay: number;
  };
}

/**
 * A webhook (docs/DESIGN.md §3.7): an HTTPS endpoint that receives the stage's completion events
 * through an EventBridge API destination.
 */
export interface WebhookSettings {
  /** `[a-z][a-z0-9-]{0,31}`: names its rule, destination and alarm. */
  readonly name: string;
  /**
   * The endpoint (`https://…`). `http://127.0.0.1:<port>/…` and `http://localhost:<port>/…` are
   * accepted for local mode only: EventBridge refuses them at deploy.
   */
  readonly url: string;
  /** Only this tenant's events (a tenant as `tenantOf` names it). @default every tenant's */
  readonly tenant?: string;
  /** Which outcomes it receives. @default both */
  readonly outcomes?: readonly ('succeeded' | 'failed')[];
  /**
   * The header that authenticates the calls, with its value from Secrets Manager (the connection
   * keeps it; it never appears in the template): secret `secretName`, JSON field `secretField`
   * (@default the whole secret string).
   */
  readonly auth: { readonly header: string; readonly secretName: string; readonly secretField?: string };
  /** Calls per second at most (API destination rate limit, 1–300). @default 10 */
  readonly ratePerSecond?: number;
  /** Retries of a failed call (EventBridge retry policy, 0–185). @default 24 */
  readonly retryAttempts?: number;
  /** How long EventBridge keeps retrying an event, in seconds (60–86400). @default 86400 */
  readonly maxEventAgeSeconds?: number;
}

/** Completion events (docs/DESIGN.md §3.6): the stage's bus and its webhooks. */
export interface CompletionEventSettings {
  /** Publish completion events (status table stream, relay function, bus). */
  readonly enabled: boolean;
  /** Endpoints that receive them. */
  readonly webhooks: readonly WebhookSettings[];
}

/**
 * The fully resolved settings of one pipeline (one stage of the adopter's app): `DEFAULTS`, then
 * the app's settings, validated by `resolveSettings`. Every construct receives pieces of this as
 * typed props.
 */
export interface StageConfig {
  /** The stage's name: the API Gateway stage (first path segment), labels (`[a-z][a-z0-9-]*`). */
  readonly stage: string;
  /** Account and region; `undefined` means "from the CLI environment". */
  readonly env: { readonly account?: string; readonly region?: string };
  /** Keep the failure archive (and its records) when the stack is deleted. */
  readonly retainArchive: boolean;
  /**
   * IAM principal ARNs (roles, users) that may read archive records, which hold whole message
   * bodies: the archive key's policy denies decryption to every other principal, whatever its
   * IAM policies say (the readers still need kms:Decrypt and s3:GetObject in theirs). `[]`: decryption is left to IAM policies
   * (no role of the stack has it). The operators' roles that run `ops dlq show`, `replay` and
   * `archive list` belong here. @default []
   */
  readonly archiveReaders: readonly string[];
  /** Days after which archive records expire (`undefined` = never). */
  readonly archiveExpirationDays?: number;
  /** Days after which noncurrent archive versions expire. */
  readonly archiveNoncurrentVersionDays: number;
  /** CloudWatch Logs retention for functions and API access logs, in days. */
  readonly logRetentionDays: number;
  /**
   * Keep the function log groups when the stack is deleted (they hold what happened to each
   * message); the API access logs are always kept.
   */
  readonly retainLogs: boolean;
  /** Source queue message retention, in days (DLQs keep messages for 14 days, always longer). */
  readonly queueRetentionDays: number;
  /**
   * Handler runs a message gets before the consumer gives up on it (archive, DLQ). Counted on its
   * status row, so receives that did not run it (a crash-isolation hand-back, a batch-mate's
   * crash before it started) do not use them up.
   */
  readonly maxAttempts: number;
  /**
   * Receives before SQS moves a message to its DLQ (the redrive policy): the backstop behind
   * {@link maxAttempts}, for a message whose runs cannot be counted (status table unreachable, or
   * a crash before its run is written).
   * Resolved by `loadStageConfig` to `QUEUE_DEFAULTS.receivesPerAttempt` × `maxAttempts` unless a stage sets it.
   */
  readonly maxReceiveCount: number;
  /** Retry backoff: first delay, cap, both in seconds. */
  readonly backoff: { readonly baseSeconds: number; readonly capSeconds: number };
  readonly consumer: ConsumerSettings;
  readonly fifoConsumer: ConsumerSettings;
  /** FIFO high-throughput mode (per-message-group dedup scope and throughput limit). */
  readonly fifoHighThroughput: boolean;
  /** Usage plan throttle and quota for API clients. */
  readonly api: {
    readonly rateLimit: number;
    readonly burstLimit: number;
    readonly quotaPerDay: number;
    /** Largest accepted request body, in bytes. */
    readonly maxBodyBytes: number;
  };
  /**
   * Who may call the API and how each caller is told apart (docs/DESIGN.md §3, "Authentication").
   * Every request is authenticated; the tenant a request belongs to comes from its credentials.
   */
  readonly auth: AuthSettings;
  /** Address that receives alarm notifications (`undefined`: topic without subscription). */
  readonly alarmEmail?: string;
  /** Probe modes the API accepts on this stage. */
  readonly allowedProbeModes: readonly ProbeMode[];
  /** Who may send the `probe` canary and how hard it may fail (docs/DESIGN.md §4). */
  readonly probes: ProbeSettings;
  /** How often the DLQ sweeper runs, in minutes. */
  readonly sweepEveryMinutes: number;
  /** Seconds a queue's oldest message may wait before the age alarm fires. */
  readonly maxMessageAgeSeconds: number;
  /**
   * The stage's CloudWatch dashboard ($3 a month). The alarms do not depend on it: without it the
   * stage pages the same way, and `ops status` shows queue depths and alarm states.
   */
  readonly dashboard: boolean;
  /** Completion events and webhooks (issue 18). */
  readonly completionEvents: CompletionEventSettings;
  /**
   * X-Ray active tracing on every function and the API stage. Local mode does not reproduce it.
   */
  readonly tracing: boolean;
  /** The message status table (status rows, Idempotency-Key records, consumer idempotency records). */
  readonly status: {
    /** Days a status row is kept after its last change (TTL). */
    readonly retentionDays: number;
    /** Hours an `Idempotency-Key` (API) and a processed envelope id (consumers) are remembered. */
    readonly idempotencyWindowHours: number;
    /** Point-in-time recovery of the table. */
    readonly pointInTimeRecovery: boolean;
    /** Keep the table when the stack is deleted. */
    readonly retain: boolean;
  };
}

/** {@link StageConfig} by its public name. */
export type PipelineSettings = StageConfig;

/**
 * The settings an app gives `EventPipeline` (or `resolveSettings`): any subset of
 * {@link StageConfig}, each one replacing the default (`lib/config/defaults.ts`) as a whole.
 */
export type PipelineSettingsInput = Partial<Omit<StageConfig, 'stage'>>;
