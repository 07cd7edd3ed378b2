import { writeFileSync } from 'node:fs';
import {
  DeleteMessageBatchCommand,
  ReceiveMessageCommand,
  type Message,
  type SQSClient,
} from '@aws-sdk/client-sqs';
import type { LocalHandle } from '../local';
import { FaultProxy, type FaultRule } from './fault-proxy';
import { archiveRecords, depth, startStage, waitFor, type LocalStage } from './local-stage';
import { mulberry32, weighted } from './prng';
import { startProbeWitness, type ProbeWitness } from './probe-witness';

/** Probe behaviours a fault run draws from. `retry` = `succeed` after 1–2 retryable failures. */
export const RUN_MODES = [
  'succeed',
  'retry',
  'sleep',
  'fail-permanent',
  'fail-always',
  'timeout',
  'crash',
] as const;
/** One of {@link RUN_MODES}. */
export type RunMode = (typeof RUN_MODES)[number];

/** Default mix of modes (weights). */
export const DEFAULT_MIX: Record<RunMode, number> = {
  succeed: 50,
  retry: 14,
  sleep: 14,
  'fail-permanent': 8,
  'fail-always': 6,
  timeout: 4,
  crash: 4,
};

/** Options of {@link runFaultSuite}. */
export interface FaultRunOptions {
  /** Messages to send. */
  readonly n: number;
  readonly seed: number;
  /** Inject infrastructure faults (S3 refusing writes, SQS refusing sends, slow responses). @default true */
  readonly faults?: boolean;
  /** Distinct FIFO ordering keys. @default max(12, n / 50) */
  readonly keys?: number;
  /** Parallel HTTP senders. @default 16 */
  readonly concurrency?: number;
  readonly mix?: Record<RunMode, number>;
  /** Progress lines (to stderr). */
  readonly progress?: (line: string) => void;
  /**
   * Function logs (to stdout). With the default, local mode logs JSON into the probe witness
   * (`./probe-witness.ts`), which counts the handlers' real successes and prints nothing.
   * @default the witness
   */
  readonly logs?: 'json' | 'pretty' | 'silent';
  /** Cloud assembly to run. @default the test assembly (cdk.out.test) */
  readonly cdkOut?: string;
  /** Give up waiting for the pipeline to settle after this long. @default 30 min */
  readonly settleTimeoutMs?: number;
}

/** What a fault run found. `lost` and `orderViolations` must be 0. */
export interface FaultRunReport {
  n: number;
  seed: number;
  accepted: number;
  /** 503 answers (not accepted; retried by the sender with the same Idempotency-Key). */
  refused503: number;
  /** Sends that never got a 202 after all retries (not accepted: not counted as lost). */
  notAccepted: number;
  processed: number;
  deadLettered: number;
  archived: number;
  /** Accepted, but neither processed nor in a DLQ with an archive record. */
  lost: number;
  /** Of those: in a DLQ but with no archive record. */
  dlqUnarchived: number;
  /** Messages delivered and acknowledged more than once (at-least-once redeliveries). */
  duplicates: number;
  /**
   * Processed messages whose handler ran again after it had succeeded (status `attempts` above
   * the failed deliveries + 1); the consumers' idempotency should keep this at 0.
   */
  duplicateRuns: number;
  /** Processed messages whose status (GET /v1/messages/{id}) is not `succeeded`. */
  statusNotSucceeded: number;
  /** FIFO: a later message of a key processed before an earlier one. */
  orderViolations: number;
  /** Good messages (succeed/retry/sleep) that ended in a DLQ: a crash-isolation or attempt-budget miss. */
  goodDeadLettered: number;
  /** Of those: sent to the FIFO queue. */
  goodDeadLetteredFifo: number;
  /**
   * Good messages whose handler succeeded more than once (probe witness; `null` when logs were
   * not witnessed), and of those the ones that had been in a crashed or timed-out invocation.
   */
  successesRerun: number | null;
  successesRerunAfterCrash: number | null;
  /** Good messages that had been in a crashed or timed-out invocation (witness or not). */
  goodInCrashedBatches: number;
  /** Failing modes that were processed instead of dead-lettered (should be 0). */
  badProcessed: number;
  byMode: Record<string, { sent: number; processed: number; deadLettered: number }>;
  faultsInjected: Record<string, number>;
  wallMs: number;
}

