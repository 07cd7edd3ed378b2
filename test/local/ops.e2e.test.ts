import { execFile } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { listDlq, queueDepth, redrive, purgeDlq } from '../../ops/lib/dlq';
import { ArchiveReader } from '../../ops/lib/archive';
import { OpsError } from '../../ops/lib/errors';
import { replay, REPLAY_OF_ATTR } from '../../ops/lib/replay';
import { smoke } from '../../ops/lib/smoke';
import { status } from '../../ops/lib/status';
import { loadStageConfig } from '../../app/stages';
import { messageGroupIdOf } from '../../lambda/producer/group-id';
import type { LocalEnv } from '../../local';
import { putInDlq, resetStage, startOpsStage, type OpsStage } from '../helpers/ops';
import { consumerInvocations, drainView } from '../helpers/local';
import { archiveRecords, attemptsOf, waitFor } from '../../tools/local-stage';

// The operations tool's library (and, for a few cases, its process) against local mode: the real
// bundles, the embedded emulator, a fault proxy between the tool and the emulator.
const ROOT = join(__dirname, '..', '..');
const LOCAL = loadStageConfig('local');
const dir = mkdtempSync(join(tmpdir(), 'ops-e2e-'));
const envFile = join(dir, 'env.json');
let ops: OpsStage;
beforeAll(async () => {
  ops = await startOpsStage(envFile);
});
afterAll(async () => {
  await ops?.stop();
  rmSync(dir, { recursive: true, force: true });
});
beforeEach(async () => {
  ops.proxy.clear();
  await resetStage(ops.stage);
});

const probe = (payload: Record<string, unknown>, extra: Record<string, unknown> = {}) => ({
  type: 'probe',
  payload,
  ...extra,
});

async function accepted(body: unknown): Promise<string> {
  const res = await ops.stage.post('/v1/messages', body);
  expect(res.status, res.text).toBe(202);
  return res.body.messageId as string;
}

const succeeded = (id: string) => () => attemptsOf(ops.stage.local, id).succeeded > 0;

async function dlqDepth(id: 'StandardDlq' | 'FifoDlq'): Promise<number> {
  const d = await queueDepth(ops.target, ops.stage.queue(id).url);
  return d.visible + d.inFlight + d.delayed;
}

/** Waits until each id has an archive record and sits in the standard DLQ. */
async function deadLettered(ids: string[], dlq: 'StandardDlq' | 'FifoDlq' = 'StandardDlq'): Promise<void> {
  await waitFor(
    `${ids.length} messages archived and dead-lettered`,
    async () => {
      const records = await archiveRecords(ops.stage.s3, ops.stage.bucket());
      return ids.every((id) => records.has(id)) && (await dlqDepth(dlq)) >= ids.length;
    },
    60_000,
    250,
  );
}

/**
 * Runs the tool's process (`args` name the env file). Asynchronous: the local stage runs in this
 * process, so a blocking spawn would starve it.
 */
const ops$ = (args: string[]) =>
  new Promise<{ status: number | null; stdout: string; stderr: string }>((resolve) => {
    execFile(
      process.execPath,
      ['--import', 'tsx', join(ROOT, 'ops', 'main.ts'), ...args],
      { cwd: ROOT, encoding: 'utf8', timeout: 60_000 },
      (error, stdout, stderr) =>
        resolve({ status: error ? ((error as { code?: number }).code ?? null) : 0, stdout, stderr }),
    );
  });

