import { DEFAULTS, QUEUE_DEFAULTS } from './defaults';
import { ConfigError } from './errors';
import { API_BODY_LIMITS, assertAttemptsFit, LAMBDA_LIMITS, SQS_LIMITS } from './limits';
import {
  AUTH_MODES,
  JWT_ALGORITHMS,
  type JwtSettings,
  type PipelineSettingsInput,
  type StageConfig,
} from './types';

/** What a stage name may be: it names the API Gateway stage and prefixes labels. */
export const STAGE_NAME_PATTERN = /^[a-z][a-z0-9-]{0,31}$/;

/**
 * Resolves a pipeline's settings: {@link DEFAULTS}, then `settings` (each given setting replaces
 * the default as a whole; `undefined` values are ignored), validated. Throws {@link ConfigError}
 * naming the first invalid setting.
 *
 * @example
 * const settings = resolveSettings('dev', { logRetentionDays: 7, alarmEmail: 'oncall@example.com' });
 */
export function resolveSettings(stage: string, settings: PipelineSettingsInput = {}): StageConfig {
  if (!STAGE_NAME_PATTERN.test(stage))
    throw new ConfigError(`Stage name "${stage}" must match ${STAGE_NAME_PATTERN} (it names the API stage)`);
  const merged = { ...DEFAULTS, ...definedOnly(settings), stage };
  const config: StageConfig = {
    ...merged,
    maxReceiveCount: merged.maxReceiveCount ?? merged.maxAttempts * QUEUE_DEFAULTS.receivesPerAttempt,
  };
  validateStageConfig(config);
  return config;
}

function definedOnly(o: PipelineSettingsInput): PipelineSettingsInput {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as PipelineSettingsInput;
}

/** Throws {@link ConfigError} naming the first invalid setting. */
function validateStageConfig(c: StageConfig): void {
  const fail = (msg: string): never => {
    throw new ConfigError(`Stage "${c.stage}": ${msg}`);
  };
  const { minReceiveCount, maxReceiveCount, maxVisibilitySeconds, maxRetentionDays } = SQS_LIMITS;
  if (
    !Number.isInteger(c.maxReceiveCount) ||
    c.maxReceiveCount < minReceiveCount ||
    c.maxReceiveCount > maxReceiveCount
  )
    fail(
      `maxReceiveCount must be an integer ${minReceiveCount}–${maxReceiveCount}, got ${c.maxReceiveCount}`,
    );
  assertAttemptsFit(`Stage "${c.stage}"`, c.maxAttempts, c.maxReceiveCount);
  if (
    c.backoff.baseSeconds < 0 ||
    c.backoff.capSeconds < c.backoff.baseSeconds ||
    c.backoff.capSeconds > maxVisibilitySeconds
  )
    fail(`backoff needs 0 <= baseSeconds <= capSeconds <= ${maxVisibilitySeconds}`);
  if (c.fifoConsumer.batchSize > SQS_LIMITS.maxFifoBatchSize)
    fail(`fifoConsumer.batchSize must be <= ${SQS_LIMITS.maxFifoBatchSize} for FIFO queues`);
  for (const [label, s] of [
    ['consumer', c.consumer],
    ['fifoConsumer', c.fifoConsumer],
  ] as const) {
    if (s.batchSize < 1 || s.batchSize > SQS_LIMITS.maxStandardBatchSize)
      fail(`${label}.batchSize must be 1–${SQS_LIMITS.maxStandardBatchSize}`);
    if (s.batchSize > SQS_LIMITS.maxBatchSizeWithoutWindow && s.maxBatchingWindowSeconds < 1)
      fail(
        `${label}.batchSize > ${SQS_LIMITS.maxBatchSizeWithoutWindow} needs maxBatchingWindowSeconds >= 1`,
      );
    if (s.maxConcurrency < SQS_LIMITS.minMaxConcurrency || s.maxConcurrency > SQS_LIMITS.maxMaxConcurrency)
      fail(`${label}.maxConcurrency must be ${SQS_LIMITS.minMaxConcurrency}–${SQS_LIMITS.maxMaxConcurrency}`);
    if (
      s.timeoutSeconds < LAMBDA_LIMITS.minTimeoutSeconds ||
      s.timeoutSeconds > LAMBDA_LIMITS.maxTimeoutSeconds
    )
      fail(
        `${label}.timeoutSeconds must be ${LAMBDA_LIMITS.minTimeoutSeconds}–${LAMBDA_LIMITS.maxTimeoutSeconds}`,
      );
  }
  if (c.fifoConsumer.maxBatchingWindowSeconds !== 0)
    fail('fifoConsumer.maxBatchingWindowSeconds must be 0 (Lambda does not batch FIFO queues by window)');
  if (c.queueRetentionDays < 1 || c.queueRetentionDays >= maxRetentionDays)
    fail(
      `queueRetentionDays must be 1–${maxRetentionDays - 1} so the DLQ (${maxRetentionDays} days) keeps messages longer than its source`,
    );
  if (c.api.maxBodyBytes < API_BODY_LIMITS.minBytes || c.api.maxBodyBytes > API_BODY_LIMITS.maxBytes)
    fail('api.maxBodyBytes must be 1 KiB – 10 MiB');
  validateAuth(c, fail);
  validateProbes(c, fail);
  validateWebhooks(c, fail);
  const reader = c.archiveReaders.find((r) => !PRINCIPAL_ARN.test(r));
  if (reader !== undefined) fail(`archiveReaders: "${reader}" is not an IAM principal ARN`);
  if (c.alarmEmail !== undefined && !/^[^@\s]+@[^@\s]+\.[^@\s]+$/.test(c.alarmEmail))
    fail(`alarmEmail "${c.alarmEmail}" is not an email address`);
  if (c.sweepEveryMinutes < 1) fail('sweepEveryMinutes must be >= 1');
  if (!Number.isInteger(c.status.retentionDays) || c.status.retentionDays < 1)
    fail('status.retentionDays must be an integer >= 1');
  if (c.status.idempotencyWindowHours < 1 || c.status.idempotencyWindowHours > c.status.retentionDays * 24)
    fail('status.idempotencyWindowHours must be 1 h up to status.retentionDays');
}

