import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { COMMANDS } from '../../ops/commands';
import { runCli, type Io } from '../../ops/lib/cli';
import { startStage, waitFor, type LocalStage } from '../../tools/local-stage';
import { probe } from '../helpers/local';

// `ops events` on the running local stage: a message's terminal status write goes through the
// status table's stream, the completion relay (a real sandbox) and the stage's bus into the
// events log, and the CLI shows exactly that message's event.
let stage: LocalStage;
let dir: string;
let envFile: string;

beforeAll(async () => {
  dir = mkdtempSync(path.join(tmpdir(), 'ops-events-e2e-'));
  envFile = path.join(dir, 'env.json');
  stage = await startStage({ envFile });
});
afterAll(async () => {
  await stage?.stop();
  rmSync(dir, { recursive: true, force: true });
});

async function ops(...argv: string[]) {
  const out = { stdout: '', stderr: '' };
  const io: Io = {
    stdout: (t) => (out.stdout += t),
    stderr: (t) => (out.stderr += t),
    isTTY: false,
    cwd: dir,
  };
  const code = await runCli([...argv, '--local-env', envFile], io, COMMANDS);
  return { code, ...out };
}

describe('ops events on the local stage', () => {
  it('shows the one completion event of a succeeded and of a permanently failed message', async () => {
    const ok = await stage.post('/v1/messages', probe({ mode: 'succeed', result: { n: 1 } }));
    const bad = await stage.post('/v1/messages', probe({ mode: 'fail-permanent' }));
    expect([ok.status, bad.status], ok.text).toEqual([202, 202]);

    const events = async (id: string) => {
      const r = await ops('events', '--id', id, '--json');
      expect(r.stderr).toBe('');
      return JSON.parse(r.stdout).events as Record<string, unknown>[];
    };
    await waitFor('the succeeded event', async () => (await events(ok.body.id)).length > 0);
    const badEvents = await waitFor('the failed event', async () => {
      const e = await events(bad.body.id);
      return e.length > 0 && e;
    });

    const okRow = (await stage.get(`/v1/messages/${ok.body.id}`)).body;
    // Read again once both are there: still one event each.
    expect(await events(ok.body.id)).toEqual([
      {
        time: expect.any(String),
        detailType: 'Message Succeeded',
        envelopeId: ok.body.id,
        type: 'probe',
        lane: 'standard',
        status: 'succeeded',
        attempts: 1,
        failureKind: null,
        eventId: `${ok.body.id}:succeeded:${okRow.updatedAt}`,
        correlationId: okRow.correlationId,
      },
    ]);
    expect(badEvents).toMatchObject([
      { detailType: 'Message Failed', envelopeId: bad.body.id, status: 'failed', failureKind: 'permanent' },
    ]);
    const all = await ops('events', '--limit', '50');
    expect(all.code).toBe(0);
    expect(all.stdout).toContain(ok.body.id);
    expect(all.stdout).toContain(bad.body.id);
  });
});
