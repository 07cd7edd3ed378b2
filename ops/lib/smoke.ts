import { randomUUID } from 'node:crypto';
import { archiveKey } from '../../lambda/shared/archive';
import { ArchiveReader } from './archive';
import { postMessage, type Accepted, type SendInput } from './api';
import { OpsError } from './errors';
import { authHeaders } from './request-auth';
import { ProbeCatcher } from './smoke-cleanup';
import type { InvocationView, Target } from './target';

/** What a probe is expected to end as. */
export type Expectation = 'succeeded' | 'succeeded-after-retry' | 'in-order' | 'failed-archived' | 'isolated';

/** What a status source knows about one accepted message. */
export interface Observation {
  readonly state: 'pending' | 'succeeded' | 'failed';
  /** Processing attempts seen. */
  readonly attempts: number;
  /** A position that orders successes (journal index), when the source knows one. */
  readonly succeededAt?: number;
  readonly archiveKey?: string;
}

/**
 * Where `smoke` learns what happened to a message: the local invocation journal (success,
 * attempts, order), the message-status API (`GET /v1/messages/{id}`, docs/DESIGN.md §3; the
 * default on a deployed stage) and the failure archive (failures only; for an API without ids).
 */
export interface StatusSource {
  /** A name for the report. */
  readonly name: string;
  /** Whether it can see success at all (the archive sees failures only). */
  readonly seesSuccess: boolean;
  observe(accepted: Accepted): Promise<Observation>;
}

/**
 * Failures only: the archive record of the message exists. Probes are filed under the day their
 * envelope was created (today, or yesterday just after midnight UTC), so two reads find a record
 * without listing the bucket.
 */
export function archiveSource(target: Target): StatusSource {
  const archive = new ArchiveReader(target);
  return {
    name: 'failure archive',
    seesSuccess: false,
    async observe(a) {
      // The 202 names the lane since lanes exist; before, `queue` was the lane (standard or fifo).
      const lane = a.lane ?? a.queue;
      const queueName = target.queues.find((q) => q.key === lane)?.source.name;
      if (!queueName) return { state: 'pending', attempts: 0 };
      for (const day of [Date.now(), Date.now() - 86_400_000]) {
        const key = archiveKey({
          queue: { name: queueName, arn: '' },
          messageId: a.messageId,
          body: '',
          sentAt: new Date(day).toISOString(),
          archivedAt: new Date(day).toISOString(),
        });
        const record = await archive.get(key);
        if (record) return { state: 'failed', attempts: record.receiveCount, archiveKey: key };
      }
      return { state: 'pending', attempts: 0 };
    },
  };
}

/** Local mode: the invocation journal, with the archive for failures. */
export function journalSource(target: Target): StatusSource {
  const invocations = target.invocations;
  if (!invocations) throw new OpsError('the invocation journal exists in local mode only');
  const archive = archiveSource(target);
  let cache: { at: number; list: InvocationView[] } | undefined;
  const journal = async () => {
    if (!cache || Date.now() - cache.at > 200)
      cache = { at: Date.now(), list: await invocations.call(target) };
    return cache.list;
  };
  return {
    name: 'local invocation journal + failure archive',
    seesSuccess: true,
    async observe(a) {
      const list = await journal();
      let attempts = 0;
      let succeededAt: number | undefined;
      list.forEach((inv, i) => {
        const at = inv.messageIds.indexOf(a.messageId);
        if (at < 0) return;
        attempts++;
        if (succeededAt === undefined && inv.error === null && !inv.batchItemFailures.includes(a.messageId))
          succeededAt = i * 1000 + at;
      });
      // A permanent failure is acknowledged after it was archived and dead-lettered, so the
      // journal shows it as a success: the archive decides first.
      const failed = await archive.observe(a);
      if (failed.state === 'failed') return { ...failed, attempts: Math.max(attempts, failed.attempts) };
      if (succeededAt !== undefined) return { state: 'succeeded', attempts, succeededAt };
      return { ...failed, attempts: Math.max(attempts, failed.attempts) };
    },
  };
}

/**
 * The message-status API (`GET /v1/messages/{id}`, docs/DESIGN.md §3): the default on a deployed
 * stage, and `smoke --status-api` locally (pass it to {@link smoke} as `source`). Needs the
 * envelope `id` in the 202.
 */