describe('dlq list', () => {
  it('shows exactly the dead-lettered messages with their failure kinds, and leaves them in place', async () => {
    // Prepare
    const permanent = [
      await accepted(probe({ mode: 'fail-permanent' })),
      await accepted(probe({ mode: 'fail-permanent' })),
    ];
    const exhausted = [
      await accepted(probe({ mode: 'fail-always' })),
      await accepted(probe({ mode: 'fail-always' })),
    ];
    await accepted(probe({ mode: 'succeed' }));
    await deadLettered([...permanent, ...exhausted]);

    // Act
    const listing = await listDlq(ops.target);
    const again = await listDlq(ops.target, { queue: 'standard' });

    // Assess
    const kinds = Object.fromEntries(listing.messages.map((m) => [m.messageId, m.kind]));
    expect(kinds).toEqual({
      [permanent[0]!]: 'permanent',
      [permanent[1]!]: 'permanent',
      [exhausted[0]!]: 'exhausted',
      [exhausted[1]!]: 'exhausted',
    });
    for (const m of listing.messages) {
      expect(m.type).toBe('probe');
      expect(m.queue).toBe('standard');
      expect(m.archiveKey).toMatch(new RegExp(`^failed/[^/]+/\\d{4}/\\d{2}/\\d{2}/${m.messageId}\\.json$`));
      expect(m.errorName).toBe(
        kinds[m.messageId] === 'permanent' ? 'ProbePermanentError' : 'ProbeAlwaysFailsError',
      );
    }
    expect(
      listing.messages
        .filter((m) => m.kind === 'exhausted')
        .every((m) => m.receiveCount === LOCAL.maxAttempts),
    ).toBe(true);
    expect(again.messages.map((m) => m.messageId).sort()).toEqual([...permanent, ...exhausted].sort());
    expect(await dlqDepth('StandardDlq')).toBe(4);
  });
});

describe('dlq redrive', () => {
  it('moves only the selected messages, which are then processed (the cause fixed: failUntil has passed)', async () => {
    // Prepare: an outage that ends 20 s from now (local: 3 attempts, back-off ≤ 4 s); probes that exhaust their retries during it.
    const failUntil = new Date(Date.now() + 20_000).toISOString();
    const outage = [
      await accepted(probe({ mode: 'succeed', failUntil, tag: 'outage-1' })),
      await accepted(probe({ mode: 'succeed', failUntil, tag: 'outage-2' })),
    ];
    const permanent = await accepted(probe({ mode: 'fail-permanent' }));
    await deadLettered([...outage, permanent]);
    await waitFor('the outage to end', () => Date.now() > Date.parse(failUntil), 30_000);

    // Act
    const byIds = await redrive(ops.target, { ids: [outage[0]!] });
    const byKind = await redrive(ops.target, { kind: 'exhausted' });

    // Assess
    expect(byIds.mode).toBe('message-by-message');
    expect(byIds.items.map((i) => [i.messageId, i.outcome])).toEqual([[outage[0], 'moved']]);
    expect(byKind.items.map((i) => [i.messageId, i.kind, i.outcome])).toEqual([
      [outage[1], 'exhausted', 'moved'],
    ]);
    for (const item of [...byIds.items, ...byKind.items])
      await waitFor(`redriven ${item.messageId} processed`, succeeded(item.newMessageId!), 30_000);
    const left = await listDlq(ops.target);
    expect(left.messages.map((m) => [m.messageId, m.kind])).toEqual([[permanent, 'permanent']]);
  });

  it('keeps each FIFO message group in order, with a fresh deduplication id per message', async () => {
    // Prepare: two groups dead-lettered in order (the same body twice would be deduplicated otherwise).
    const g1 = [];
    const g2 = [];
    for (let i = 0; i < 3; i++) {
      g1.push(await putInDlq(ops.stage, 'FifoDlq', { mode: 'succeed', tag: `g1-${i}` }, 'g1'));
      g2.push(await putInDlq(ops.stage, 'FifoDlq', { mode: 'succeed', tag: `g2-${i}` }, 'g2'));
    }

    // Act
    const result = await redrive(ops.target, { queue: 'fifo' });

    // Assess
    expect(result.moved).toBe(6);
    expect(result.failed).toBe(0);
    const newIds = new Map(result.items.map((i) => [i.messageId, i.newMessageId!]));
    for (const group of [g1, g2]) {
      const ids = group.map((m) => newIds.get(m.messageId)!);
      for (const id of ids) await waitFor(`${id} processed`, succeeded(id), 30_000);
      const order = consumerInvocations(ops.stage.local, 'fifo')
        .flatMap((inv) => inv.messageIds.filter((id) => !inv.batchItemFailures.includes(id)))
        .filter((id) => ids.includes(id));
      expect(order).toEqual(ids);
    }
    expect(await dlqDepth('FifoDlq')).toBe(0);
  });

  it('moves only what the DLQ held when it started, once: a resent message that fails again stays', async () => {
    // Prepare
    const a = await accepted(probe({ mode: 'fail-permanent', tag: 'again-1' }));
    const b = await accepted(probe({ mode: 'fail-permanent', tag: 'again-2' }));
    await deadLettered([a, b]);

    // Act: both fail again at once; the run must not pick up their new DLQ copies.
    const result = await redrive(ops.target, {});
    await waitFor('both back in the DLQ', async () => (await dlqDepth('StandardDlq')) === 2, 30_000);

    // Assess
    expect(result.items.map((i) => i.messageId).sort()).toEqual([a, b].sort());
    expect(result.moved).toBe(2);
    const back = await drainView(ops.stage.sqs, ops.stage.queue('StandardDlq').url);
    const origins = back.map((m) => m.MessageAttributes?.['original-message-id']?.StringValue);
    expect(origins.sort()).toEqual(result.items.map((i) => i.newMessageId).sort());
  });

  it('loses nothing when SQS fails in the middle of a run: failed moves stay in the DLQ and move on a rerun', async () => {
    // Prepare
    const put = [];
    for (let i = 0; i < 6; i++)
      put.push(await putInDlq(ops.stage, 'StandardDlq', { mode: 'succeed', tag: `fault-${i}` }));
    let injected = false;
    const progress = () => {
      if (injected) return;
      injected = true; // after the first move: two sends and one delete fail
      ops.proxy.inject({ match: 'sqs:SendMessage', kind: 'error', status: 500, times: 2 });
      ops.proxy.inject({ match: 'sqs:DeleteMessage', kind: 'error', status: 500, times: 1 });
    };

    // Act
    const first = await redrive(ops.faulty, {}, { progress });
    ops.proxy.clear();
    const second = await redrive(ops.target, {});

    // Assess
    expect(first.failed, JSON.stringify(first.items)).toBe(2);
    expect(first.notDeleted).toBe(1);
    expect(first.moved, JSON.stringify(first)).toBe(4); // 3 moved + 1 resent whose DLQ copy stayed
    expect(second.moved).toBe(3); // the 2 that failed, and the copy that was not deleted (a duplicate)
    const resent = [...first.items, ...second.items].filter((i) => i.newMessageId);
    for (const i of resent) await waitFor(`${i.newMessageId} processed`, succeeded(i.newMessageId!), 30_000);
    const movedOriginals = new Set(resent.map((i) => i.messageId));
    expect([...movedOriginals].sort()).toEqual(put.map((p) => p.messageId).sort());
    expect(await dlqDepth('StandardDlq')).toBe(0);
  });
});