const WEBHOOK_NAME = /^[a-z][a-z0-9-]{0,31}$/;
/** A header name (RFC 9110 token). */
const HEADER_NAME = /^[!#$%&'*+.^_`|~0-9A-Za-z-]{1,128}$/;

/** The endpoint of a webhook: https, or http on this machine (local mode only). */
function webhookUrlProblem(url: string): string | undefined {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    return 'is not a URL';
  }
  if (u.protocol === 'https:') return undefined;
  if (u.protocol === 'http:' && (u.hostname === '127.0.0.1' || u.hostname === 'localhost')) return undefined;
  return 'must be https:// (http:// only on 127.0.0.1 or localhost, for local mode)';
}

/** The webhooks: unique names, endpoints, auth header, limits within EventBridge's. */
function validateWebhooks(c: StageConfig, fail: (msg: string) => never): void {
  const hooks = c.completionEvents.webhooks;
  if (hooks.length > 0 && !c.completionEvents.enabled)
    fail('completionEvents.webhooks need completionEvents.enabled');
  const seen = new Set<string>();
  hooks.forEach((h, i) => {
    const at = `completionEvents.webhooks[${i}]`;
    if (!WEBHOOK_NAME.test(h.name)) fail(`${at}.name must match ${WEBHOOK_NAME}`);
    if (seen.has(h.name)) fail(`${at}.name "${h.name}" is used twice`);
    seen.add(h.name);
    const problem = webhookUrlProblem(h.url);
    if (problem) fail(`${at}.url ${problem}`);
    if (!HEADER_NAME.test(h.auth.header)) fail(`${at}.auth.header must be an HTTP header name`);
    if (h.auth.secretName.length === 0) fail(`${at}.auth.secretName must name a Secrets Manager secret`);
    const int = (v: number | undefined, min: number, max: number) =>
      v === undefined || (Number.isInteger(v) && v >= min && v <= max);
    if (!int(h.ratePerSecond, 1, 300)) fail(`${at}.ratePerSecond must be an integer 1–300`);
    if (!int(h.retryAttempts, 0, 185)) fail(`${at}.retryAttempts must be an integer 0–185`);
    if (!int(h.maxEventAgeSeconds, 60, 86_400)) fail(`${at}.maxEventAgeSeconds must be an integer 60–86400`);
    if (
      h.outcomes !== undefined &&
      (h.outcomes.length === 0 || h.outcomes.some((o) => o !== 'succeeded' && o !== 'failed'))
    )
      fail(`${at}.outcomes must list succeeded and/or failed`);
  });
}

