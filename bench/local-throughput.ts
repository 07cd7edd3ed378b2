/**
 * Local-mode throughput: N probe messages through the API → queue → consumer (standard queue, then
 * FIFO queue over many message groups), against baselines measured in the same run: the emulator
 * alone (SendMessageBatch + ReceiveMessage + DeleteMessageBatch of N messages through the SDK) and
 * a direct SendMessage at the API's concurrency (its p50 is the yardstick of the API p50). Also
 * prints where a POST's and a batch's milliseconds go (from the journal: the handler's own
 * duration vs the whole round trip). The POSTs come from a separate process
 * (`load-generator.mjs`), as real clients would, so the client's CPU does not land on local
 * mode's event loop. Prints figures; asserts nothing. Findings: bench/README.md.
 *
 *   npm run bench [-- --n 2000 --concurrency 32 --groups 200 --no-synth]
 */
import {
  CreateQueueCommand,
  DeleteMessageBatchCommand,
  PurgeQueueCommand,
  ReceiveMessageCommand,
  SendMessageBatchCommand,
  SendMessageCommand,
} from '@aws-sdk/client-sqs';
import { fork, type ChildProcess } from 'node:child_process';
import { availableParallelism } from 'node:os';
import * as path from 'node:path';
import { performance } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import { synthesize } from '../local';
import { BENCH_CDK_OUT } from '../tools/assembly';
import type { LocalHandle } from '../local';
import { startStage, waitFor, type LocalStage } from '../tools/local-stage';

const { values } = parseArgs({
  options: {
    n: { type: 'string', default: '2000' },
    concurrency: { type: 'string', default: '32' },
    groups: { type: 'string', default: '200' },
    /** Reuse the bench assembly of an earlier run (A/B runs of local mode's code). */
    'no-synth': { type: 'boolean', default: false },
    /** Local mode's sandboxes per function without reserved concurrency (`functionConcurrency`). */
    'function-concurrency': { type: 'string' },
  },
});
const N = Number(values.n);
const CONCURRENCY = Number(values.concurrency);
const GROUPS = Number(values.groups);
const CORES = availableParallelism();

const pct = (xs: number[], p: number) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))]!;
};

/** Runs `task(i)` for i < n, `concurrency` at a time; returns the wall time and each call's latency. */
async function closedLoop(n: number, concurrency: number, task: (i: number) => Promise<void>) {
  const latencies: number[] = [];
  let next = 0;
  const t = performance.now();
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < n) {
        const i = next++;
        const s = performance.now();
        await task(i);
        latencies.push(performance.now() - s);
      }
    }),
  );
  return { ms: performance.now() - t, latencies };
}

/** What the load generator answers for one closed-loop run of POSTs. */
type LoadResult = { ms: number; cpuMs: number; latencies: number[]; ids: string[] };

/** CPU time of this process so far (every thread: main, emulator, sandboxes), in ms. */
const cpuMs = () => {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1000;
};

/** Runs `n` POSTs, `CONCURRENCY` at a time, from the load-generator process. */
function postFromLoadGenerator(
  child: ChildProcess,
  stage: LocalStage,
  job: { n: number; label: string; groups: number; tagPrefix?: string },
): Promise<LoadResult> {
  return new Promise((resolve, reject) => {
    const onMessage = (msg: { type: string; message?: string } & Partial<LoadResult>) => {
      child.off('message', onMessage);
      if (msg.type === 'done') resolve(msg as LoadResult);
      else reject(new Error(`load generator: ${msg.message}`));
    };
    child.on('message', onMessage);
    child.send({
      type: 'run',
      apiUrl: stage.local.apiUrl,
      apiKey: stage.local.apiKey,
      concurrency: CONCURRENCY,
      ...job,
    });
  });
}

