import { catalogFromRegistry } from '../../lambda/producer/catalog';
import { SQSClient } from '@aws-sdk/client-sqs';
import { createApi, type ApiDeps } from '../../lambda/producer/api';
import { DEFAULT_MAX_BODY_BYTES } from '../../lambda/shared/constants';
import { PROBE_MODES } from '../../lambda/shared/jobs/probe';
import { defaultRegistry } from '../../tools/example-registry';
import { API_KEY_TENANTS } from './api-events';
import { silentLogger } from './aws-fakes';
import { FIFO_QUEUE, STANDARD_QUEUE, T0 } from './sqs-events';

/** The n-th envelope id the producer under test hands out (`uuid(1)` is the first). */
export const uuid = (n: number) => `00000000-0000-4000-8000-${String(n).padStart(12, '0')}`;

/** The test stage's authentication: `apiKey`, with the helpers' tenants (`TENANTS`). */
export const TEST_AUTH = { mode: 'apiKey', apiKeyTenants: API_KEY_TENANTS } as const;

/**
 * The producer's API core over the test queues, with a fixed clock and ids `uuid(1)`, `uuid(2)`, …
 * and the test stage's tenants (mock `SQSClient` with aws-sdk-client-mock to see what it sends).
 */
export function producerApi(overrides: Partial<ApiDeps> = {}) {
  let n = 0;
  return createApi({
    catalog: catalogFromRegistry(defaultRegistry),
    sqs: new SQSClient({ region: 'eu-west-1' }),
    queues: { standardUrl: STANDARD_QUEUE.url, fifoUrl: FIFO_QUEUE.url },
    auth: TEST_AUTH,
    maxBodyBytes: DEFAULT_MAX_BODY_BYTES,
    allowedProbeModes: PROBE_MODES,
    logger: silentLogger(),
    now: () => T0,
    newId: () => uuid(++n),
    ...overrides,
  });
}

/** A complete producer environment (its config contract), as `IngestApi` would give it. */
export const PRODUCER_ENV = {
  STANDARD_QUEUE_URL: STANDARD_QUEUE.url,
  FIFO_QUEUE_URL: FIFO_QUEUE.url,
  LANE_QUEUE_URLS: '{}',
  MAX_BODY_BYTES: '1024',
  ALLOWED_PROBE_MODES: 'succeed, sleep',
  PROBE_LIMITS: '{"senders":"any","maxFailTimes":1000,"maxSleepMs":900000,"maxFailUntilSeconds":86400}',
  RESULT_BUCKET: 'results',
  STATUS_TABLE: 'status',
  STATUS_RETENTION_DAYS: '7',
  IDEMPOTENCY_WINDOW_SECONDS: '86400',
  AUTH_MODE: 'apiKey',
  API_KEY_TENANTS: JSON.stringify(API_KEY_TENANTS),
} as const;
