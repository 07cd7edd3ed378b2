import { GetObjectCommand, ListObjectsV2Command, NoSuchKey, S3Client } from '@aws-sdk/client-s3';
import {
  ChangeMessageVisibilityBatchCommand,
  DeleteMessageCommand,
  GetQueueAttributesCommand,
  ReceiveMessageCommand,
  SendMessageCommand,
  SQSClient,
} from '@aws-sdk/client-sqs';
import { mockClient } from 'aws-sdk-client-mock';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeEach, describe, expect, it } from 'vitest';
import { COMMANDS } from '../../ops/commands';
import { runCli, type Io } from '../../ops/lib/cli';
import type { QueuePair, QueueRef, Target } from '../../ops/lib/target';

// docs/OPERATIONS.md shows what the commands print: each example's table header is the one the
// command prints now, and the page no longer says the status API is missing.

const DOC = readFileSync(join(__dirname, '..', '..', 'docs', 'OPERATIONS.md'), 'utf8');

/** The output lines the page shows under `$ npm run -s ops -- <command …>`, for each example. */
function examples(): { command: string; output: string[] }[] {
  const out: { command: string; output: string[] }[] = [];
  for (const block of DOC.matchAll(/```console\n([\s\S]*?)```/g)) {
    let current: { command: string; output: string[] } | undefined;
    for (const line of block[1]!.split('\n')) {
      const m = /^\$ npm run -s ops -- (.*?)(\s+#.*)?$/.exec(line);
      if (m) out.push((current = { command: m[1]!.trim(), output: [] }));
      else current?.output.push(line);
    }
  }
  return out;
}
const columns = (line: string) => line.trim().split(/\s{2,}/);
/** A table's header line (the tables of status, dlq list, dlq redrive, replay, archive list). */
const isHeader = (line: string) => /^(lane|alarm|archived at)\s{2,}/.test(line);

const REGION = 'eu-west-1';
const ref = (name: string): QueueRef => ({
  url: `https://sqs.${REGION}.amazonaws.com/123456789012/${name}`,
  arn: `arn:aws:sqs:${REGION}:123456789012:${name}`,
  name,
  fifo: false,
});
const STANDARD: QueuePair = { key: 'standard', source: ref('std-queue'), dlq: ref('std-dlq') };
const sqs = new SQSClient({ region: REGION });
const s3 = new S3Client({ region: REGION });
const sqsMock = mockClient(sqs);
const s3Mock = mockClient(s3);
afterAll(() => {
  sqsMock.restore();
  s3Mock.restore();
});
const target: Target = {
  kind: 'local',
  name: 'local',
  region: REGION,
  queues: [STANDARD],
  bucket: 'archive',
  apiUrl: 'http://127.0.0.1:3000',
  sqs,
  s3,
  moveTasks: false,
  alarms: async () => [
    {
      name: 'StandardDlqDepthAlarm',
      state: 'ALARM',
      reason: 'Threshold crossed',
      since: null,
      updatedAt: null,
    },
  ],
  oldestAges: async () => new Map(),
  messageStatus: async () => undefined,
  close: () => undefined,
};
const envelopeId = '00000000-0000-4000-8000-000000000001';
const record = {
  v: 1,
  messageId: 'm-1',
  queue: { name: 'std-queue', arn: STANDARD.source.arn },
  body: JSON.stringify({
    v: 1,
    id: envelopeId,
    type: 'probe',
    payload: {},
    createdAt: '2026-11-22T10:00:00.000Z',
  }),
  attributes: {},
  messageAttributes: {},
  receiveCount: 3,
  sentAt: null,
  firstReceivedAt: null,
  archivedAt: '2026-11-22T10:00:05.000Z',
  failure: { kind: 'exhausted', errorName: 'E', errorMessage: 'm' },
};
beforeEach(() => {
  sqsMock.reset();
  s3Mock.reset();
  sqsMock.on(GetQueueAttributesCommand).resolves({ Attributes: { ApproximateNumberOfMessages: '1' } });
  sqsMock
    .on(ReceiveMessageCommand)
    .resolvesOnce({
      Messages: [
        {
          MessageId: 'm-1',
          ReceiptHandle: 'rh-1',
          Body: record.body,
          Attributes: { SentTimestamp: '1795000000000', ApproximateReceiveCount: '3' },
          MessageAttributes: { 'failure-kind': { DataType: 'String', StringValue: 'exhausted' } },
        },
      ],
    })
    .resolves({ Messages: [] });
  sqsMock.on(ChangeMessageVisibilityBatchCommand).resolves({});
  sqsMock.on(SendMessageCommand).resolves({ MessageId: 'new-1' });
  sqsMock.on(DeleteMessageCommand).resolves({});
  s3Mock.on(ListObjectsV2Command).resolves({ Contents: [{ Key: 'failed/std-queue/2026/11/22/m-1.json' }] });
  s3Mock.on(GetObjectCommand).callsFake(async (input: { Key: string }) => {
    if (input.Key !== 'failed/std-queue/2026/11/22/m-1.json')
      throw new NoSuchKey({ message: 'no such key', $metadata: { httpStatusCode: 404 } });
    return { Body: { transformToString: async () => JSON.stringify(record) } };
  });
});

async function printed(command: string): Promise<string[]> {
  const out = { stdout: '' };
  const io: Io = { stdout: (t) => (out.stdout += t), stderr: () => undefined, isTTY: false, cwd: '/nowhere' };
  // The page's ids name its own run: the same command here with this stage's message.
  const argv = command.replace(/--ids \S+/, `--ids ${envelopeId}`).split(/\s+/);
  await runCli(argv, io, COMMANDS, { local: async () => target });
  return out.stdout.split('\n');
}

describe('docs/OPERATIONS.md', () => {
  it('says the status API exists: smoke follows the probes through it on AWS', () => {
    expect(DOC).not.toMatch(/does\s+not\s+exist\s+yet/);
    expect(DOC).not.toMatch(/endpoint answers `404`/);
    expect(DOC).toMatch(/GET \/v1\/messages\/\{id\}/);
  });

  it('shows examples of the table commands', () => {
    const shown = new Set(examples().map((e) => e.command.split(' --')[0]));
    for (const c of ['status', 'dlq list', 'dlq redrive', 'replay', 'smoke']) expect(shown).toContain(c);
  });

  it.each(
    examples()
      .filter((e) => /^(status|dlq list|dlq redrive|replay)\b/.test(e.command) && e.output.some(isHeader))
      .map((e) => [e.command, e.output] as const),
  )('shows the header `%s` prints now', async (command, output) => {
    // Act
    const lines = await printed(command);

    // Assess: every table header the page shows is one the command prints.
    const headers = lines.filter(isHeader).map(columns);
    const shownHeaders = output.filter(isHeader).map(columns);
    expect(shownHeaders.length).toBeGreaterThan(0);
    for (const h of shownHeaders) expect(headers).toContainEqual(h);
  });

  it("shows smoke's table header and its cleanup line as smoke prints them", () => {
    const smoke = examples().find((e) => e.command === 'smoke')!;

    expect(columns(smoke.output[0]!)).toEqual(['probe', 'expected', 'result', 'detail', 'message ids']);
    expect(smoke.output).toContainEqual(
      expect.stringMatching(
        /^removed the dead-lettered fail-permanent probe \S+ from \S+; its archive record stays \(failed\/\S+\.json, tag smoke-[0-9a-f]{8}\)$/,
      ),
    );
  });
});
