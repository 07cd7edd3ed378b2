/**
 * Fair share between tenants (issue 17; docs/DESIGN.md §3 "Tenants", §6): a noisy tenant enqueues a large
 * backlog of slow jobs, then a quiet tenant sends a trickle; prints the quiet tenant's time from
 * 202 to `succeeded` (p50/p95, from its status rows: `updatedAt` of the `succeeded` write minus
 * `acceptedAt`) with the emulator's fair-queue preference on and off, in one run (local mode
 * started twice on the same assembly). The producer names the tenant in every standard send's
 * `MessageGroupId`; on AWS, SQS fair queues act on it; locally the patched emulator reproduces
 * their concurrency-share rule (test/local/fauxqs-fair.test.ts). Prints figures; asserts nothing.
 *
 * Rounds alternate (without, with, without, with…) so a machine whose load drifts weighs on both;
 * the summary is the median over rounds of each round's p50 and p95.
 *
 *   npm run bench:fairness [-- --backlog 1500 --trickle 10 --sleep-ms 1000 --every-ms 500 --rounds 2 --no-synth]
 */
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { BatchGetCommand, DynamoDBDocumentClient, type BatchGetCommandOutput } from '@aws-sdk/lib-dynamodb';
import { performance } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import { synthesize } from '../local';
import { STATUS_TABLE_KEYS, statusKey } from '../lambda/shared/status/keys';
import { BENCH_CDK_OUT } from '../tools/assembly';
import { startStage, waitFor, type LocalStage } from '../tools/local-stage';

const { values } = parseArgs({
  options: {
    backlog: { type: 'string', default: '1500' },
    trickle: { type: 'string', default: '10' },
    'sleep-ms': { type: 'string', default: '1000' },
    'every-ms': { type: 'string', default: '500' },
    rounds: { type: 'string', default: '2' },
    'no-synth': { type: 'boolean', default: false },
  },
});
const BACKLOG = Number(values.backlog);
const TRICKLE = Number(values.trickle);
const SLEEP_MS = Number(values['sleep-ms']);
const EVERY_MS = Number(values['every-ms']);
const ROUNDS = Number(values.rounds);
for (const [name, v] of Object.entries({ BACKLOG, TRICKLE, SLEEP_MS, EVERY_MS, ROUNDS })) {
  if (!Number.isInteger(v) || v < 1) {
    console.error(`error: --${name.toLowerCase().replace('_', '-')} must be a positive integer`);
    process.exit(2);
  }
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const percentile = (sorted: number[], p: number) =>
  sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]!;

interface Row {
  readonly status: string;
  readonly acceptedAt: string;
  readonly updatedAt: string;
}

/** One tenant's API calls with its own key (the local stage's apiKey mode). */
function tenantApi(stage: LocalStage, tenant: string) {
  const key = stage.local.auth.tenants[tenant]?.apiKey;
  if (!key)
    throw new Error(`no API key for tenant ${tenant} (the bench needs the local stage's apiKey mode)`);
  const call = async (route: string, init: RequestInit = {}) => {
    const res = await fetch(`${stage.local.apiUrl}${route}`, {
      ...init,
      headers: { 'content-type': 'application/json', 'x-api-key': key, ...init.headers },
    });
    return { status: res.status, body: (await res.json()) as Record<string, unknown> };
  };
  return {
    post: (body: unknown, route = '/v1/messages') =>
      call(route, { method: 'POST', body: JSON.stringify(body) }),
  };
}

/**
 * Milliseconds from 202 to `succeeded` of each of `ids`, once all have succeeded: their status
 * rows read straight from the status table (BatchGetItem, 100 ids a call, only those not yet
 * done), so following 1,500 messages does not load the API it measures.
 */