describe('replay', () => {
  it('re-enqueues archived messages with their original envelope and replay-of, skipping ones still dead-lettered', async () => {
    // Prepare
    const id = await accepted(probe({ mode: 'fail-permanent', tag: 'replay-me' }));
    await deadLettered([id]);
    const original = (await archiveRecords(ops.stage.s3, ops.stage.bucket())).get(id)!.record;

    // Act
    const skipped = await replay(ops.target, { ids: [id] });
    const included = await replay(ops.target, { ids: [id] }, { includeDeadLettered: true });

    // Assess
    expect(skipped.items.map((i) => i.outcome)).toEqual(['skipped-dead-lettered']);
    expect(included.items.map((i) => i.outcome)).toEqual(['replayed']);
    const newId = included.items[0]!.newMessageId!;
    await waitFor('the replay archived after failing again', async () =>
      (await archiveRecords(ops.stage.s3, ops.stage.bucket())).get(newId),
    );
    const again = (await archiveRecords(ops.stage.s3, ops.stage.bucket())).get(newId)!.record;
    expect(again.body).toBe(original.body);
    const attrs = again.messageAttributes as Record<string, { stringValue?: string }>;
    expect(attrs[REPLAY_OF_ATTR]?.stringValue).toBe(id);
    expect(attrs.type?.stringValue).toBe('probe');
    // The first DLQ copy was removed after the replay was accepted; the replay's own failure is the one left.
    const left = await listDlq(ops.target);
    expect(left.messages.map((m) => m.messageId)).toEqual([newId]);
  });

  it('replays a FIFO record into its group, after its DLQ copy is gone', async () => {
    // Prepare
    const id = await accepted(probe({ mode: 'fail-permanent' }, { orderingKey: 'replay-group' }));
    await deadLettered([id], 'FifoDlq');
    await purgeDlq(ops.target, 'fifo');

    // Act
    const result = await replay(ops.target, { queue: 'fifo' });

    // Assess
    expect(result.items.map((i) => [i.messageId, i.outcome])).toEqual([[id, 'replayed']]);
    const newId = result.items[0]!.newMessageId!;
    await waitFor('the replay archived', async () =>
      (await archiveRecords(ops.stage.s3, ops.stage.bucket())).get(newId),
    );
    const again = (await archiveRecords(ops.stage.s3, ops.stage.bucket())).get(newId)!.record;
    const [tenant] = Object.keys(ops.stage.local.auth.tenants);
    expect(again.attributes.MessageGroupId).toBe(messageGroupIdOf(tenant!, 'replay-group'));
  });
});

