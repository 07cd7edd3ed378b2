import { describe, expect, it } from 'vitest';
import * as consumerConfig from '../../lambda/consumer/config';
import * as sweeperConfig from '../../lambda/dlq-sweeper/config';
import * as producerConfig from '../../lambda/producer/config';
import { fifoProcessing } from '../../lambda/shared/consumer/fifo-processor';
import { standardProcessing } from '../../lambda/shared/consumer/standard-processor';
import { consumerSettings } from '../../lambda/shared/consumer-runtime';
import { defineEnvironment, integer, text } from '../../lambda/shared/env-contract';
import { ConfigError } from '../../lambda/shared/errors';
import { PRODUCER_ENV } from '../helpers/producer';
import { FIFO_DLQ, FIFO_QUEUE, STANDARD_DLQ, STANDARD_QUEUE } from '../helpers/sqs-events';

describe('function configuration', () => {
  const env = {
    LANE: 'fifo',
    QUEUE_URL: FIFO_QUEUE.url,
    DLQ_URL: 'https://sqs/dlq.fifo',
    MAX_RECEIVE_COUNT: '15',
    MAX_ATTEMPTS: '5',
    BACKOFF_BASE_SECONDS: '2',
    BACKOFF_CAP_SECONDS: '300',
    MAX_DEFERRAL_SECONDS: '3600',
    RATE_LIMIT: '{"perSecond":5,"burst":2}',
    STANDARD_QUEUE_URL: STANDARD_QUEUE.url,
    FIFO_QUEUE_URL: FIFO_QUEUE.url,
    LANE_QUEUE_URLS: '{}',
    ALLOWED_PROBE_MODES: 'succeed',
    PROBE_LIMITS: '{"senders":"any","maxFailTimes":3,"maxSleepMs":1000,"maxFailUntilSeconds":60}',
    ARCHIVE_BUCKET: 'bucket',
    RESULT_BUCKET: 'results',
    STATUS_TABLE: 'status',
    STATUS_RETENTION_DAYS: '7',
    IDEMPOTENCY_WINDOW_SECONDS: '86400',
  };

  it('reads consumer settings from the environment the stack sets', () => {
    expect(consumerSettings(consumerConfig.fromEnvironment(env))).toEqual({
      lane: 'fifo',
      queueUrl: FIFO_QUEUE.url,
      dlqUrl: 'https://sqs/dlq.fifo',
      maxReceiveCount: 15,
      maxAttempts: 5,
      backoff: { baseSeconds: 2, capSeconds: 300 },
      maxDeferralSeconds: 3600,
    });
    expect(consumerConfig.fromEnvironment(env).rateLimit).toEqual({ perSecond: 5, burst: 2 });
    expect(() => consumerConfig.fromEnvironment({ ...env, RATE_LIMIT: '{"perSecond":0,"burst":1}' })).toThrow(
      /RATE_LIMIT/,
    );
    expect(consumerConfig.fromEnvironment(env).archiveBucket).toBe('bucket');
  });

  it('takes the queue kind from the entry point, not the environment', () => {
    expect(fifoProcessing().fifo).toBe(true);
    expect(standardProcessing().fifo).toBe(false);
  });

  it('fails with the variable name when a setting is missing, empty or not an integer', () => {
    const { DLQ_URL: _dropped, ...missing } = env;
    const contract = defineEnvironment({ x: text('X'), n: integer('N') });

    expect(() => consumerConfig.fromEnvironment(missing)).toThrow(
      'Environment variable DLQ_URL is required but not set',
    );
    expect(() => contract.fromEnvironment({ X: '', N: '1' })).toThrow(
      'Environment variable X is required but not set',
    );
    expect(() => contract.fromEnvironment({ X: 'x', N: '2.5' })).toThrow(
      'Environment variable N must be an integer, got "2.5"',
    );
    expect(() => contract.fromEnvironment({ X: 'x', N: '2.5' })).toThrow(ConfigError);
    expect(contract.fromEnvironment({ X: 'x', N: '42' }).n).toBe(42);
  });

  it('writes the environment each consumer reads back (one contract, names written once)', () => {
    const input = {
      lane: 'standard',
      queueUrl: STANDARD_QUEUE.url,
      dlqUrl: STANDARD_DLQ.url,
      maxReceiveCount: 15,
      maxAttempts: 5,
      backoffBaseSeconds: 10,
      backoffCapSeconds: 600,
      maxDeferralSeconds: 338_400,
      rateLimit: null,
      standardQueueUrl: STANDARD_QUEUE.url,
      fifoQueueUrl: 'https://sqs.eu-west-1.amazonaws.com/111122223333/fifo.fifo',
      laneQueueUrls: { reports: 'https://sqs.eu-west-1.amazonaws.com/111122223333/reports' },
      allowedProbeModes: ['succeed' as const],
      probePolicy: { senders: 'any' as const, maxFailTimes: 3, maxSleepMs: 1000, maxFailUntilSeconds: 60 },
      archiveBucket: 'bucket',
      resultBucket: 'results',
      statusTable: 'status',
      statusRetentionDays: 7,
      idempotencyWindowSeconds: 86_400,
    };

    const written = consumerConfig.toEnvironment(input);

    expect(written).toEqual({
      LANE: 'standard',
      QUEUE_URL: STANDARD_QUEUE.url,
      DLQ_URL: STANDARD_DLQ.url,
      MAX_RECEIVE_COUNT: '15',
      MAX_ATTEMPTS: '5',
      BACKOFF_BASE_SECONDS: '10',
      BACKOFF_CAP_SECONDS: '600',
      MAX_DEFERRAL_SECONDS: '338400',
      RATE_LIMIT: 'null',
      STANDARD_QUEUE_URL: STANDARD_QUEUE.url,
      FIFO_QUEUE_URL: 'https://sqs.eu-west-1.amazonaws.com/111122223333/fifo.fifo',
      LANE_QUEUE_URLS: '{"reports":"https://sqs.eu-west-1.amazonaws.com/111122223333/reports"}',
      ALLOWED_PROBE_MODES: 'succeed',
      PROBE_LIMITS: '{"senders":"any","maxFailTimes":3,"maxSleepMs":1000,"maxFailUntilSeconds":60}',
      ARCHIVE_BUCKET: 'bucket',
      RESULT_BUCKET: 'results',
      STATUS_TABLE: 'status',
      STATUS_RETENTION_DAYS: '7',
      IDEMPOTENCY_WINDOW_SECONDS: '86400',
    });
    expect(consumerConfig.fromEnvironment(written)).toEqual(input);
  });
});

