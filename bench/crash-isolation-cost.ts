/**
 * What crash isolation costs in SQS requests, counted at the network boundary between the real
 * bundles and the emulator (`tools/fault-proxy.ts` with no fault): the consumers' own requests per
 * message (the event source mapping's receives and deletes are Lambda's, not counted), first for
 * batches without failures (the happy path, which must not change), then for batches with
 * crashing records among good ones. Prints figures; asserts nothing.
 *
 *   npm run bench:crash-isolation [-- --n 400 --crashes 4 --cdk-out <assembly>]
 *
 * `--cdk-out` runs an assembly synthesized elsewhere (e.g. from the code before crash isolation).
 */
import { parseArgs } from 'node:util';
import { synthesize } from '../local';
import { BENCH_CDK_OUT } from '../tools/assembly';
import { FaultProxy } from '../tools/fault-proxy';
import { attemptsOf, depth, startStage, waitFor, type LocalStage } from '../tools/local-stage';

const { values } = parseArgs({
  options: {
    n: { type: 'string', default: '400' },
    crashes: { type: 'string', default: '4' },
    'cdk-out': { type: 'string' },
  },
});
const N = Number(values.n);
const CRASHES = Number(values.crashes);

type Counts = Record<string, number>;
const consumerOps = (c: Counts) =>
  Object.fromEntries(
    Object.entries(c).filter(([op]) => op.startsWith('sqs:') && op !== 'sqs:SendMessageBatch'),
  );
const diff = (a: Counts, b: Counts): Counts =>
  Object.fromEntries(
    [...new Set([...Object.keys(a), ...Object.keys(b)])]
      .map((k) => [k, (a[k] ?? 0) - (b[k] ?? 0)] as const)
      .filter(([, v]) => v !== 0),
  );

async function send(stage: LocalStage, payloads: { mode: string; key?: string }[]): Promise<string[]> {
  const ids: string[] = [];
  for (let i = 0; i < payloads.length; i += 10) {
    const messages = payloads.slice(i, i + 10).map((p, j) => ({
      type: 'probe',
      payload: { mode: p.mode, tag: `cost-${i + j}` },
      ...(p.key ? { orderingKey: p.key } : {}),
    }));
    const res = await stage.post('/v1/messages/batch', { messages });
    if (res.status !== 202) throw new Error(`batch answered ${res.status}: ${res.text}`);
    ids.push(...(res.body.results as { messageId: string }[]).map((r) => r.messageId));
  }
  return ids;
}

/** Waits until the good messages were processed (phase 1) and the source queues stay empty. */
async function settle(stage: LocalStage, good: string[], allProcessed: boolean): Promise<void> {
  if (allProcessed)
    await waitFor(
      'every message processed',
      () => good.every((id) => attemptsOf(stage.local, id).succeeded > 0),
      600_000,
      200,
    );
  let quiet = 0;
  await waitFor(
    'the source queues empty',
    async () => {
      const depths = await Promise.all(
        ['StandardQueue', 'FifoQueue'].map((q) => depth(stage.sqs, stage.queue(q).url)),
      );
      quiet = depths.every((d) => d === 0) ? quiet + 1 : 0;
      return quiet >= 3;
    },
    600_000,
    1000,
  );
}

async function main() {
  const cdkOut = values['cdk-out'] ?? BENCH_CDK_OUT;
  if (!values['cdk-out']) await synthesize('local', cdkOut);
  let proxy!: FaultProxy;
  const stage = await startStage({
    cdkOut,
    frontEndpoint: async (emulator) => {
      proxy = new FaultProxy(emulator);
      return proxy.start(0);
    },
  });
  try {
    const per = (c: Counts, n: number) =>
      Object.entries(consumerOps(c))
        .map(([op, v]) => `${op.slice(4)} ${(v / n).toFixed(3)}`)
        .join(', ') || 'none';
    // Phase 1: no failures. The producer's SendMessageBatch calls are left out of the figures.
    let before = { ...proxy.stats.forwarded };
    const happy = [
      ...Array.from({ length: N / 2 }, () => ({ mode: 'succeed' })),
      ...Array.from({ length: N / 2 }, (_, i) => ({ mode: 'succeed', key: `cost-${i % 8}` })),
    ];
    await settle(stage, await send(stage, happy), true);
    const happyCounts = diff(proxy.stats.forwarded, before);
    console.log(`crash-isolation cost, assembly ${cdkOut}, Node ${process.version}`);
    console.log(
      `  happy path, ${N} messages (half FIFO): consumer SQS requests per message: ${per(happyCounts, N)}`,
    );

    // Phase 2: CRASHES crashing records per queue among good ones.
    before = { ...proxy.stats.forwarded };
    const mixed: { mode: string; key?: string }[] = [];
    for (let i = 0; i < N; i++) {
      const fifo = i % 2 === 1;
      const crash =
        i % Math.floor(N / (2 * CRASHES)) === (fifo ? 1 : 0) &&
        mixed.filter((m) => m.mode === 'crash' && !!m.key === fifo).length < CRASHES;
      mixed.push({ mode: crash ? 'crash' : 'succeed', ...(fifo ? { key: `cost-m-${i % 16}` } : {}) });
    }
    const ids = await send(stage, mixed);
    const good = ids.filter((_, i) => mixed[i]!.mode !== 'crash');
    await settle(stage, good, false);
    const mixedCounts = diff(proxy.stats.forwarded, before);
    console.log(
      `  with ${2 * CRASHES} crashing records among ${N}: consumer SQS requests per message: ${per(mixedCounts, N)}`,
    );
  } finally {
    await stage.stop();
    await proxy?.stop();
  }
}

main().catch((error) => {
  console.error(`error: ${(error as Error).message}`);
  process.exit(1);
});
