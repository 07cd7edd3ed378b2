import { mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LocalAuth } from '../../local/apigateway/local-auth';
import { startApiServer, type ApiServer } from '../../local/apigateway/server';
import { refuseForeignRequest } from '../../local/control/request-guard';
import { Journal } from '../../local/control/journal';
import { writeEnvFile, type LocalEnv } from '../../local/index';
import { createLocalLogger } from '../../local/log';

describe('local request guard (refuseForeignRequest)', () => {
  it.each(['127.0.0.1:3000', 'localhost:3000', 'localhost', '[::1]:3000', 'LOCALHOST:3000'])(
    'serves a tool that names loopback host %s and sends no Origin',
    (host) => {
      expect(refuseForeignRequest({ host })).toBeUndefined();
    },
  );

  it('serves a page of local mode itself (same-origin Origin on loopback)', () => {
    expect(refuseForeignRequest({ host: '127.0.0.1:3000', origin: 'http://127.0.0.1:3000' })).toBeUndefined();
  });

  it.each([
    [{ host: 'attacker.example:3000' }, 'Host "attacker.example:3000" is not a loopback name'],
    [{ host: '127.0.0.1.nip.io:3000' }, 'is not a loopback name'],
    [{}, 'Host "" is not a loopback name'],
    [{ host: '127.0.0.1:3000', origin: 'https://attacker.example' }, 'cross-site request from origin'],
    [{ host: '127.0.0.1:3000', origin: 'null' }, 'opaque origin'],
    [{ host: '127.0.0.1:3000', 'sec-fetch-site': 'cross-site' }, 'Sec-Fetch-Site'],
  ])('refuses %j, saying why', (headers, why) => {
    expect(refuseForeignRequest(headers)).toContain(why);
  });
});

describe('local API server behind the guard', () => {
  let server: ApiServer;
  beforeAll(async () => {
    server = await startApiServer({
      port: 0,
      auth: LocalAuth.create({ region: 'us-east-1', accountId: '000000000000', stackName: 'S' }),
      accountId: '000000000000',
      hosts: new Map(),
      journal: new Journal(10),
      logger: createLocalLogger('silent'),
      local: { health: () => ({ status: 'ok' }), alarms: () => [], triggerSchedule: () => undefined },
    });
  });
  afterAll(async () => {
    await server.stop();
  });

  /** A raw request with the headers given (fetch cannot set Host). */
  function get(path: string, headers: Record<string, string>): Promise<{ status: number; body: string }> {
    return new Promise((resolve, reject) => {
      const req = request({ host: '127.0.0.1', port: server.port, path, headers, setHost: false }, (res) => {
        let body = '';
        res.on('data', (c: Buffer) => (body += c.toString()));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
      });
      req.on('error', reject);
      req.end();
    });
  }

  it('answers the journal to a request on a loopback host', async () => {
    const res = await get('/_local/invocations', { host: `127.0.0.1:${server.port}` });

    expect(res.status).toBe(200);
    expect(JSON.parse(res.body)).toEqual([]);
  });

  it('refuses a DNS-rebound request (a foreign Host) with 403 and the JSON error shape', async () => {
    const res = await get('/_local/invocations', { host: `rebind.attacker.example:${server.port}` });

    expect(res.status).toBe(403);
    expect(JSON.parse(res.body).error).toMatchObject({
      code: 'Forbidden',
      message: expect.stringContaining('Host'),
    });
  });

  it('refuses a cross-site request to the API and to /_local', async () => {
    const headers = { host: `127.0.0.1:${server.port}`, origin: 'https://attacker.example' };

    expect((await get('/v1/messages', headers)).status).toBe(403);
    expect((await get('/_local/alarms', headers)).status).toBe(403);
  });
});

describe('the env file', () => {
  it('is readable by its owner only, also when an older one was world-readable', () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'env-file-'));
    const file = path.join(dir, '.local', 'env.json');
    mkdirSync(path.dirname(file));
    writeFileSync(file, '{}', { mode: 0o644 });

    writeEnvFile(file, { apiKey: 'secret' } as unknown as LocalEnv);

    expect(statSync(file).mode & 0o777).toBe(0o600);
    expect(JSON.parse(readFileSync(file, 'utf8'))).toEqual({ apiKey: 'secret' });
    rmSync(dir, { recursive: true, force: true });
  });
});
