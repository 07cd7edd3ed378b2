import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEFAULT_MAX_BODY_BYTES } from '../../lambda/shared/constants';
import { consumerInvocations, drainView, probe, waitForIdle } from '../helpers/local';
import { depth, startStage, waitFor, type LocalStage } from '../../tools/local-stage';

// 1 MiB messages end to end: the real producer bundle, fauxqs queues created with the template's
// MaximumMessageSize, the local poller and the real consumer bundle.
let stage: LocalStage;
beforeAll(async () => {
  stage = await startStage();
});
afterAll(async () => {
  await stage?.stop();
});

const statusOf = async (id: string) => {
  const res = await stage.request(`/v1/messages/${id}`, { headers: { 'x-api-key': stage.local.apiKey } });
  return res.status === 200 ? (res.body as { status: string; failure: { kind: string } | null }) : undefined;
};
const until = (id: string, state: string) =>
  waitFor(`${id} ${state}`, async () => ((await statusOf(id))?.status === state ? statusOf(id) : undefined));

/** A probe request body of exactly `bytes` bytes. */
function bodyOf(mode: string, bytes: number): string {
  const frame = JSON.stringify(probe({ mode, padding: '' })).length;
  return JSON.stringify(probe({ mode, padding: 'x'.repeat(bytes - frame) }));
}

describe('large messages (local mode)', () => {
  it('accepts and processes a 900 KiB message', async () => {
    const res = await stage.post('/v1/messages', bodyOf('succeed', 900 * 1024));

    expect(res.status, res.text).toBe(202);
    await until(res.body.id as string, 'succeeded');
  });

  it('dead-letters a permanently failing message of the largest accepted size, with its failure attributes', async () => {
    const res = await stage.post('/v1/messages', bodyOf('fail-permanent', DEFAULT_MAX_BODY_BYTES));

    expect(res.status, res.text).toBe(202);
    const status = await until(res.body.id as string, 'failed');
    expect(status?.failure?.kind).toBe('permanent');
    const copy = (await drainView(stage.sqs, stage.queue('StandardDlq').url)).find(
      (m) => m.MessageAttributes?.['original-message-id']?.StringValue === res.body.messageId,
    );
    expect(copy?.MessageAttributes?.['failure-kind']?.StringValue).toBe('permanent');
    expect(Buffer.byteLength(copy!.Body!)).toBeGreaterThan(DEFAULT_MAX_BODY_BYTES);
  });

  it('answers 413 PayloadTooLarge one byte over the limit and enqueues nothing', async () => {
    await waitForIdle(stage);
    const before = consumerInvocations(stage.local, 'consumer').length;

    const res = await stage.post('/v1/messages', bodyOf('succeed', DEFAULT_MAX_BODY_BYTES + 1));

    expect(res.status, res.text).toBe(413);
    expect(res.body.error.code).toBe('PayloadTooLarge');
    await waitForIdle(stage);
    expect(await depth(stage.sqs, stage.queue('StandardQueue').url)).toBe(0);
    expect(consumerInvocations(stage.local, 'consumer')).toHaveLength(before);
  });
});
