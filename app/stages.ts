/**
 * The stages of this repository's own app (the reference adopter): each stage's settings where
 * they differ from the package's defaults (`DEFAULTS` in event-pipeline). An app that installs
 * the package keeps a file like this one in its own repository.
 */
import {
  ConfigError,
  DEFAULTS,
  resolveSettings,
  type PipelineSettings,
  type PipelineSettingsInput,
} from 'event-pipeline';

/** Names of the stages this app knows. */
export const STAGE_NAMES = ['dev', 'staging', 'prod', 'local'] as const;
/** One of {@link STAGE_NAMES}. */
export type StageName = (typeof STAGE_NAMES)[number];

/**
 * Each stage's settings where they differ from {@link DEFAULTS}. Settings that must survive from
 * one deploy to the next (such as `alarmEmail`, the address subscribed to the alarm topic) belong
 * here, not on the command line: a context value applies to the deploy that passes it only.
 */
export const STAGES: Record<StageName, PipelineSettingsInput> = {
  dev: { logRetentionDays: 7, archiveExpirationDays: 14 },
  staging: {
    logRetentionDays: 30,
    archiveExpirationDays: 30,
    status: { ...DEFAULTS.status, retentionDays: 14 },
  },
  prod: {
    retainArchive: true,
    // archiveReaders: ['arn:aws:iam::111122223333:role/oncall'],  ← the roles that run ops dlq show,
    // replay and archive list: the archive key then lets no other principal decrypt records.
    archiveExpirationDays: 400,
    archiveNoncurrentVersionDays: 90,
    logRetentionDays: 90,
    retainLogs: true,
    queueRetentionDays: 7,
    maxAttempts: 6,
    backoff: { baseSeconds: 15, capSeconds: 900 },
    consumer: { ...DEFAULTS.consumer, maxConcurrency: 50 },
    fifoConsumer: { ...DEFAULTS.fifoConsumer, maxConcurrency: 20 },
    fifoHighThroughput: true,
    api: { ...DEFAULTS.api, rateLimit: 500, burstLimit: 1000, quotaPerDay: 10_000_000 },
    allowedProbeModes: ['succeed', 'sleep'],
    // Probes are off until the operators' roles are listed here (the tenant of an iam caller is its
    // principal ARN, e.g. 'arn:aws:iam::111122223333:role/oncall'): any other caller gets 403. A
    // probe then fails at most 2 times (of maxAttempts 6), sleeps at most 10 s (timeout 30 s) and
    // fails until at most a minute ahead: it never dead-letters, and holds a FIFO group briefly.
    probes: { senders: [], maxFailTimes: 2, maxSleepMs: 10_000, maxFailUntilSeconds: 60 },
    maxMessageAgeSeconds: 600,
    status: { retentionDays: 30, idempotencyWindowHours: 24, pointInTimeRecovery: true, retain: true },
    // alarmEmail: 'oncall@example.com',  ← set your on-call address here so every deploy keeps it
  },
  // Short timings so a retried message reaches its DLQ within about a minute locally, while
  // still honouring visibility >= 6 x timeout + batching window.
  local: {
    logRetentionDays: 1,
    archiveExpirationDays: 1,
    archiveNoncurrentVersionDays: 1,
    queueRetentionDays: 1,
    maxAttempts: 3,
    backoff: { baseSeconds: 1, capSeconds: 4 },
    consumer: {
      ...DEFAULTS.consumer,
      maxBatchingWindowSeconds: 0,
      maxConcurrency: 4,
      timeoutSeconds: 3,
      memoryMb: 256,
    },
    fifoConsumer: { ...DEFAULTS.fifoConsumer, maxConcurrency: 4, timeoutSeconds: 3, memoryMb: 256 },
    sweepEveryMinutes: 1,
    maxMessageAgeSeconds: 120,
    // Not reproduced locally (no X-Ray); off so the local template carries no tracing settings.
    tracing: false,
    // One API key per tenant: the quick start stays one copy-paste command (npm start -- --auth iam signs).
    // `--auth jwt`: local mode is the issuer (its own key pair and JWKS, one token per tenant); the
    // issuer name is not resolvable (.invalid): local mode gives the authorizer its own JWKS URI.
    auth: {
      mode: 'apiKey',
      tenants: ['tenant-a', 'tenant-b'],
      allowedPrincipals: [],
      jwt: {
        issuer: 'https://issuer.local.invalid',
        audience: 'event-pipeline-local',
        tenantClaim: 'tenant',
      },
    },
    status: { ...DEFAULTS.status, retentionDays: 1 },
  },
};

/** True when `name` is one of the known stages. */
export function isStageName(name: string): name is StageName {
  return (STAGE_NAMES as readonly string[]).includes(name);
}

/**
 * Resolves a stage's settings: the package's defaults, then the stage's overrides, then `extra`
 * (e.g. an alarm email given as context for one deploy), validated. A missing or unknown stage
 * throws `ConfigError` listing the valid stages: there is no default stage.
 *
 * @example
 * const config = loadStageConfig('dev', { env: { region: 'eu-west-1' } });
 */
export function loadStageConfig(
  name: string | undefined,
  extra: PipelineSettingsInput = {},
): PipelineSettings {
  const choose = `Valid stages: ${STAGE_NAMES.join(', ')} (choose with -c stage=<name>).`;
  if (name === undefined || name === '') throw new ConfigError(`No stage given. ${choose}`);
  if (!isStageName(name)) throw new ConfigError(`Unknown stage "${name}". ${choose}`);
  const defined = Object.fromEntries(Object.entries(extra).filter(([, v]) => v !== undefined));
  return resolveSettings(name, { ...STAGES[name], ...defined });
}