interface Sent {
  readonly index: number;
  readonly mode: RunMode;
  readonly key?: string;
  messageId?: string;
  /** The envelope id (the 202's `id`). */
  id?: string;
}

function payloadOf(mode: RunMode, random: () => number, tag: string): Record<string, unknown> {
  switch (mode) {
    case 'retry':
      return { mode: 'succeed', failTimes: 1 + Math.floor(random() * 2), tag };
    case 'sleep':
      return { mode: 'sleep', sleepMs: 20 + Math.floor(random() * 380), tag };
    default:
      return { mode, tag };
  }
}

async function pool<T>(
  items: readonly T[],
  concurrency: number,
  work: (item: T) => Promise<void>,
): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(concurrency, items.length) }, async () => {
      while (next < items.length) await work(items[next++]!);
    }),
  );
}

/**
 * Sends `n` probe messages through local mode's HTTP API (mixed standard and FIFO over several
 * ordering keys, modes drawn with a seeded PRNG), optionally injects infrastructure faults at the
 * network boundary, waits for the pipeline to settle, and accounts for every accepted message.
 */
export async function runFaultSuite(options: FaultRunOptions): Promise<FaultRunReport> {
  const started = Date.now();
  const log = options.progress ?? (() => {});
  const random = mulberry32(options.seed);
  // One key per ~50 messages (at least 12): a FIFO group is processed one message at a time.
  const keys = Array.from(
    { length: options.keys ?? Math.max(12, Math.ceil(options.n / 50)) },
    (_, i) => `key-${i}`,
  );
  const mix = options.mix ?? DEFAULT_MIX;
  const faults = options.faults ?? true;

  let proxy: FaultProxy | undefined;
  const witness: ProbeWitness | undefined = options.logs ? undefined : startProbeWitness();
  const stage: LocalStage = await startStage({
    ...(options.cdkOut ? { cdkOut: options.cdkOut } : {}),
    logs: options.logs ?? 'json',
    frontEndpoint: async (emulator: string) => {
      proxy = new FaultProxy(emulator);
      return proxy.start(0);
    },
  });
  const local: LocalHandle = stage.local;
  try {
    const plan: Sent[] = Array.from({ length: options.n }, (_, index) => {
      const mode = weighted(random, mix);
      const fifo = random() < 0.5;
      return { index, mode, key: fifo ? keys[Math.floor(random() * keys.length)] : undefined };
    });
    const payloads = plan.map((p) => payloadOf(p.mode, random, `run-${options.seed}-${p.index}`));

    let refused503 = 0;
    const send = async (p: Sent) => {
      const body = { type: 'probe', payload: payloads[p.index], ...(p.key ? { orderingKey: p.key } : {}) };
      const idem = { 'Idempotency-Key': `run-${options.seed}-${p.index}` };
      for (let attempt = 0; attempt < 8; attempt++) {
        const res = await stage.post('/v1/messages', body, idem);
        if (res.status === 202) {
          p.messageId = res.body.messageId;
          p.id = res.body.id;
          armFaults();
          return;
        }
        if (res.status !== 503)
          throw new Error(`unexpected ${res.status} for message ${p.index}: ${res.text}`);
        refused503++;
        await new Promise((r) => setTimeout(r, 100 * 2 ** attempt));
      }
    };

    // Faults on a timeline while sending and processing.
    const timers: NodeJS.Timeout[] = [];
    const window = (at: number, rule: FaultRule, forMs: number) => {
      timers.push(
        setTimeout(() => {
          const remove = proxy!.inject(rule);
          log(`fault on: ${rule.kind} ${rule.match} for ${forMs} ms`);
          timers.push(setTimeout(remove, forMs));
        }, at),
      );
    };
    // The timeline starts with the first accepted message, not with the call: on a loaded machine
    // the producer's cold starts can outlast the first windows, which then inject nothing.
    let armed = false;
    const armFaults = () => {
      if (armed || !faults) return;
      armed = true;
      window(500, { match: 'sqs:SendMessage', kind: 'error', status: 503, times: 15 }, 4000);
      window(1500, { match: 's3:PutObject', kind: 'error', status: 503 }, 6000);
      window(3000, { match: 'sqs:ReceiveMessage', kind: 'delay', delayMs: 300 }, 4000);
      window(8000, { match: 'sqs:SendMessage', kind: 'error', status: 500, times: 10 }, 3000);
      window(9000, { match: 'sqs:ChangeMessageVisibility', kind: 'error', status: 503, times: 10 }, 3000);
    };

    // FIFO keys are sent one message at a time per key (that defines "send order"); standard in parallel.
    const byKey = new Map<string, Sent[]>();
    const standard: Sent[] = [];
    for (const p of plan) {
      if (p.key) byKey.set(p.key, [...(byKey.get(p.key) ?? []), p]);
      else standard.push(p);
    }
    const concurrency = options.concurrency ?? 16;
    await Promise.all([
      pool(standard, Math.max(1, concurrency - byKey.size), send),
      ...[...byKey.values()].map(async (list) => {
        for (const p of list) await send(p);
      }),
    ]);
    const accepted = plan.filter((p) => p.messageId);
    log(`sent ${plan.length}: accepted ${accepted.length}, 503s ${refused503} (${Date.now() - started} ms)`);

    // Let the pipeline settle: source queues empty for a few seconds in a row.
    const sources = ['StandardQueue', 'FifoQueue'].map((q) => stage.queue(q).url);
    let quietSince = 0;
    let lastProgress = Date.now();
    await waitFor(
      'source queues to drain',
      async () => {
        const d = (await Promise.all(sources.map((u) => depth(stage.sqs, u)))).reduce((a, b) => a + b, 0);
        if (Date.now() - lastProgress > 15_000) {
          lastProgress = Date.now();
          log(
            `waiting: ${d} messages still on the source queues (${local.journal.length} invocations so far)`,
          );
        }
        if (d > 0) {
          quietSince = 0;
          return false;
        }
        quietSince ||= Date.now();
        return Date.now() - quietSince > 3000;
      },
      options.settleTimeoutMs ?? 1_800_000,
      1000,
    );
    for (const t of timers) clearTimeout(t);
    proxy?.clear();
    // The scheduled sweeper archives what reached a DLQ without a record (crashes).
    for (const rule of local.schedules()) await local.triggerSchedule(rule);
    log(`settled after ${Date.now() - started} ms; sweeper run`);

    // Accounting.
    const inDlq = new Map<string, number>();
    for (const q of ['StandardDlq', 'FifoDlq']) {
      for (const m of await drainDestructively(stage.sqs, stage.queue(q).url)) {
        const id = m.MessageAttributes?.['original-message-id']?.StringValue ?? m.MessageId!;
        inDlq.set(id, (inDlq.get(id) ?? 0) + 1);
      }
    }
    for (const q of ['StandardDlq', 'FifoDlq']) {
      log(`${q} depth ${await depth(stage.sqs, stage.queue(q).url)}`);
    }
    const archived = await archiveRecords(stage.s3, stage.bucket());
    const crashedIn = new Set<string>();
    for (const inv of local.journal.list()) {
      if (inv.error && (inv.function.startsWith('Consumer') || inv.function.startsWith('FifoConsumer')))
        for (const id of inv.messageIds) crashedIn.add(id);
    }
    const successes = new Map<string, number>();
    const firstSuccess = new Map<string, number>();
    let position = 0;
    for (const inv of local.journal.list()) {
      if (!inv.function.startsWith('Consumer') && !inv.function.startsWith('FifoConsumer')) continue;
      for (const id of inv.messageIds) {
        position++;
        if (inv.batchItemFailures.includes(id)) continue;
        successes.set(id, (successes.get(id) ?? 0) + 1);
        if (!firstSuccess.has(id)) firstSuccess.set(id, position);
      }
    }

    // For diagnosis: FAULT_RUN_DUMP=<file> writes what was sent and the invocation journal.
    if (process.env.FAULT_RUN_DUMP)
      writeFileSync(
        process.env.FAULT_RUN_DUMP,
        JSON.stringify({ accepted, journal: local.journal.list() }, null, 1),
      );
    const report: FaultRunReport = {
      n: options.n,
      seed: options.seed,
      accepted: accepted.length,
      refused503,
      notAccepted: plan.length - accepted.length,
      processed: 0,
      deadLettered: 0,
      archived: archived.size,
      lost: 0,
      dlqUnarchived: 0,
      duplicates: 0,
      duplicateRuns: 0,
      statusNotSucceeded: 0,
      orderViolations: 0,
      goodDeadLettered: 0,
      goodDeadLetteredFifo: 0,
      successesRerun: witness ? 0 : null,
      successesRerunAfterCrash: witness ? 0 : null,
      goodInCrashedBatches: 0,
      badProcessed: 0,
      byMode: Object.fromEntries(RUN_MODES.map((m) => [m, { sent: 0, processed: 0, deadLettered: 0 }])),
      faultsInjected: { ...(proxy?.stats.injected ?? {}) },
      wallMs: 0,
    };
    const good = new Set<RunMode>(['succeed', 'retry', 'sleep']);
    for (const p of accepted) {
      const id = p.messageId!;
      const row = report.byMode[p.mode]!;
      row.sent++;
      if (good.has(p.mode) && crashedIn.has(id)) report.goodInCrashedBatches++;
      if (witness && good.has(p.mode) && (witness.runs.get(id) ?? 0) > 1) {
        report.successesRerun!++;
        if (crashedIn.has(id)) report.successesRerunAfterCrash!++;
      }
      if (inDlq.has(id)) {
        report.deadLettered++;
        row.deadLettered++;
        if (!archived.has(id)) {
          report.dlqUnarchived++;
          report.lost++;
          log(`UNARCHIVED ${id} mode=${p.mode} key=${p.key ?? '-'} history=${historyOf(local, id)}`);
        }
        if (good.has(p.mode)) {
          report.goodDeadLettered++;
          if (p.key !== undefined) report.goodDeadLetteredFifo++;
          const failure = archived.get(id)?.record.failure;
          log(
            `GOOD-DLQ ${id} mode=${p.mode} key=${p.key ?? '-'} failure=${failure?.kind}:${failure?.errorName}:${failure?.errorMessage} history=${historyOf(local, id)}`,
          );
        }
        if ((inDlq.get(id) ?? 0) > 1) report.duplicates++;
      } else if (successes.has(id) || (witness && good.has(p.mode) && (witness.runs.get(id) ?? 0) > 0)) {
        // The witness also sees successes inside invocations that crashed afterwards: crash
        // isolation deletes them early, so the journal never reports them as succeeded.
        report.processed++;
        row.processed++;
        if (!good.has(p.mode)) report.badProcessed++;
        if ((successes.get(id) ?? 0) > 1) report.duplicates++;
      } else {
        report.lost++;
        log(
          `LOST ${id} mode=${p.mode} key=${p.key ?? '-'} archived=${archived.has(id)} history=${historyOf(local, id)}`,
        );
      }
    }
    for (const list of byKey.values()) {
      let last = -1;
      for (const p of list) {
        if (!p.messageId || inDlq.has(p.messageId)) continue;
        const at = firstSuccess.get(p.messageId);
        if (at === undefined) continue;
        if (at < last) report.orderViolations++;
        last = Math.max(last, at);
      }
    }
    // Handler runs per message, from the status rows: a run after a success is a duplicate run.
    const processedSent = accepted.filter(
      (p) => p.id && !inDlq.has(p.messageId!) && successes.has(p.messageId!),
    );
    await pool(processedSent, 16, async (p) => {
      const res = await stage.request(`/v1/messages/${p.id}`, { headers: { 'x-api-key': local.apiKey } });
      const status = res.body as { status?: string; attempts?: number } | undefined;
      if (res.status !== 200 || status?.status !== 'succeeded') {
        report.statusNotSucceeded++;
        log(`STATUS ${p.id} ${res.status} ${res.text.slice(0, 200)}`);
        return;
      }
      const failedDeliveries = local.journal
        .list()
        .filter(
          (i) => i.messageIds.includes(p.messageId!) && i.batchItemFailures.includes(p.messageId!),
        ).length;
      if ((status.attempts ?? 0) > failedDeliveries + 1) {
        report.duplicateRuns++;
        log(`DUPLICATE RUN ${p.id} attempts=${status.attempts} failedDeliveries=${failedDeliveries}`);
      }
    });
    report.wallMs = Date.now() - started;
    return report;
  } finally {
    await stage.stop();
    await proxy?.stop();
    witness?.stop();
  }
}