async function timesToSucceed(stage: LocalStage, ids: string[]): Promise<number[]> {
  const db = DynamoDBDocumentClient.from(
    new DynamoDBClient({
      endpoint: stage.local.env.dynamodbEndpoint,
      region: stage.local.region,
      credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
    }),
  );
  const table = Object.values(stage.local.env.tables)[0]!;
  const done = new Map<string, Row>();
  try {
    await waitFor(
      `${ids.length} messages succeeded`,
      async () => {
        const open = ids.filter((id) => !done.has(id));
        for (let i = 0; i < open.length; i += 100) {
          let keys: Record<string, unknown>[] | undefined = open
            .slice(i, i + 100)
            .map((id) => ({ [STATUS_TABLE_KEYS.partitionKey]: statusKey(id) }));
          while (keys?.length) {
            const out: BatchGetCommandOutput = await db.send(
              new BatchGetCommand({ RequestItems: { [table]: { Keys: keys } } }),
            );
            for (const row of (out.Responses?.[table] ?? []) as (Row & { id: string })[])
              if (row.status === 'succeeded') done.set(row.id, row);
            keys = out.UnprocessedKeys?.[table]?.Keys;
          }
        }
        return done.size === ids.length;
      },
      900_000,
      1_000,
    );
  } finally {
    db.destroy();
  }
  return ids
    .map((id) => done.get(id)!)
    .map((r) => Date.parse(r.updatedAt) - Date.parse(r.acceptedAt))
    .sort((a, b) => a - b);
}

async function run(fairQueues: boolean) {
  const stage = await startStage({ cdkOut: BENCH_CDK_OUT, fairQueues });
  try {
    const [noisyName, quietName] = Object.keys(stage.local.auth.tenants);
    if (!noisyName || !quietName) throw new Error('the local stage needs two tenants');
    const noisy = tenantApi(stage, noisyName);
    const quiet = tenantApi(stage, quietName);
    const job = { type: 'probe', payload: { mode: 'sleep', sleepMs: SLEEP_MS } };

    const started = performance.now();
    const noisyIds: string[] = [];
    for (let i = 0; i < BACKLOG; i += 10) {
      const n = Math.min(10, BACKLOG - i);
      const res = await noisy.post({ messages: Array.from({ length: n }, () => job) }, '/v1/messages/batch');
      if (res.status !== 202)
        throw new Error(`noisy batch answered ${res.status}: ${JSON.stringify(res.body)}`);
      for (const r of res.body.results as { id: string }[]) noisyIds.push(r.id);
    }
    const quietIds: string[] = [];
    for (let i = 0; i < TRICKLE; i++) {
      const res = await quiet.post(job);
      if (res.status !== 202)
        throw new Error(`quiet POST answered ${res.status}: ${JSON.stringify(res.body)}`);
      quietIds.push(res.body.id as string);
      await sleep(EVERY_MS);
    }
    const quietMs = await timesToSucceed(stage, quietIds);
    const noisyMs = await timesToSucceed(stage, noisyIds);
    return { quietMs, noisyMs, wallS: (performance.now() - started) / 1000 };
  } finally {
    await stage.stop();
  }
}

async function main() {
  if (!values['no-synth']) await synthesize('local', BENCH_CDK_OUT);
  console.error(
    `backlog ${BACKLOG} × sleep ${SLEEP_MS} ms from the noisy tenant, then ${TRICKLE} quiet messages every ${EVERY_MS} ms`,
  );
  const rounds: { label: string; r: Awaited<ReturnType<typeof run>> }[] = [];
  for (let round = 1; round <= ROUNDS; round++) {
    for (const fair of [false, true]) {
      const label = fair ? 'fair queues' : 'no fairness';
      console.error(`round ${round}, ${label}: running…`);
      rounds.push({ label, r: await run(fair) });
    }
  }
  console.log(
    '| round | emulator | quiet p50 (ms) | quiet p95 (ms) | quiet max (ms) | noisy p50 (ms) | noisy p95 (ms) | run (s) |',
  );
  console.log('|---:|---|---:|---:|---:|---:|---:|---:|');
  rounds.forEach(({ label, r }, i) => {
    console.log(
      `| ${Math.floor(i / 2) + 1} | ${label} | ${percentile(r.quietMs, 50)} | ${percentile(r.quietMs, 95)} | ${r.quietMs.at(-1)} | ${percentile(r.noisyMs, 50)} | ${percentile(r.noisyMs, 95)} | ${r.wallS.toFixed(1)} |`,
    );
  });
  const median = (xs: number[]) => {
    const s = [...xs].sort((a, b) => a - b);
    return s.length % 2 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
  };
  const of = (label: string, p: number) =>
    median(rounds.filter((x) => x.label === label).map((x) => percentile(x.r.quietMs, p)));
  for (const p of [50, 95]) {
    const off = of('no fairness', p);
    const on = of('fair queues', p);
    console.log(
      `quiet tenant p${p} (median of ${ROUNDS} rounds): ${off} ms without fairness, ${on} ms with fair queues (${(on / off).toFixed(2)}×)`,
    );
  }
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