describe('producer configuration', () => {
  const env = PRODUCER_ENV;

  it('parses the allowed probe modes, trimming spaces', () => {
    expect(producerConfig.fromEnvironment(env).allowedProbeModes).toEqual(['succeed', 'sleep']);
  });

  it('fails its cold start on an unknown probe mode instead of dropping it', () => {
    expect(() => producerConfig.fromEnvironment({ ...env, ALLOWED_PROBE_MODES: 'succeed,bogus' })).toThrow(
      /^Environment variable ALLOWED_PROBE_MODES must list only succeed, sleep, .* \(at 1\), got "succeed,bogus"$/,
    );
  });

  it('round-trips through the environment the construct writes', () => {
    const config = producerConfig.fromEnvironment(env);

    expect(producerConfig.fromEnvironment(producerConfig.toEnvironment(config))).toEqual(config);
    expect(producerConfig.toEnvironment(config).ALLOWED_PROBE_MODES).toBe('succeed,sleep');
  });

  it('parses the authentication mode and the tenants of API keys by key id', () => {
    const config = producerConfig.fromEnvironment(env);
    const iam = producerConfig.fromEnvironment({ ...env, AUTH_MODE: 'iam', API_KEY_TENANTS: '{}' });

    expect(config.authMode).toBe('apiKey');
    expect(config.apiKeyTenants).toEqual({ k1l2m3n4o5: 'team-billing', p6q7r8s9t0: 'team-search' });
    expect(iam).toMatchObject({ authMode: 'iam', apiKeyTenants: {} });
  });

  it.each([
    [
      'AUTH_MODE is unknown',
      { AUTH_MODE: 'cognito' },
      /^Environment variable AUTH_MODE must be one of iam, apiKey, jwt, got "cognito"$/,
    ],
    ['AUTH_MODE is missing', { AUTH_MODE: '' }, /AUTH_MODE is required but not set/],
    [
      'API_KEY_TENANTS is not an object',
      { API_KEY_TENANTS: '["team-a"]' },
      /API_KEY_TENANTS must be a JSON object of strings/,
    ],
    [
      'a tenant name has a control character',
      { API_KEY_TENANTS: JSON.stringify({ k1: 'team\u0007a' }) },
      /API_KEY_TENANTS must be a tenant name .* \(at k1\)/,
    ],
  ])('fails its cold start when %s', (_case, overrides, message) => {
    expect(() => producerConfig.fromEnvironment({ ...env, ...overrides })).toThrow(message);
  });
});

