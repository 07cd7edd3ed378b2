import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createLocalLogger } from '../../local/log';
import type { FunctionSpec } from '../../local/template/topology';
import { FunctionHost } from '../../local/functions/host';

/** A tiny bundled "asset": every behaviour the host must handle, selected by the event. */
const HANDLER = `
let invocations = 0;
const loadedAt = Date.now();
export const handler = async (event, context) => {
  invocations++;
  switch (event.action) {
    case 'echo':
      return { event, invocations, loadedAt, env: { MY_VAR: process.env.MY_VAR, AWS_REGION: process.env.AWS_REGION },
        context: { functionName: context.functionName, functionVersion: context.functionVersion, memoryLimitInMB: context.memoryLimitInMB,
          invokedFunctionArn: context.invokedFunctionArn, awsRequestId: context.awsRequestId, logGroupName: context.logGroupName,
          remaining: context.getRemainingTimeInMillis() } };
    case 'throw': { const e = new Error('boom'); e.name = 'BoomError'; throw e; }
    case 'spin': { const end = Date.now() + 10_000; while (Date.now() < end) {} return 'late'; }
    case 'wait': await new Promise((r) => setTimeout(r, event.ms)); return { invocations };
    case 'exit': process.exit(3);
    case 'undefined': return undefined;
  }
};
`;

let dir: string;
const hosts: FunctionHost[] = [];

function host(overrides: Partial<FunctionSpec> = {}, maxConcurrency = 2): FunctionHost {
  const spec: FunctionSpec = {
    logicalId: 'TestFunctionABCDEF12',
    resource: {
      logicalId: 'TestFunctionABCDEF12',
      type: 'AWS::Lambda::Function',
      properties: {},
      metadata: {},
      dependsOn: [],
      stackName: 'S',
    },
    name: 'S-TestFunction-abc',
    arn: 'arn:aws:lambda:us-east-1:000000000000:function:S-TestFunction-abc',
    file: path.join(dir, 'index.mjs'),
    exportName: 'handler',
    handler: 'index.handler',
    runtime: 'nodejs24.x',
    timeoutSeconds: 1,
    memoryMb: 128,
    ...overrides,
  };
  const h = new FunctionHost({
    spec,
    env: { MY_VAR: 'from-template', AWS_REGION: 'eu-west-1' },
    maxConcurrency,
    logger: createLocalLogger('silent'),
    logGroupName: '/aws/lambda/S-TestFunction-abc',
  });
  hosts.push(h);
  return h;
}

beforeAll(() => {
  dir = mkdtempSync(path.join(tmpdir(), 'local-worker-host-'));
  writeFileSync(path.join(dir, 'index.mjs'), HANDLER);
  writeFileSync(path.join(dir, 'broken.mjs'), 'throw new Error("init failed");');
});

afterEach(async () => {
  await Promise.all(hosts.splice(0).map((h) => h.stop()));
});

afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('local function host', () => {
  it('runs the handler with its own environment and a Lambda-like context', async () => {
    const out = await host().invoke({ action: 'echo', n: 1 });
    expect(out.ok).toBe(true);
    const payload = (
      out as {
        payload: { event: unknown; env: unknown; context: Record<string, unknown> & { remaining: number } };
      }
    ).payload;
    expect(payload.event).toEqual({ action: 'echo', n: 1 });
    expect(payload.env).toEqual({ MY_VAR: 'from-template', AWS_REGION: 'eu-west-1' });
    expect(payload.context).toMatchObject({
      functionName: 'S-TestFunction-abc',
      functionVersion: '$LATEST',
      memoryLimitInMB: '128',
      invokedFunctionArn: 'arn:aws:lambda:us-east-1:000000000000:function:S-TestFunction-abc',
      awsRequestId: out.requestId,
      logGroupName: '/aws/lambda/S-TestFunction-abc',
    });
    expect(payload.context.remaining).toBeGreaterThan(0);
    expect(payload.context.remaining).toBeLessThanOrEqual(1000);
  });

  it('reuses a warm sandbox for the next invocation', async () => {
    const h = host();
    const first = (await h.invoke({ action: 'echo' })) as {
      payload: { invocations: number; loadedAt: number };
    };
    const second = (await h.invoke({ action: 'echo' })) as {
      payload: { invocations: number; loadedAt: number };
    };
    expect(second.payload.invocations).toBe(2);
    expect(second.payload.loadedAt).toBe(first.payload.loadedAt);
    expect(h.sandboxes).toBe(1);
  });

  it('returns null for a handler that returns undefined, as Lambda serializes it', async () => {
    expect(await host().invoke({ action: 'undefined' })).toMatchObject({ ok: true, payload: null });
  });

  it('reports a thrown error by its name and message', async () => {
    expect(await host().invoke({ action: 'throw' })).toMatchObject({
      ok: false,
      error: { name: 'BoomError', message: 'boom' },
    });
  });

  it('terminates a sandbox that outlives the timeout and starts a fresh one next time', async () => {
    const h = host();
    const timedOut = await h.invoke({ action: 'spin' });
    expect(timedOut).toMatchObject({
      ok: false,
      error: { name: 'Sandbox.Timedout', message: 'Task timed out after 1.00 seconds' },
    });
    const next = await h.invoke({ action: 'echo' });
    expect(next).toMatchObject({ ok: true, payload: { invocations: 1 } });
  });

  it('reports a runtime that exits as Runtime.ExitError and replaces the sandbox', async () => {
    const h = host();
    await h.invoke({ action: 'echo' });
    const crashed = await h.invoke({ action: 'exit' });
    expect(crashed).toMatchObject({
      ok: false,
      error: { name: 'Runtime.ExitError', message: 'Runtime exited with error: exit status 3' },
    });
    expect(await h.invoke({ action: 'echo' })).toMatchObject({ ok: true, payload: { invocations: 1 } });
  });

  it('reports a module that fails to load as the invocation error', async () => {
    const out = await host({ file: path.join(dir, 'broken.mjs') }).invoke({});
    expect(out).toMatchObject({ ok: false, error: { name: 'Error', message: 'init failed' } });
  });

  it('reports a missing export as Runtime.HandlerNotFound', async () => {
    const out = await host({ exportName: 'nope', handler: 'index.nope' }).invoke({});
    expect(out).toMatchObject({ ok: false, error: { name: 'Runtime.HandlerNotFound' } });
  });

  it('never runs more sandboxes than its concurrency limit', async () => {
    const h = host({ timeoutSeconds: 5 }, 2);
    const results = await Promise.all(Array.from({ length: 5 }, () => h.invoke({ action: 'wait', ms: 150 })));
    expect(results.every((r) => r.ok)).toBe(true);
    expect(h.sandboxes).toBe(2);
  });

  it('fails invocations after stop', async () => {
    const h = host();
    await h.stop();
    expect(await h.invoke({ action: 'echo' })).toMatchObject({ ok: false, error: { name: 'Local.Stopped' } });
  });
});