describe('replay and the status rows', () => {
  /** The message's status as the API answers its tenant. */
  async function statusOf(id: string): Promise<{ status: string; attempts: number }> {
    const res = await ops.stage.get(`/v1/messages/${id}`);
    expect(res.status, res.text).toBe(200);
    return res.body as { status: string; attempts: number };
  }
  /** The status row as ops reads it from the table (a replayed copy's row has no owner). */
  async function rowOf(id: string): Promise<{ status: string; attempts: number } | undefined> {
    return ops.target.messageStatus!(id);
  }

  it('skips a message that succeeded since it was archived; --force runs a copy under a new envelope id', async () => {
    // Prepare: an outage exhausts the message's runs (local: 3, back-off ≤ 4 s); once it is over, a
    // redrive runs it to success. Its archive record stays.
    const failUntil = new Date(Date.now() + 10_000).toISOString();
    const res = await ops.stage.post('/v1/messages', probe({ mode: 'succeed', failUntil, tag: 'later' }));
    expect(res.status, res.text).toBe(202);
    const { id, messageId } = res.body as { id: string; messageId: string };
    await deadLettered([messageId]);
    await waitFor('the outage to end', () => Date.now() > Date.parse(failUntil), 30_000);
    const moved = await redrive(ops.target, { ids: [id] });
    await waitFor('the redriven message processed', succeeded(moved.items[0]!.newMessageId!), 30_000);
    const before = await statusOf(id);
    expect(before).toMatchObject({ status: 'succeeded', attempts: LOCAL.maxAttempts + 1 });

    // Act
    const actedAt = Date.now();
    const skipped = await replay(ops.target, { ids: [id] });
    const forced = await replay(ops.target, { ids: [id] }, { force: true });

    // Assess
    expect(skipped.items.map((i) => [i.messageId, i.outcome, i.status])).toEqual([
      [messageId, 'skipped-succeeded', 'succeeded'],
    ]);
    expect(skipped).toMatchObject({ replayed: 0, skipped: 1 });
    const [copy] = forced.items;
    expect(copy).toMatchObject({ messageId, outcome: 'replayed' });
    expect(copy!.newEnvelopeId).not.toBe(id);
    await waitFor('the copy processed', succeeded(copy!.newMessageId!), 30_000);
    // The copy ran its handler once, under its own status row (ops reads it: no API request
    // accepted the copy, so its row has no owner); the original's row is as it was.
    expect(await rowOf(copy!.newEnvelopeId!)).toMatchObject({ status: 'succeeded', attempts: 1 });
    expect((await ops.stage.get(`/v1/messages/${copy!.newEnvelopeId!}`)).status).toBe(404);
    expect(await statusOf(id)).toMatchObject({ status: 'succeeded', attempts: before.attempts });
    // The skipped replay sent nothing: since it ran, the consumer has seen the copy only.
    const seen = consumerInvocations(ops.stage.local, 'consumer')
      .filter((inv) => Date.parse(inv.startedAt) >= actedAt)
      .flatMap((inv) => inv.messageIds);
    expect(new Set(seen)).toEqual(new Set([copy!.newMessageId]));
  });
});

describe('purge', () => {
  it('empties a DLQ and leaves the archive; refuses source queues', async () => {
    // Prepare
    const ids = [
      await accepted(probe({ mode: 'fail-permanent' })),
      await accepted(probe({ mode: 'fail-permanent' })),
    ];
    await deadLettered(ids);

    // Act
    const refused = await purgeDlq(ops.target, ops.stage.queue('StandardQueue').name).catch(
      (e: unknown) => e,
    );
    const result = await purgeDlq(ops.target, 'standard');

    // Assess
    expect(refused).toBeInstanceOf(OpsError);
    expect((refused as Error).message).toMatch(/is a source queue/);
    expect(result.purged).toBe(2);
    expect(await dlqDepth('StandardDlq')).toBe(0);
    const archive = await new ArchiveReader(ops.target).list();
    expect(archive.map((a) => a.record.messageId).sort()).toEqual(ids.sort());
  });
});