export function statusApiSource(target: Target, doFetch: typeof fetch = fetch): StatusSource {
  return {
    name: 'GET /v1/messages/{id}',
    seesSuccess: true,
    async observe(a) {
      if (!a.id)
        throw new OpsError('the API answered no envelope id: GET /v1/messages/{id} cannot be followed');
      const url = `${target.apiUrl}/v1/messages/${a.id}`;
      const headers = await authHeaders(target, { method: 'GET', url, headers: {} }, () => {
        throw new OpsError(`no API key for ${target.name}`);
      });
      const res = await doFetch(url, { headers });
      if (res.status === 404) return { state: 'pending', attempts: 0 };
      const s = (await res.json()) as {
        status: string;
        attempts?: number;
        failure?: { archiveKey?: string } | null;
        updatedAt?: string;
      };
      const state = s.status === 'succeeded' ? 'succeeded' : s.status === 'failed' ? 'failed' : 'pending';
      return {
        state,
        attempts: s.attempts ?? 0,
        ...(s.failure?.archiveKey ? { archiveKey: s.failure.archiveKey } : {}),
        ...(state === 'succeeded' && s.updatedAt ? { succeededAt: Date.parse(s.updatedAt) } : {}),
      };
    },
  };
}

/** One probe of a smoke run. */
export interface SmokeCheck {
  readonly name: string;
  readonly expect: Expectation;
  readonly result: 'pass' | 'fail' | 'timeout' | 'skipped' | 'unverified';
  readonly detail: string;
  readonly messageIds: string[];
}

/** What smoke did with its dead-lettered `fail-permanent` probe. */
export interface SmokeCleanup {
  readonly lane: string;
  /** The DLQ's name. */
  readonly dlq: string;
  readonly messageId: string;
  readonly envelopeId: string | null;
  /** Its archive record, which stays (the payload's `tag` names the smoke run). */
  readonly archiveKey: string | null;
  /** Whether its DLQ copy was deleted (only that message). */
  readonly removed: boolean;
  /**
   * Whether it was received as it arrived in the DLQ (a long poll was waiting: it was never
   * counted as visible there), rather than found there later.
   */
  readonly caughtOnArrival: boolean;
  readonly detail: string;
}

/** Result of {@link smoke}. */
export interface SmokeResult {
  readonly ok: boolean;
  readonly source: string;
  readonly checks: SmokeCheck[];
  /** The `fail-permanent` probe's removal from its DLQ; `null` when it was not sent or not accepted. */
  readonly cleanup: SmokeCleanup | null;
  /** The `tag` of every probe's payload (the run's `smoke-<id>`, on its archive record too). */
  readonly tag: string;
}

interface Probe {
  readonly name: string;
  readonly expect: Expectation;
  readonly inputs: SendInput[];
  accepted: Accepted[];
  refused?: string;
}

/**
 * The post-deploy check: sends probes through the API (`succeed`; `succeed` with `failTimes: 1`;
 * an ordered pair on one `orderingKey`; `fail-permanent` where the stage accepts it) and follows
 * each to its expected outcome, until all are decided or `timeoutMs` passes.
 *
 * It leaves nothing behind that pages: once the `fail-permanent` probe is checked (its archive
 * record exists), its DLQ copy is deleted, that message only ({@link ProbeCatcher}, which keeps
 * it out of the DLQ depth alarm's sight meanwhile). Its archive record stays. A probe it could not
 * remove fails the check.
 */