/**
 * The probe limits: within the probe's own schema, senders the stage's auth can name, and on a
 * stage that refuses the failing modes (`fail-always`), `succeed` and `sleep` kept from failing
 * for good: fewer failures than attempts, a sleep shorter than the consumers' timeout.
 */
function validateProbes(c: StageConfig, fail: (msg: string) => never): void {
  const p = c.probes;
  const within = (v: number, max: number) => Number.isInteger(v) && v >= 0 && v <= max;
  if (!within(p.maxFailTimes, 1000)) fail('probes.maxFailTimes must be an integer 0–1000');
  if (!within(p.maxSleepMs, 900_000)) fail('probes.maxSleepMs must be an integer 0–900000');
  if (!within(p.maxFailUntilSeconds, 31_536_000))
    fail('probes.maxFailUntilSeconds must be an integer 0–31536000');
  if (p.senders !== 'any') {
    for (const s of p.senders) {
      if (c.auth.mode === 'apiKey' && !c.auth.tenants.includes(s))
        fail(`probes.senders: "${s}" is not one of auth.tenants`);
      if (c.auth.mode === 'iam' && !PRINCIPAL_ARN.test(s))
        fail(`probes.senders: "${s}" is not an IAM principal ARN (the tenant of an iam caller)`);
      if (c.auth.mode === 'jwt' && !s.startsWith(`${c.auth.jwt?.issuer}#`))
        fail(`probes.senders: "${s}" is not <auth.jwt.issuer>#<tenant claim> (the tenant of a jwt caller)`);
    }
  }
  if (c.allowedProbeModes.includes('fail-always')) return;
  if (p.maxFailTimes >= c.maxAttempts)
    fail(
      `probes.maxFailTimes must be below maxAttempts (${c.maxAttempts}) on a stage without the fail-always probe mode, or a succeed probe dead-letters`,
    );
  const timeoutMs = Math.min(c.consumer.timeoutSeconds, c.fifoConsumer.timeoutSeconds) * 1000;
  if (p.maxSleepMs >= timeoutMs)
    fail(
      `probes.maxSleepMs must be below the consumers' timeout (${timeoutMs} ms) on a stage without the fail-always probe mode, or a sleep probe times out`,
    );
}

/** What a tenant name may be (it names an API key, a usage plan and output keys). */
export const TENANT_NAME_PATTERN = /^(?=.{1,32}$)[a-z][a-z0-9]*(-[a-z0-9]+)*$/;
const PRINCIPAL = /^(\d{12}|arn:aws[a-z-]*:(iam|sts)::\d{12}:[\w+=,.@/-]+)$/;
const PRINCIPAL_ARN = /^arn:aws[a-z-]*:(iam|sts)::\d{12}:[\w+=,.@/-]+$/;

/** Per-tenant limits: the stage's halved (at least 1) unless the settings give them. */
export function tenantLimitsOf(c: StageConfig): {
  rateLimit: number;
  burstLimit: number;
  quotaPerDay: number;
} {
  return (
    c.auth.tenantLimits ?? {
      rateLimit: Math.max(1, Math.floor(c.api.rateLimit / 2)),
      burstLimit: Math.max(1, Math.floor(c.api.burstLimit / 2)),
      quotaPerDay: Math.max(1, Math.floor(c.api.quotaPerDay / 2)),
    }
  );
}