describe('DLQ sweeper configuration', () => {
  const queues = [
    { dlqUrl: STANDARD_DLQ.url, sourceQueueName: STANDARD_QUEUE.name, sourceQueueArn: STANDARD_QUEUE.arn },
    { dlqUrl: FIFO_DLQ.url, sourceQueueName: FIFO_QUEUE.name, sourceQueueArn: FIFO_QUEUE.arn },
  ];

  it('parses SWEPT_QUEUES', () => {
    const config = sweeperConfig.fromEnvironment({
      ARCHIVE_BUCKET: 'b',
      SWEPT_QUEUES: JSON.stringify(queues),
      STATUS_TABLE: 'status',
      STATUS_RETENTION_DAYS: '7',
    });

    expect(config).toEqual({
      archiveBucket: 'b',
      sweptQueues: queues,
      statusTable: 'status',
      statusRetentionDays: 7,
    });
  });

  it.each([
    ['not JSON', '[{', /SWEPT_QUEUES must be JSON/],
    ['not an array', '{}', /SWEPT_QUEUES must be a JSON array of/],
    ['an empty list', '[]', /SWEPT_QUEUES must list at least one queue/],
    [
      'a queue without its DLQ URL',
      JSON.stringify([{ ...queues[0], dlqUrl: undefined }]),
      /SWEPT_QUEUES .*\(at 0\.dlqUrl\)/,
    ],
  ])('fails its cold start when SWEPT_QUEUES is %s', (_what, raw, message) => {
    expect(() => sweeperConfig.fromEnvironment({ ARCHIVE_BUCKET: 'b', SWEPT_QUEUES: raw })).toThrow(message);
  });

  it('writes SWEPT_QUEUES with the JSON encoder the construct passes', () => {
    const written = sweeperConfig.toEnvironment(
      { archiveBucket: 'b', sweptQueues: queues, statusTable: 'status', statusRetentionDays: 7 },
      { json: (v) => `tokens:${JSON.stringify(v)}` },
    );

    expect(written).toEqual({
      ARCHIVE_BUCKET: 'b',
      SWEPT_QUEUES: `tokens:${JSON.stringify(queues)}`,
      STATUS_TABLE: 'status',
      STATUS_RETENTION_DAYS: '7',
    });
  });
});

describe('configuration errors', () => {
  it('stay one line however long or multi-line the bad value is', () => {
    const raw = `[${'\n{"dlqUrl": 1},'.repeat(100)}\n]`;

    let message = '';
    try {
      sweeperConfig.fromEnvironment({ ARCHIVE_BUCKET: 'b', SWEPT_QUEUES: raw });
    } catch (error) {
      message = (error as Error).message;
    }

    expect(message).toMatch(/^Environment variable SWEPT_QUEUES /);
    expect(message).not.toContain('\n');
    expect(message.length).toBeLessThan(400);
  });
});
