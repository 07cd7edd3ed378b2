import { describe, expect, it } from 'vitest';
import { consumerSettingsFromEnv } from '../../lambda/shared/consumer-handler';
import { requireEnv, requireIntEnv } from '../../lambda/shared/runtime';
import { FIFO_QUEUE } from '../helpers/sqs-events';

describe('function configuration', () => {
  const env = {
    QUEUE_URL: FIFO_QUEUE.url,
    DLQ_URL: 'https://sqs/dlq.fifo',
    QUEUE_KIND: 'fifo',
    MAX_RECEIVE_COUNT: '5',
    BACKOFF_BASE_SECONDS: '2',
    BACKOFF_CAP_SECONDS: '300',
  };

  it('reads consumer settings from the environment the stack sets', () => {
    expect(consumerSettingsFromEnv(env)).toEqual({
      queueUrl: FIFO_QUEUE.url,
      dlqUrl: 'https://sqs/dlq.fifo',
      fifo: true,
      maxReceiveCount: 5,
      backoff: { baseSeconds: 2, capSeconds: 300 },
    });
    expect(consumerSettingsFromEnv({ ...env, QUEUE_KIND: 'standard' }).fifo).toBe(false);
  });

  it('fails with the variable name when a setting is missing, empty or not an integer', () => {
    const { DLQ_URL: _dropped, ...missing } = env;

    expect(() => consumerSettingsFromEnv(missing)).toThrow(
      'Environment variable DLQ_URL is required but not set',
    );
    expect(() => requireEnv('X', { X: '' })).toThrow('Environment variable X is required but not set');
    expect(() => requireIntEnv('N', { N: '2.5' })).toThrow(
      'Environment variable N must be an integer, got "2.5"',
    );
    expect(requireIntEnv('N', { N: '42' })).toBe(42);
  });
});