describe('purge and messages without an archive record', () => {
  it("refuses while one lacks its record; --archive-missing writes the sweeper's record first, then purges", async () => {
    // Prepare: one failure the consumer archived, one message the redrive policy moved (a crash: no record yet).
    const archived = await accepted(probe({ mode: 'fail-permanent' }));
    await deadLettered([archived]);
    const crashed = await putInDlq(ops.stage, 'StandardDlq', { mode: 'succeed', tag: 'no-record' });
    const dlqName = ops.stage.queue('StandardDlq').name;

    // Act
    const refused = await ops$(['purge', '--lane', 'standard', '--yes', '--local-env', envFile]);
    const depthAfterRefusal = await dlqDepth('StandardDlq');
    const purged = await ops$([
      'purge',
      '--lane',
      'standard',
      '--yes',
      '--archive-missing',
      '--local-env',
      envFile,
    ]);

    // Assess
    expect(refused).toMatchObject({ status: 1, stdout: '' });
    expect(refused.stderr).toBe(
      `error: 1 of the 2 messages in ${dlqName} have no archive record, and purging would lose them: add --archive-missing to archive them first (the record the DLQ sweeper writes), or redrive them\n`,
    );
    expect(depthAfterRefusal).toBe(2);
    expect(purged.stderr).toBe('');
    expect(purged.status).toBe(0);
    expect(purged.stdout).toBe(
      `purged ${dlqName}: 2 message(s), 1 of them archived first (the record the DLQ sweeper writes); archive records stay\n`,
    );
    expect(await dlqDepth('StandardDlq')).toBe(0);
    const records = await archiveRecords(ops.stage.s3, ops.stage.bucket());
    expect([...records.keys()].sort()).toEqual([archived, crashed.messageId].sort());
    expect(records.get(crashed.messageId)!.record).toMatchObject({
      messageId: crashed.messageId,
      queue: { name: ops.stage.queue('StandardQueue').name },
      failure: { kind: 'unknown', errorName: 'UnknownFailure' },
    });
    expect(JSON.parse(records.get(crashed.messageId)!.record.body)).toMatchObject({ id: crashed.envelopeId });
  });
});

describe('--dry-run', () => {
  it('changes nothing: redrive, replay and purge only report', async () => {
    // Prepare
    const ids = [
      await accepted(probe({ mode: 'fail-permanent' })),
      await accepted(probe({ mode: 'fail-permanent' })),
    ];
    await deadLettered(ids);
    const peek = async () => (await listDlq(ops.target)).messages.map((m) => m.dlqMessageId).sort();
    const before = await peek();

    // Act
    const r = await redrive(ops.target, {}, { dryRun: true });
    const p = await replay(ops.target, {}, { dryRun: true, includeDeadLettered: true });
    const u = await purgeDlq(ops.target, 'standard', { dryRun: true });

    // Assess
    expect(
      r.items.map((i) => i.outcome),
      JSON.stringify(r),
    ).toEqual(['would-move', 'would-move']);
    expect(p.items.map((i) => i.outcome)).toEqual(['would-replay', 'would-replay']);
    expect(u.purged).toBe(2);
    expect(await peek()).toEqual(before);
    expect(before).toHaveLength(2);
    expect(await queueDepth(ops.target, ops.stage.queue('StandardQueue').url)).toEqual({
      visible: 0,
      inFlight: 0,
      delayed: 0,
    });
    expect((await archiveRecords(ops.stage.s3, ops.stage.bucket())).size).toBe(2);
  });
});