/**
 * Receives and deletes every message of a queue. Accounting needs this for FIFO DLQs: SQS (and
 * the emulator) return no further message of a group while one of it is in flight, so a
 * non-destructive look sees only the head of each group. The run is over; nothing needs them.
 */
async function drainDestructively(sqs: SQSClient, url: string): Promise<Message[]> {
  const out: Message[] = [];
  // Until the queue holds nothing at all: messages in flight (a sweeper run that received them,
  // the scheduled one included) come back when their visibility ends and must be counted too.
  const deadline = Date.now() + 300_000;
  for (let empty = 0; empty < 3 || ((await depth(sqs, url)) > 0 && Date.now() < deadline);) {
    if (empty >= 3) await new Promise((r) => setTimeout(r, 1000));
    const res = await sqs.send(
      new ReceiveMessageCommand({
        QueueUrl: url,
        MaxNumberOfMessages: 10,
        VisibilityTimeout: 30,
        WaitTimeSeconds: 0,
        MessageSystemAttributeNames: ['All'],
        MessageAttributeNames: ['All'],
      }),
    );
    const messages = res.Messages ?? [];
    if (messages.length === 0) {
      empty++;
      continue;
    }
    out.push(...messages);
    await sqs.send(
      new DeleteMessageBatchCommand({
        QueueUrl: url,
        Entries: messages.map((m, i) => ({ Id: String(i), ReceiptHandle: m.ReceiptHandle! })),
      }),
    );
  }
  return out;
}