/** Ids of the messages some invocation of a function with this prefix processed successfully (one journal pass). */
function succeededIds(local: LocalHandle, prefix: string): Set<string> {
  const ok = new Set<string>();
  for (const inv of local.journal.list()) {
    if (!inv.function.startsWith(prefix)) continue;
    for (const id of inv.messageIds) if (!inv.batchItemFailures.includes(id)) ok.add(id);
  }
  return ok;
}

/** One POST per message through the API until every message was processed by the consumer. */
async function pipeline(stage: LocalStage, child: ChildProcess, label: string, fifo: boolean) {
  const before = stage.local.journal.length;
  const dynamoBefore = await stage.local.dynamodbRequests();
  const {
    ms,
    latencies,
    ids,
    cpuMs: clientCpuMs,
  } = await postFromLoadGenerator(child, stage, {
    n: N,
    label,
    groups: fifo ? GROUPS : 0,
  });
  const ingest = { ms, latencies };
  const consumer = fifo ? 'FifoConsumer' : 'Consumer';
  await waitFor(
    `every ${label} message processed`,
    () => {
      const ok = succeededIds(stage.local, consumer);
      return ids.every((id) => ok.has(id));
    },
    300_000,
    50,
  );
  const journal = stage.local.journal.list().slice(before);
  const invocations = journal.filter((i) => i.function.startsWith(consumer));
  const producer = journal.filter((i) => i.messageIds.length === 0).map((i) => i.durationMs);
  // DynamoDB requests per message, counted at the emulator boundary (status rows + idempotency).
  const dynamoAfter = await stage.local.dynamodbRequests();
  const delta = (op: string) => (dynamoAfter[op] ?? 0) - (dynamoBefore[op] ?? 0);
  const sum = (ops: string[]) => ops.reduce((n, op) => n + delta(op), 0);
  const dynamo = {
    writes: sum(['PutItem', 'UpdateItem', 'DeleteItem', 'BatchWriteItem']) / N,
    reads: sum(['GetItem', 'Query', 'Scan', 'BatchGetItem']) / N,
    byOp: Object.keys(dynamoAfter)
      .filter((op) => delta(op) > 0)
      .map((op) => `${op} ${(delta(op) / N).toFixed(2)}`)
      .join(', '),
  };
  return { ingest, invocations, producer, clientCpuMs, dynamo };
}

