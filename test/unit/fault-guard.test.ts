import { z } from 'zod';
import { beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { guardRecord, installFaultGuard, UncaughtJobError } from '../../lambda/shared/consumer/fault-guard';
import { defineJob, type JobDefinition } from '../../lambda/shared/jobs/types';
import { FakeAws } from '../helpers/aws-fakes';
import { consumer, failedIds } from '../helpers/consumer';
import { recordingRegistry } from '../helpers/jobs';
import { jobRecord, probeRecord } from '../helpers/sqs-events';

/** Late errors the sink received during the current test. */
let late: UncaughtJobError[] = [];
// Installed once per process (as the consumer runtime does); vitest's own listeners stay behind it.
beforeAll(() => installFaultGuard((e) => late.push(e)));
beforeEach(() => {
  late = [];
});
const aws = new FakeAws();

const never = () => new Promise<void>(() => {});

describe('fault guard', () => {
  it('fails a record whose job leaves a rejected promise unhandled', async () => {
    // Act
    const run = guardRecord(async () => {
      void Promise.reject(new Error('forgotten await'));
      await never();
    });

    // Assess
    await expect(run).rejects.toThrow(UncaughtJobError);
    await expect(run).rejects.toThrow(/unhandledRejection in the job: Error: forgotten await/);
  });

  it('fails a record whose job throws from a timer callback', async () => {
    const run = guardRecord(async () => {
      setTimeout(() => {
        throw new TypeError('boom in a timer');
      }, 1);
      await never();
    });
    await expect(run).rejects.toThrow(/uncaughtException in the job: TypeError: boom in a timer/);
  });

  it('passes a late error of a finished record to the sink instead of crashing', async () => {
    // Act
    await guardRecord(async () => {
      setTimeout(() => {
        throw new Error('after the record');
      }, 1);
    });

    // Assess: the sink receives it once the timer has fired (the process is still alive to see it).
    await vi.waitFor(() => expect(late).toHaveLength(1));
    expect(late[0]).toBeInstanceOf(UncaughtJobError);
    expect(late[0]!.message).toBe('uncaughtException in the job: Error: after the record');
  });

  it('fails only the guilty record of a standard batch; its batch-mates succeed', async () => {
    // Prepare
    aws.reset();
    const leaky = defineJob({
      type: 'test.leaky',
      description: 'leaves a rejection unhandled',
      schema: z.object({}),
      ordered: false,
      async handle() {
        void Promise.reject(new Error('nobody handles me'));
        await new Promise((r) => setTimeout(r, 50));
      },
    }) as unknown as JobDefinition;
    const { registry } = recordingRegistry([leaky]);
    const guilty = jobRecord({ type: 'test.leaky', payload: {} });
    const mates = [probeRecord({ mode: 'sleep', sleepMs: 20 }), probeRecord({ mode: 'succeed' })];

    // Act
    const res = await consumer({ registry }).run([mates[0]!, guilty, mates[1]!]);

    // Assess
    expect(failedIds(res)).toEqual([guilty.messageId]);
  });
});