describe('status and smoke', () => {
  it('status counts each queue and shows the DLQ alarm', async () => {
    // Prepare
    const id = await accepted(probe({ mode: 'fail-permanent' }));
    await deadLettered([id]);
    await waitFor(
      'the DLQ alarm',
      () => ops.stage.local.alarms().some((a) => /StandardDlq/.test(a.logicalId) && a.state === 'ALARM'),
      30_000,
    );

    // Act
    const report = await status(ops.target);

    // Assess
    const dlq = report.queues.find((q) => q.queue === 'standard' && q.role === 'dlq')!;
    expect(dlq.visible + dlq.inFlight).toBe(1);
    expect(report.queues.map((q) => `${q.queue}/${q.role}`)).toEqual([
      'standard/source',
      'standard/dlq',
      'fifo/source',
      'fifo/dlq',
    ]);
    expect(report.alarms.some((a) => a.state === 'ALARM')).toBe(true);
  });

  it('smoke follows every probe to its expected outcome in local mode', async () => {
    const result = await smoke(ops.target, { timeoutMs: 60_000, pollMs: 250 });
    expect(result.checks.map((c) => [c.name, c.result])).toEqual([
      ['succeed', 'pass'],
      ['succeed after 1 failure', 'pass'],
      ['ordered pair (FIFO)', 'pass'],
      ['fail-permanent', 'pass'],
      ['tenant isolation', 'pass'],
    ]);
    expect(result.checks.at(-1)!.detail).toMatch(/\(200\); tenant tenant-b gets 404$/);
    expect(result.ok).toBe(true);
  });

  it("smoke fails its isolation check when the second tenant can read the first one's message", async () => {
    // The second tenant's credentials replaced by the first's: the API answers it 200.
    const leaky = { ...ops.target, secondTenant: { name: 'same-as-first', auth: ops.target.auth! } };

    const result = await smoke(leaky, { timeoutMs: 60_000, pollMs: 250 });

    expect(result.checks.at(-1)).toMatchObject({ name: 'tenant isolation', result: 'fail' });
    expect(result.checks.at(-1)!.detail).toMatch(
      /^tenant same-as-first got 200 for another tenant's message/,
    );
    expect(result.ok).toBe(false);
  });

  it('smoke leaves nothing that pages: its dead-lettered probe is removed, and the DLQ alarm never goes to ALARM', async () => {
    // Prepare: the DLQ alarm is OK (a former test's DLQ messages are gone); from now on every state
    // it reports is recorded. Local mode samples the DLQ every 2 s and a state lasts until the next
    // sample, so a poll every 100 ms sees every state it reports.
    const dlqAlarm = () =>
      ops.stage.local.alarms().find((a) => a.logicalId.startsWith('StandardDlqDepthAlarm'))!;
    await waitFor('the DLQ alarm OK', () => dlqAlarm().state === 'OK', 30_000, 100);
    const states = new Set<string>();
    const watch = setInterval(() => states.add(dlqAlarm().state), 100);

    // Act: the smoke run, then three more evaluations.
    let result: Awaited<ReturnType<typeof smoke>>;
    try {
      result = await smoke(ops.target, { timeoutMs: 60_000, pollMs: 250 });
      await new Promise((r) => setTimeout(r, 3 * 2000 + 200));
    } finally {
      clearInterval(watch);
    }

    // Assess
    expect(result.ok, JSON.stringify(result.checks)).toBe(true);
    const probe = result.checks.find((c) => c.name === 'fail-permanent')!;
    expect(probe.result).toBe('pass');
    const [messageId] = probe.messageIds;
    // The DLQ was empty: a long poll was waiting there and received the probe as it arrived.
    expect(result.cleanup).toMatchObject({
      removed: true,
      caughtOnArrival: true,
      lane: 'standard',
      messageId,
    });
    expect(states).toEqual(new Set(['OK']));
    expect(await dlqDepth('StandardDlq')).toBe(0);
    // Its archive record stays: the probe's failure is on record.
    const records = await archiveRecords(ops.stage.s3, ops.stage.bucket());
    expect(records.get(messageId!)?.record.failure.kind).toBe('permanent');
    expect(result.cleanup!.archiveKey).toBe(records.get(messageId!)!.key);
  });
});