async function main() {
  let t = performance.now();
  if (!values['no-synth']) await synthesize('local', BENCH_CDK_OUT);
  const synthMs = performance.now() - t;
  t = performance.now();
  const stage = await startStage({
    cdkOut: BENCH_CDK_OUT,
    ...(values['function-concurrency']
      ? { functionConcurrency: Number(values['function-concurrency']) }
      : {}),
  });
  const startMs = performance.now() - t;
  console.error(`synth ${synthMs.toFixed(0)} ms, start to ready ${startMs.toFixed(0)} ms`);
  const child = fork(path.join(__dirname, 'load-generator.mjs'), [], { execArgv: [], stdio: 'inherit' });
  try {
    // Baseline: the emulator alone.
    const { QueueUrl } = await stage.sqs.send(new CreateQueueCommand({ QueueName: 'bench-baseline' }));
    let cpu = cpuMs();
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
    const baselineCpu = cpuMs() - cpu;
    cpu = cpuMs();

    // Direct SendMessage at the API's concurrency: the yardstick of the API p50.
    const direct = await closedLoop(N, CONCURRENCY, async (i) => {
      await stage.sqs.send(new SendMessageCommand({ QueueUrl, MessageBody: `{"direct":${i}}` }));
    });
    const directCpu = cpuMs() - cpu;
    await stage.sqs.send(new PurgeQueueCommand({ QueueUrl }));

    // Warm-up (cold starts of the producer's and consumers' sandboxes are not throughput).
    await postFromLoadGenerator(child, stage, {
      n: CONCURRENCY * 2,
      label: 'standard',
      groups: 0,
      tagPrefix: 'warm',
    });
    await postFromLoadGenerator(child, stage, {
      n: CONCURRENCY * 2,
      label: 'fifo',
      groups: CONCURRENCY * 2,
      tagPrefix: 'warm',
    });
    await new Promise((r) => setTimeout(r, 2000));

    const runs: {
      label: string;
      r: Awaited<ReturnType<typeof pipeline>> & { totalMs: number; cpuMs: number };
    }[] = [];
    for (const [label, fifo] of [
      ['standard', false],
      ['fifo', true],
    ] as const) {
      const c0 = cpuMs();
      const t0 = performance.now();
      const r = await pipeline(stage, child, label, fifo);
      runs.push({ label, r: { ...r, totalMs: performance.now() - t0, cpuMs: cpuMs() - c0 } });
      await new Promise((res) => setTimeout(res, 1000));
    }

    const rate = (ms: number) => (N / (ms / 1000)).toFixed(0);
    const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / Math.max(1, xs.length);
    const directP50 = pct(direct.latencies, 50);
    console.log(
      `local-mode throughput, N=${N}, API concurrency ${CONCURRENCY}, FIFO groups ${GROUPS}, Node ${process.version}`,
    );
    console.log(`  synth                          ${(synthMs / 1000).toFixed(1)} s`);
    console.log(`  start to ready (no synth)      ${startMs.toFixed(0)} ms`);
    const perMsg = (ms: number) => (ms / N).toFixed(2);
    console.log(
      `  baseline: emulator alone       ${rate(baselineMs)} msg/s (send+receive+delete, ${baselineMs.toFixed(0)} ms; CPU ${perMsg(baselineCpu)} ms/msg)`,
    );
    console.log(
      `  direct SendMessage             ${rate(direct.ms)} msg/s, p50 ${directP50.toFixed(1)} ms (${CONCURRENCY} concurrent; CPU ${perMsg(directCpu)} ms/msg)`,
    );
    for (const { label, r } of runs) {
      const p50 = pct(r.ingest.latencies, 50);
      const sizes = r.invocations.map((i) => i.messageIds.length);
      console.log(`  ${label}:`);
      console.log(
        `    API ingest (202s)            ${rate(r.ingest.ms)} msg/s (${r.ingest.ms.toFixed(0)} ms)`,
      );
      console.log(`    end to end (POST → processed) ${rate(r.totalMs)} msg/s (${r.totalMs.toFixed(0)} ms)`);
      console.log(`    ratio end-to-end / baseline  ${(baselineMs / r.totalMs).toFixed(2)}`);
      console.log(
        `    API latency p50 / p95 / p99  ${p50.toFixed(1)} / ${pct(r.ingest.latencies, 95).toFixed(1)} / ${pct(r.ingest.latencies, 99).toFixed(1)} ms (${(p50 / directP50).toFixed(1)}× direct SendMessage p50)`,
      );
      console.log(
        `    producer handler p50         ${pct(r.producer, 50).toFixed(1)} ms of the POST's ${p50.toFixed(1)} (rest: waiting for a free sandbox, API server, hop)`,
      );
      console.log(
        `    CPU per message              ${perMsg(r.cpuMs)} ms in local mode's process + ${perMsg(r.clientCpuMs)} ms in the client → CPU-bound ceiling ${((CORES * 1000 * N) / (r.cpuMs + r.clientCpuMs)).toFixed(0)} msg/s on ${CORES} cores`,
      );
      console.log(
        `    DynamoDB per message         ${r.dynamo.writes.toFixed(2)} writes + ${r.dynamo.reads.toFixed(2)} reads (${r.dynamo.byOp})`,
      );
      console.log(
        `    consumer invocations         ${r.invocations.length} (mean batch ${mean(sizes).toFixed(1)}, mean duration ${mean(r.invocations.map((i) => i.durationMs)).toFixed(1)} ms)`,
      );
    }
  } finally {
    child.disconnect();
    await stage.stop();
  }
}

main().catch((error) => {
  console.error(`error: ${(error as Error).message}`);
  process.exit(1);
});