/** The JWKS URI of a `jwt` stage: the given one, else `<issuer>/.well-known/jwks.json`. */
export function jwksUriOf(jwt: JwtSettings): string {
  return jwt.jwksUri ?? `${jwt.issuer.replace(/\/+$/, '')}/.well-known/jwks.json`;
}

/** `https://` URLs, or `http://` ones to this machine (local mode's issuer). */
function isIssuerUrl(value: string): boolean {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    return false;
  }
  const loopback = ['127.0.0.1', 'localhost', '[::1]'].includes(url.hostname);
  return (
    (url.protocol === 'https:' || (url.protocol === 'http:' && loopback)) && !url.username && !url.password
  );
}

/** A claim name: what a JWT payload's top-level key may be here (no path, no control characters). */
const CLAIM_NAME = /^[A-Za-z_][\w:.-]{0,63}$/;

function validateJwt(jwt: JwtSettings, fail: (msg: string) => never): void {
  if (typeof jwt.issuer !== 'string' || !isIssuerUrl(jwt.issuer))
    fail(`auth.jwt.issuer must be an https:// URL (the tokens' iss), got "${String(jwt.issuer)}"`);
  if (typeof jwt.audience !== 'string' || jwt.audience.trim() === '' || jwt.audience.length > 256)
    fail("auth.jwt.audience must be a non-empty string of at most 256 characters (the tokens' aud)");
  if (jwt.jwksUri !== undefined && !isIssuerUrl(jwt.jwksUri))
    fail(`auth.jwt.jwksUri must be an https:// URL, got "${jwt.jwksUri}"`);
  if (jwt.tenantClaim !== undefined && !CLAIM_NAME.test(jwt.tenantClaim))
    fail(`auth.jwt.tenantClaim must be a claim name (${CLAIM_NAME}), got "${jwt.tenantClaim}"`);
  if (jwt.algorithms !== undefined) {
    if (jwt.algorithms.length === 0) fail('auth.jwt.algorithms must name at least one algorithm');
    const bad = jwt.algorithms.find((a) => !(JWT_ALGORITHMS as readonly string[]).includes(a));
    if (bad !== undefined)
      fail(`auth.jwt.algorithms: "${bad}" is not one of ${JWT_ALGORITHMS.join(', ')} (asymmetric only)`);
  }
}

function validateAuth(c: StageConfig, fail: (msg: string) => never): void {
  const { auth } = c;
  if (!(AUTH_MODES as readonly string[]).includes(auth.mode))
    fail(`auth.mode must be one of ${AUTH_MODES.join(', ')}, got "${String(auth.mode)}"`);
  const bad = auth.tenants.find((t) => !TENANT_NAME_PATTERN.test(t));
  if (bad !== undefined)
    fail(`auth.tenants: "${bad}" must be lower-case words of letters and digits joined by single dashes`);
  if (new Set(auth.tenants).size !== auth.tenants.length) fail('auth.tenants names a tenant twice');
  if (auth.mode === 'apiKey' && auth.tenants.length === 0)
    fail('auth.mode apiKey needs at least one tenant in auth.tenants (one API key each)');
  const principal = auth.allowedPrincipals.find((p) => !PRINCIPAL.test(p));
  if (principal !== undefined)
    fail(`auth.allowedPrincipals: "${principal}" is not an account id or an IAM/STS ARN`);
  if (auth.mode !== 'iam' && auth.allowedPrincipals.length > 0)
    fail('auth.allowedPrincipals applies to auth.mode iam only');
  if (auth.mode === 'jwt' && auth.jwt === undefined)
    fail('auth.mode jwt needs auth.jwt: { issuer, audience } (the token issuer)');
  if (auth.jwt !== undefined) validateJwt(auth.jwt, fail);
  const t = tenantLimitsOf(c);
  if (t.rateLimit > c.api.rateLimit || t.burstLimit > c.api.burstLimit || t.quotaPerDay > c.api.quotaPerDay)
    fail(
      "auth.tenantLimits must not exceed the stage's api limits (one tenant must not take the whole stage)",
    );
}