/** One message's invocations, for diagnosing a run: `<function>@<time>:<ok | failed | error name>`. */
function historyOf(local: LocalHandle, id: string): string {
  return local.journal
    .list()
    .filter((i) => i.messageIds.includes(id))
    .map(
      (i) =>
        `${i.function.slice(0, 12)}@${i.startedAt.slice(11, 23)}:${i.batchItemFailures.includes(id) ? (i.error?.name ?? 'failed') : 'ok'}`,
    )
    .join(' ');
}

/** Renders a report as a Markdown table. */
export function reportTable(r: FaultRunReport): string {
  const rows: [string, string | number][] = [
    ['messages sent (N)', r.n],
    ['seed', r.seed],
    ['accepted (202)', r.accepted],
    ['503 answers (retried with the same Idempotency-Key)', r.refused503],
    ['never accepted', r.notAccepted],
    ['processed', r.processed],
    ['dead-lettered (DLQ)', r.deadLettered],
    ['archive records', r.archived],
    ['**lost**', `**${r.lost}**`],
    ['in a DLQ without an archive record', r.dlqUnarchived],
    ['duplicate deliveries (acknowledged or dead-lettered twice)', r.duplicates],
    ['**handler runs after success (duplicate runs)**', `**${r.duplicateRuns}**`],
    ['processed but status not succeeded', r.statusNotSucceeded],
    ['**FIFO order violations**', `**${r.orderViolations}**`],
    [
      '**good messages dead-lettered** (of them FIFO)',
      `**${r.goodDeadLettered}** (${r.goodDeadLetteredFifo})`,
    ],
    ['good messages in a crashed or timed-out invocation', r.goodInCrashedBatches],
    [
      '**successes run more than once** (of them after a crash)',
      r.successesRerun === null
        ? 'not witnessed'
        : `**${r.successesRerun}** (${r.successesRerunAfterCrash}) = ${((100 * r.successesRerun) / Math.max(1, r.processed)).toFixed(2)} % of processed`,
    ],
    ['failing modes processed as success', r.badProcessed],
    [
      'faults injected',
      Object.entries(r.faultsInjected)
        .map(([k, v]) => `${k}: ${v}`)
        .join(', ') || 'none',
    ],
    ['wall time', `${(r.wallMs / 1000).toFixed(1)} s`],
  ];
  const modes = Object.entries(r.byMode)
    .map(([m, v]) => `| ${m} | ${v.sent} | ${v.processed} | ${v.deadLettered} |`)
    .join('\n');
  return [
    '| figure | value |',
    '|---|---|',
    ...rows.map(([k, v]) => `| ${k} | ${v} |`),
    '',
    '| mode | accepted | processed | dead-lettered |',
    '|---|---|---|---|',
    modes,
  ].join('\n');
}