export async function smoke(
  target: Target,
  options: {
    timeoutMs?: number;
    /** @default the local journal in local mode, else the failure archive */
    source?: StatusSource;
    pollMs?: number;
    doFetch?: typeof fetch;
    progress?: (line: string) => void;
  } = {},
): Promise<SmokeResult> {
  const run = `smoke-${randomUUID().slice(0, 8)}`;
  const probe = (payload: Record<string, unknown>, extra: Partial<SendInput> = {}): SendInput => ({
    type: 'probe',
    payload: { tag: run, ...payload },
    ...extra,
  });
  const probes: Probe[] = [
    { name: 'succeed', expect: 'succeeded', inputs: [probe({ mode: 'succeed' })], accepted: [] },
    {
      name: 'succeed after 1 failure',
      expect: 'succeeded-after-retry',
      inputs: [probe({ mode: 'succeed', failTimes: 1 })],
      accepted: [],
    },
    {
      name: 'ordered pair (FIFO)',
      expect: 'in-order',
      inputs: [1, 2].map((n) =>
        probe({ mode: 'succeed', tag: `${run}-${n}` }, { orderingKey: run, idempotencyKey: `${run}-${n}` }),
      ),
      accepted: [],
    },
    {
      name: 'fail-permanent',
      expect: 'failed-archived',
      inputs: [probe({ mode: 'fail-permanent' })],
      accepted: [],
    },
  ];
  let catcher: ProbeCatcher | undefined;
  try {
    for (const p of probes) {
      for (const input of p.inputs) {
        const answer = await postMessage(target, input, options.doFetch);
        if (answer.status === 202) {
          const a = answer.body as Accepted;
          p.accepted.push(a);
          const pair = target.queues.find((q) => q.key === (a.lane ?? a.queue));
          if (p.expect === 'failed-archived' && pair) {
            catcher = new ProbeCatcher(target, pair, {
              messageId: a.messageId,
              ...(a.id ? { envelopeId: a.id } : {}),
            });
            await catcher.start();
          }
          continue;
        }
        const err = (answer.body as { error?: { code?: string; message?: string } }).error;
        if (
          p.expect === 'failed-archived' &&
          answer.status === 400 &&
          /mode/i.test(JSON.stringify(err ?? ''))
        ) {
          p.refused = `this stage refuses mode fail-permanent (${err?.message ?? ''})`;
        } else {
          p.refused = `the API answered ${answer.status} ${err?.code ?? ''}: ${err?.message ?? JSON.stringify(answer.body)}`;
        }
        break;
      }
    }
    // Local: the journal. Deployed: the status API when every 202 carried an envelope id (every
    // stage deployed since GET /v1/messages/{id} exists), else the archive, which sees failures only.
    const withIds = probes.every((p) => p.accepted.every((a) => a.id));
    const source =
      options.source ??
      (target.invocations
        ? journalSource(target)
        : withIds
          ? statusApiSource(target, options.doFetch)
          : archiveSource(target));
    const deadline = Date.now() + (options.timeoutMs ?? 120_000);
    const decided = new Map<Probe, SmokeCheck>();
    const ids = (p: Probe) => p.accepted.map((a) => a.messageId);
    for (const p of probes) {
      if (p.refused !== undefined) {
        const optional = p.expect === 'failed-archived' && p.refused.startsWith('this stage refuses');
        decided.set(p, {
          name: p.name,
          expect: p.expect,
          result: optional ? 'skipped' : 'fail',
          detail: p.refused,
          messageIds: ids(p),
        });
      }
    }
    let cleanup: SmokeCleanup | null = null;
    for (;;) {
      for (const p of probes) {
        if (decided.has(p)) continue;
        const obs = await Promise.all(p.accepted.map((a) => source.observe(a)));
        let check = judge(p, obs);
        if (check?.result === 'pass' && p.expect === 'failed-archived' && catcher) {
          cleanup = await removeProbe(catcher, p.accepted[0]!, obs[0]!.archiveKey ?? null, deadline);
          if (!cleanup.removed) check = { result: 'fail', detail: `${check.detail}; ${cleanup.detail}` };
        }
        if (check) decided.set(p, { name: p.name, expect: p.expect, ...check, messageIds: ids(p) });
      }
      options.progress?.(`${decided.size}/${probes.length} probes decided`);
      if (decided.size === probes.length || Date.now() > deadline) break;
      // A source blind to success has nothing more to tell once every failing probe is decided.
      if (!source.seesSuccess && probes.every((p) => p.expect !== 'failed-archived' || decided.has(p))) break;
      await new Promise((r) => setTimeout(r, options.pollMs ?? 500));
    }
    const checks = probes.map((p): SmokeCheck => {
      const done = decided.get(p);
      if (done) return done;
      if (!source.seesSuccess && p.expect !== 'failed-archived')
        return {
          name: p.name,
          expect: p.expect,
          result: 'unverified',
          detail: `accepted and not archived as failed; ${source.name} cannot see success (this stage's API answers no envelope id: deploy this version to follow probes through GET /v1/messages/{id})`,
          messageIds: ids(p),
        };
      return {
        name: p.name,
        expect: p.expect,
        result: 'timeout',
        detail: `not decided within ${Math.round((options.timeoutMs ?? 120_000) / 1000)} s`,
        messageIds: ids(p),
      };
    });
    const first = probes[0]!.accepted[0];
    checks.push(await isolationCheck(target, first, options.doFetch ?? fetch));
    return {
      ok: checks.every((c) => c.result === 'pass' || c.result === 'skipped' || c.result === 'unverified'),
      source: source.name,
      checks,
      cleanup,
      tag: run,
    };
  } finally {
    // What the catcher still holds is made visible again (the probe too, if it was not deleted).
    await catcher?.stop();
  }
}

