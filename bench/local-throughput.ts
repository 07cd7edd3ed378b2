/**
 * Local-mode throughput: 2,000 probe messages through the API → queue → consumer, against a
 * baseline measured in the same run (the emulator alone: SendMessageBatch + ReceiveMessage +
 * DeleteMessageBatch of 2,000 messages through the SDK). Prints figures; asserts nothing.
 *
 *   npm run bench [-- --n 2000 --concurrency 32]
 */
import {
  CreateQueueCommand,
  DeleteMessageBatchCommand,
  ReceiveMessageCommand,
  SendMessageBatchCommand,
} from '@aws-sdk/client-sqs';
import { performance } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import { synthesize } from '../local';
import { BENCH_CDK_OUT } from '../tools/assembly';
import { attemptsOf, startStage, waitFor } from '../tools/local-stage';

const { values } = parseArgs({
  options: { n: { type: 'string', default: '2000' }, concurrency: { type: 'string', default: '32' } },
});
const N = Number(values.n);
const CONCURRENCY = Number(values.concurrency);

const pct = (xs: number[], p: number) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))]!;
};

async function main() {
  let t = performance.now();
  await synthesize('local', BENCH_CDK_OUT);
  const synthMs = performance.now() - t;
  t = performance.now();
  const stage = await startStage({ cdkOut: BENCH_CDK_OUT });
  const startMs = performance.now() - t;
  console.error(`synth ${synthMs.toFixed(0)} ms, start to ready ${startMs.toFixed(0)} ms`);
  try {
    // Baseline: the emulator alone.
    const { QueueUrl } = await stage.sqs.send(new CreateQueueCommand({ QueueName: 'bench-baseline' }));
    t = performance.now();
    for (let i = 0; i < N; i += 10) {
      await stage.sqs.send(
        new SendMessageBatchCommand({
          QueueUrl,
          Entries: Array.from({ length: Math.min(10, N - i) }, (_, j) => ({
            Id: String(j),
            MessageBody: `{"i":${i + j}}`,
          })),
        }),
      );
    }
    let got = 0;
    while (got < N) {
      const r = await stage.sqs.send(
        new ReceiveMessageCommand({ QueueUrl, MaxNumberOfMessages: 10, WaitTimeSeconds: 1 }),
      );
      const ms = r.Messages ?? [];
      got += ms.length;
      if (ms.length) {
        await stage.sqs.send(
          new DeleteMessageBatchCommand({
            QueueUrl,
            Entries: ms.map((m, j) => ({ Id: String(j), ReceiptHandle: m.ReceiptHandle! })),
          }),
        );
      }
    }
    const baselineMs = performance.now() - t;

    // Pipeline: one POST per message, CONCURRENCY at a time, until every message was processed.
    const ids: string[] = [];
    const latencies: number[] = [];
    let next = 0;
    const dynamoBefore = await stage.local.dynamodbRequests();
    t = performance.now();
    await Promise.all(
      Array.from({ length: CONCURRENCY }, async () => {
        while (next < N) {
          const i = next++;
          const s = performance.now();
          const res = await stage.post('/v1/messages', {
            type: 'probe',
            payload: { mode: 'succeed', tag: `bench-${i}` },
          });
          latencies.push(performance.now() - s);
          if (res.status !== 202) throw new Error(`POST answered ${res.status}: ${res.text}`);
          ids.push(res.body.messageId);
        }
      }),
    );
    const ingestMs = performance.now() - t;
    await waitFor(
      'every message processed',
      () => ids.every((id) => attemptsOf(stage.local, id).succeeded > 0),
      300_000,
      50,
    );
    const totalMs = performance.now() - t;
    // DynamoDB requests per message, counted at the emulator boundary (status rows + idempotency).
    const dynamoAfter = await stage.local.dynamodbRequests();
    const delta = (op: string) => (dynamoAfter[op] ?? 0) - (dynamoBefore[op] ?? 0);
    const writes = ['PutItem', 'UpdateItem', 'DeleteItem', 'BatchWriteItem'].reduce(
      (n, op) => n + delta(op),
      0,
    );
    const reads = ['GetItem', 'Query', 'Scan', 'BatchGetItem'].reduce((n, op) => n + delta(op), 0);
    const byOp = Object.keys(dynamoAfter)
      .filter((op) => delta(op) > 0)
      .map((op) => `${op} ${(delta(op) / N).toFixed(2)}`)
      .join(', ');
    const invocations = stage.local.journal.list().filter((i) => i.function.startsWith('Consumer'));
    const batchSizes = invocations.map((i) => i.messageIds.length);

    const rate = (ms: number) => (N / (ms / 1000)).toFixed(0);
    console.log(`local-mode throughput, N=${N}, API concurrency ${CONCURRENCY}, Node ${process.version}`);
    console.log(`  synth                          ${(synthMs / 1000).toFixed(1)} s`);
    console.log(`  start to ready (no synth)      ${startMs.toFixed(0)} ms`);
    console.log(
      `  baseline: emulator alone       ${rate(baselineMs)} msg/s (send+receive+delete, ${baselineMs.toFixed(0)} ms)`,
    );
    console.log(`  API ingest (202s)              ${rate(ingestMs)} msg/s (${ingestMs.toFixed(0)} ms)`);
    console.log(`  end to end (POST → processed)  ${rate(totalMs)} msg/s (${totalMs.toFixed(0)} ms)`);
    console.log(`  ratio end-to-end / baseline    ${(baselineMs / totalMs).toFixed(2)}`);
    console.log(
      `  API latency p50 / p95 / p99    ${pct(latencies, 50).toFixed(1)} / ${pct(latencies, 95).toFixed(1)} / ${pct(latencies, 99).toFixed(1)} ms`,
    );
    console.log(
      `  DynamoDB per message           ${(writes / N).toFixed(2)} writes + ${(reads / N).toFixed(2)} reads (${byOp})`,
    );
    console.log(
      `  consumer invocations           ${invocations.length} (mean batch ${(batchSizes.reduce((a, b) => a + b, 0) / Math.max(1, batchSizes.length)).toFixed(1)})`,
    );
  } finally {
    await stage.stop();
  }
}

main().catch((error) => {
  console.error(`error: ${(error as Error).message}`);
  process.exit(1);
});