describe('npm run ops (the process)', () => {
  it('prints one JSON document on stdout with --json, and nothing on stderr', async () => {
    const id = await accepted(probe({ mode: 'fail-permanent' }));
    await deadLettered([id]);

    const out = await ops$(['dlq', 'list', '--json', '--local-env', envFile]);

    expect(out.stderr).toBe('');
    expect(out.status).toBe(0);
    const doc = JSON.parse(out.stdout) as { messages: { messageId: string; kind: string }[] };
    expect(doc.messages.map((m) => [m.messageId, m.kind])).toEqual([[id, 'permanent']]);
  });

  it('takes the envelope id of the 202 wherever it takes an id; an id that names nothing fails in one line', async () => {
    // Prepare
    const res = await ops.stage.post(
      '/v1/messages',
      probe({ mode: 'fail-permanent', tag: 'by-envelope-id' }),
    );
    expect(res.status, res.text).toBe(202);
    const { id, messageId } = res.body as { id: string; messageId: string };
    await deadLettered([messageId]);
    const nobody = randomUUID();

    // Act
    const show = await ops$(['dlq', 'show', id, '--json', '--local-env', envFile]);
    const redrive = await ops$(['dlq', 'redrive', '--ids', id, '--dry-run', '--local-env', envFile]);
    const replay = await ops$(['replay', '--ids', id, '--dry-run', '--local-env', envFile]);
    const unknown = await ops$(['dlq', 'redrive', '--ids', nobody, '--dry-run', '--local-env', envFile]);

    // Assess
    expect(show.stderr).toBe('');
    const shown = JSON.parse(show.stdout) as {
      message: { messageId: string; envelopeId: string };
      archive: { record: { messageId: string } };
    };
    expect(shown.message).toMatchObject({ messageId, envelopeId: id });
    expect(shown.archive.record.messageId).toBe(messageId);
    expect(redrive.status).toBe(0);
    expect(redrive.stdout).toMatch(
      new RegExp(`^standard\\s+${messageId}\\s+probe\\s+${id}\\s+permanent\\s+would-move`, 'm'),
    );
    expect(redrive.stdout.trimEnd().split('\n').at(-1)).toBe('would move 1, skipped 0, failed 0');
    // Still in the DLQ: replay skips it (and says why), by its envelope id too.
    expect(replay.status).toBe(0);
    expect(replay.stdout).toMatch(
      new RegExp(`^standard\\s+${messageId}\\s+probe\\s+${id}\\s+permanent\\s+skipped-dead-lettered`, 'm'),
    );
    expect(unknown.status).toBe(1);
    expect(unknown.stdout).toBe('');
    expect(unknown.stderr).toBe(
      `error: --ids: no dead-lettered message has the id ${nobody} (an envelope id or an SQS message id; dlq list shows them)\n`,
    );
    expect(await dlqDepth('StandardDlq')).toBe(1);
  });

  it('runs as npm run -s ops: status --json is one document naming all four queues', async () => {
    const out = await new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve) => {
      execFile(
        'npm',
        ['run', '-s', 'ops', '--', 'status', '--json', '--local-env', envFile],
        { cwd: ROOT, encoding: 'utf8', timeout: 60_000 },
        (error, stdout, stderr) =>
          resolve({ code: error ? ((error as { code?: number }).code ?? null) : 0, stdout, stderr }),
      );
    });

    expect(out.stderr).toBe('');
    expect(out.code).toBe(0);
    const doc = JSON.parse(out.stdout) as { queues: { queue: string; role: string }[] };
    expect(doc.queues.map((q) => `${q.queue}/${q.role}`)).toEqual([
      'standard/source',
      'standard/dlq',
      'fifo/source',
      'fifo/dlq',
    ]);
  });

  it('ends quietly with 141 when its reader has gone: npm run ops -- status --json | head -3', async () => {
    // npm's three header lines are all head reads: the tool then writes into a closed pipe.
    const out = await new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve) => {
      execFile(
        'bash',
        ['-c', `set -o pipefail; npm run ops -- status --json --local-env '${envFile}' | head -3`],
        { cwd: ROOT, encoding: 'utf8', timeout: 60_000 },
        (error, stdout, stderr) =>
          resolve({ code: error ? ((error as { code?: number }).code ?? null) : 0, stdout, stderr }),
      );
    });

    expect(out.stderr).toBe('');
    expect(out.code).toBe(141);
    const [blank, script, command] = out.stdout.split('\n');
    expect([blank, command]).toEqual([
      '',
      `> node --import tsx ops/main.ts status --json --local-env ${envFile}`,
    ]);
    expect(script).toMatch(/^> event-pipeline@\S+ ops$/);
  });

  it('names the default lanes in the env file; --lane selects one, and an unknown lane is refused listing them', async () => {
    // Prepare
    const env = JSON.parse(readFileSync(envFile, 'utf8')) as LocalEnv;
    const id = await accepted(probe({ mode: 'fail-permanent' }));
    await deadLettered([id]);

    // Act
    const standard = await ops$(['dlq', 'list', '--lane', 'standard', '--json', '--local-env', envFile]);
    const fifo = await ops$(['dlq', 'list', '--lane', 'fifo', '--json', '--local-env', envFile]);
    const unknown = await ops$(['dlq', 'list', '--lane', 'thumbnails', '--local-env', envFile]);

    // Assess
    expect(env.lanes).toEqual({
      standard: { queue: 'StandardQueue', dlq: 'StandardDlq', fifo: false },
      fifo: { queue: 'FifoQueue', dlq: 'FifoDlq', fifo: true },
    });
    expect(standard.status).toBe(0);
    const doc = JSON.parse(standard.stdout) as { messages: { lane: string; messageId: string }[] };
    expect(doc.messages.map((m) => [m.lane, m.messageId])).toEqual([['standard', id]]);
    expect((JSON.parse(fifo.stdout) as { messages: unknown[] }).messages).toEqual([]);
    expect(unknown.status).toBe(2);
    expect(unknown.stderr).toBe('error: no lane thumbnails in local (lanes: standard, fifo)\n');
    expect(unknown.stdout).toBe('');
  });

  it('reads an env file written before lanes existed (no lanes) through the redrive policies', async () => {
    const { lanes: _lanes, ...before } = JSON.parse(readFileSync(envFile, 'utf8')) as LocalEnv;
    const old = join(dir, 'env-before-lanes.json');
    writeFileSync(old, JSON.stringify(before));

    const out = await ops$(['status', '--json', '--local-env', old]);

    expect(out.stderr).toBe('');
    expect(out.status).toBe(0);
    const doc = JSON.parse(out.stdout) as { queues: { lane: string; role: string; name: string }[] };
    expect(doc.queues.map((q) => `${q.lane}/${q.role}`)).toEqual([
      'standard/source',
      'standard/dlq',
      'fifo/source',
      'fifo/dlq',
    ]);
    expect(doc.queues[0]!.name).toBe(ops.stage.queue('StandardQueue').name);
  });

  it('refuses an unfiltered redrive or replay without --yes when stdin is not a terminal; --yes moves', async () => {
    // Prepare
    const id = await accepted(probe({ mode: 'fail-permanent' }));
    await deadLettered([id]);

    // Act
    const redriveAll = await ops$(['dlq', 'redrive', '--local-env', envFile]);
    const replayLane = await ops$(['replay', '--lane', 'standard', '--local-env', envFile]);
    const depthAfterRefusals = await dlqDepth('StandardDlq');
    const confirmed = await ops$(['dlq', 'redrive', '--lane', 'standard', '--yes', '--local-env', envFile]);

    // Assess
    expect(redriveAll).toMatchObject({ status: 2, stdout: '' });
    expect(redriveAll.stderr).toBe(
      "error: dlq redrive without --type, --kind or --ids moves every message of every lane's DLQ (1 message) back to its queue: add --yes (or --dry-run)\n",
    );
    expect(replayLane).toMatchObject({ status: 2, stdout: '' });
    expect(replayLane.stderr).toBe(
      'error: replay without --type, --kind, --since, --until or --ids re-enqueues every archived message of the standard lane: add --yes (or --dry-run)\n',
    );
    expect(depthAfterRefusals).toBe(1);
    expect(confirmed.status).toBe(0);
    expect(confirmed.stdout.trimEnd().split('\n').at(-1)).toBe('moved 1, skipped 0, failed 0');
  });

  it('refuses a purge without --yes (exit 2) and reports a missing local mode (exit 1), one line each', async () => {
    const purge = await ops$(['purge', '--queue', 'standard', '--local-env', envFile]);
    const missing = await ops$(['status', '--local-env', join(dir, 'nope.json')]);
    const badKind = await ops$(['dlq', 'redrive', '--kind', 'sometimes', '--local-env', envFile]);

    expect(purge.status).toBe(2);
    expect(purge.stderr).toMatch(/^error: purge deletes every message .* add --yes/);
    expect(missing.status).toBe(1);
    expect(missing.stderr).toMatch(/^error: local mode is not running/);
    expect(badKind.status).toBe(2);
    expect(badKind.stderr).toBe(
      'error: --kind sometimes: use permanent, exhausted, unknown, deferral-exhausted\n',
    );
    for (const r of [purge, missing, badKind]) {
      expect(r.stdout).toBe('');
      expect(r.stderr.trim().split('\n')).toHaveLength(1);
    }
  });
});