/**
 * Tenant isolation (docs/DESIGN.md §3): the first probe's message, read as its own tenant
 * (`200`), is unknown to a second tenant (`404`, as an id that names nothing). Skipped when the
 * target has no second tenant's credentials ({@link Target.secondTenant}).
 */
export async function isolationCheck(
  target: Target,
  accepted: Accepted | undefined,
  doFetch: typeof fetch,
): Promise<SmokeCheck> {
  const base = {
    name: 'tenant isolation',
    expect: 'isolated' as const,
    messageIds: accepted ? [accepted.messageId] : [],
  };
  if (!target.secondTenant)
    return {
      ...base,
      result: 'skipped',
      detail:
        'no second tenant to check with (local mode: one tenant; AWS: set EVENT_PIPELINE_SECOND_API_KEY or EVENT_PIPELINE_SECOND_PROFILE)',
    };
  if (!accepted?.id)
    return { ...base, result: 'skipped', detail: 'the first probe was not accepted with an envelope id' };
  const url = `${target.apiUrl}/v1/messages/${accepted.id}`;
  const get = async (auth: Target['auth']) => {
    const headers = await authHeaders({ ...target, auth }, { method: 'GET', url, headers: {} }, () => {
      throw new OpsError(`no API key for ${target.name}`);
    });
    return (await doFetch(url, { headers })).status;
  };
  const own = await get(target.auth);
  const other = await get(target.secondTenant.auth);
  if (own !== 200)
    return { ...base, result: 'fail', detail: `its own tenant got ${own} for ${accepted.id}, not 200` };
  if (other !== 404)
    return {
      ...base,
      result: 'fail',
      detail: `tenant ${target.secondTenant.name} got ${other} for another tenant's message ${accepted.id}, not 404`,
    };
  return {
    ...base,
    result: 'pass',
    detail: `its tenant reads ${accepted.id} (200); tenant ${target.secondTenant.name} gets 404`,
  };
}

/** Deletes the dead-lettered probe's DLQ copy; says what became of it. */
async function removeProbe(
  catcher: ProbeCatcher,
  a: Accepted,
  archiveKey: string | null,
  deadline: number,
): Promise<SmokeCleanup> {
  const base = {
    lane: catcher.pair.key,
    dlq: catcher.pair.dlq.name,
    messageId: a.messageId,
    envelopeId: a.id ?? null,
    archiveKey,
  };
  try {
    await catcher.remove(deadline);
    return {
      ...base,
      removed: true,
      caughtOnArrival: catcher.caughtOnArrival,
      detail: `removed from ${base.dlq} (its archive record stays)`,
    };
  } catch (error) {
    return {
      ...base,
      removed: false,
      caughtOnArrival: catcher.caughtOnArrival,
      detail: `its DLQ copy could not be removed: ${(error as Error).message}; it raises the DLQ alarm until it is gone (ops dlq show ${a.messageId})`,
    };
  }
}

function judge(p: Probe, obs: Observation[]): Omit<SmokeCheck, 'name' | 'expect' | 'messageIds'> | undefined {
  const failed = obs.find((o) => o.state === 'failed');
  if (p.expect === 'failed-archived') {
    if (failed?.archiveKey)
      return { result: 'pass', detail: `dead-lettered, archive record ${failed.archiveKey}` };
    return undefined;
  }
  if (failed)
    return { result: 'fail', detail: `failed${failed.archiveKey ? ` (archive ${failed.archiveKey})` : ''}` };
  if (!obs.every((o) => o.state === 'succeeded')) return undefined;
  if (p.expect === 'succeeded')
    return { result: 'pass', detail: `succeeded after ${obs[0]!.attempts} attempt(s)` };
  if (p.expect === 'succeeded-after-retry') {
    const a = obs[0]!.attempts;
    return a >= 2
      ? { result: 'pass', detail: `succeeded on attempt ${a}` }
      : { result: 'fail', detail: `succeeded after ${a} attempt(s); expected a retry first` };
  }
  const [first, second] = obs;
  return first!.succeededAt! < second!.succeededAt!
    ? { result: 'pass', detail: 'both succeeded, in send order' }
    : { result: 'fail', detail: 'the second message succeeded before the first' };
}
