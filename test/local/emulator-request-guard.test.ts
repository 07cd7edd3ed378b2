import { ListTablesCommand } from '@aws-sdk/client-dynamodb';
import { ListQueuesCommand } from '@aws-sdk/client-sqs';
import { request, type IncomingHttpHeaders } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startDynamo, type DynamoEmulator } from '../../local/aws/dynamodb';
import { startEmulator, type Emulator } from '../../local/aws/emulator';
import { refuseForeignRequest as emulatorGuard } from '../../local/aws/foreign-request.mjs';
import { refuseForeignRequest as apiGuard } from '../../local/control/request-guard';

/** One raw HTTP request to `endpoint` with `headers`: its status, headers and body. */
function send(
  endpoint: string,
  headers: Record<string, string>,
  method = 'POST',
): Promise<{ status: number; headers: IncomingHttpHeaders; body: string }> {
  const url = new URL(endpoint);
  return new Promise((resolve, reject) => {
    const req = request(
      {
        host: url.hostname,
        port: url.port,
        path: '/',
        method,
        headers: { 'content-type': 'application/x-amz-json-1.0', ...headers },
      },
      (res) => {
        let body = '';
        res.on('data', (c: Buffer) => (body += c.toString()));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
      },
    );
    req.on('error', reject);
    req.end(method === 'POST' ? '{}' : undefined);
  });
}

const FOREIGN_CASES: Record<string, string>[] = [
  { host: 'attacker.example:4566' },
  { host: '127.0.0.1.nip.io:4566' },
  { host: '127.0.0.1:4566', origin: 'https://attacker.example' },
  { host: '127.0.0.1:4566', origin: 'null' },
  { host: '127.0.0.1:4566', 'sec-fetch-site': 'cross-site' },
];

describe('emulator request guard', () => {
  it.each([
    ...FOREIGN_CASES,
    { host: '127.0.0.1:4566' },
    { host: 'localhost:4566', origin: 'http://localhost:3000' },
    { host: '[::1]:4566' },
    {},
  ])('answers %j as the API guard does', (headers) => {
    expect(emulatorGuard(headers)).toBe(apiGuard(headers));
  });

  it("serves the emulator's own names under .localhost (its SQS endpoint and queue URLs)", () => {
    expect(emulatorGuard({ host: 'sqs.us-east-1.localhost:4566' })).toBeUndefined();
    expect(emulatorGuard({ host: 'sqs.us-east-1.localhost.attacker.example:4566' })).toContain(
      'is not a loopback name',
    );
  });
});

describe('embedded emulators behind the guard', () => {
  let dynamo: DynamoEmulator;
  let emulator: Emulator;
  beforeAll(async () => {
    [dynamo, emulator] = await Promise.all([
      startDynamo({ port: 0, region: 'us-east-1' }),
      startEmulator({ port: 0, region: 'us-east-1' }),
    ]);
  });
  afterAll(async () => {
    await Promise.all([dynamo?.stop(), emulator?.stop()]);
  });

  it.each(FOREIGN_CASES)('DynamoDB: refuses %j with 403 and no CORS grant', async (headers) => {
    const res = await send(dynamo.endpoint, { ...headers, 'x-amz-target': 'DynamoDB_20120810.ListTables' });

    expect(res.status).toBe(403);
    expect(res.headers['access-control-allow-origin']).toBeUndefined();
    expect(JSON.parse(res.body)).toEqual({
      __type: 'AccessDeniedException',
      message: `local mode serves this machine only: ${emulatorGuard(headers)}`,
    });
  });

  it('DynamoDB: refuses a cross-site CORS preflight', async () => {
    const res = await send(
      dynamo.endpoint,
      {
        host: `127.0.0.1:${dynamo.port}`,
        origin: 'https://attacker.example',
        'access-control-request-method': 'POST',
      },
      'OPTIONS',
    );

    expect(res.status).toBe(403);
    expect(res.headers['access-control-allow-origin']).toBeUndefined();
  });

  it('DynamoDB: serves the SDK on loopback', async () => {
    const out = await dynamo.client.send(new ListTablesCommand({}));

    expect(out.TableNames).toEqual([]);
  });

  it.each(FOREIGN_CASES)('SQS/S3: refuses %j with 403', async (headers) => {
    const res = await send(emulator.endpoint, { ...headers, 'x-amz-target': 'AmazonSQS.ListQueues' });

    expect(res.status).toBe(403);
    expect(res.headers['access-control-allow-origin']).toBeUndefined();
    expect(JSON.parse(res.body).message).toBe(
      `local mode serves this machine only: ${emulatorGuard(headers)}`,
    );
  });

  it('SQS: serves the SDK on loopback', async () => {
    const out = await emulator.sqs.send(new ListQueuesCommand({}));

    expect(out.QueueUrls ?? []).toEqual([]);
  });
});
