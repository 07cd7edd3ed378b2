import { DeleteObjectsCommand, ListObjectsV2Command } from '@aws-sdk/client-s3';
import { PurgeQueueCommand, SendMessageCommand } from '@aws-sdk/client-sqs';
import { randomUUID } from 'node:crypto';
import { createEnvelope } from '../../lambda/shared/envelope';
import { localTarget, type Target } from '../../ops/lib/target';
import { FaultProxy } from '../../tools/fault-proxy';
import { startStage, type LocalStage } from '../../tools/local-stage';

/** A local stage for the ops tool's tests: a fault proxy in front of the emulator, and two targets. */
export interface OpsStage {
  readonly stage: LocalStage;
  readonly proxy: FaultProxy;
  /** The tool's target, straight to the emulator. */
  readonly target: Target;
  /** The tool's target through the fault proxy, one attempt per SDK call (an injected fault is a failure). */
  readonly faulty: Target;
  stop(): Promise<void>;
}

/** Starts a local stage (ephemeral ports, env file at `envFile` or none) with the ops targets. */
export async function startOpsStage(envFile: string | null = null): Promise<OpsStage> {
  let proxy!: FaultProxy;
  let proxyUrl = '';
  const stage = await startStage({
    envFile,
    frontEndpoint: async (emulator: string) => {
      proxy = new FaultProxy(emulator);
      proxyUrl = await proxy.start(0);
      return proxyUrl;
    },
  });
  const target = await localTarget(stage.local.env, { endpoint: stage.local.awsEndpoint });
  const faulty = await localTarget(stage.local.env, { endpoint: proxyUrl, maxAttempts: 1 });
  return {
    stage,
    proxy,
    target,
    faulty,
    async stop() {
      target.close();
      faulty.close();
      await stage.stop();
      await proxy.stop();
    },
  };
}

/** Empties every queue and the archive bucket, so a test starts from nothing. */
export async function resetStage(s: LocalStage): Promise<void> {
  for (const id of ['StandardQueue', 'StandardDlq', 'FifoQueue', 'FifoDlq'])
    await s.sqs.send(new PurgeQueueCommand({ QueueUrl: s.queue(id).url }));
  const bucket = s.bucket();
  for (;;) {
    const page = await s.s3.send(new ListObjectsV2Command({ Bucket: bucket }));
    const keys = (page.Contents ?? []).map((o) => ({ Key: o.Key! }));
    if (!keys.length) break;
    await s.s3.send(new DeleteObjectsCommand({ Bucket: bucket, Delete: { Objects: keys } }));
  }
}

/**
 * Puts a probe envelope straight into a DLQ, as the redrive policy leaves one there (no archive
 * record, no failure attributes); returns its message id and envelope id.
 */
export async function putInDlq(
  s: LocalStage,
  dlq: 'StandardDlq' | 'FifoDlq',
  payload: Record<string, unknown>,
  groupId?: string,
): Promise<{ messageId: string; envelopeId: string }> {
  const envelope = createEnvelope({ type: 'probe', payload, correlationId: `test-${randomUUID()}` });
  const out = await s.sqs.send(
    new SendMessageCommand({
      QueueUrl: s.queue(dlq).url,
      MessageBody: JSON.stringify(envelope),
      MessageAttributes: { type: { DataType: 'String', StringValue: 'probe' } },
      ...(dlq === 'FifoDlq' ? { MessageGroupId: groupId ?? 'g', MessageDeduplicationId: randomUUID() } : {}),
    }),
  );
  return { messageId: out.MessageId!, envelopeId: envelope.id };
}
