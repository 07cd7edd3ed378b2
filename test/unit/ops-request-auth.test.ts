import { describe, expect, it } from 'vitest';
import { verifySigV4 } from '../../local/apigateway/sigv4';
import { authHeaders } from '../../ops/lib/request-auth';

const CREDENTIALS = { accessKeyId: 'AKIAEXAMPLE000000001', secretAccessKey: 'x'.repeat(40) };
const URL_ = 'http://127.0.0.1:3000/v1/messages?dry=1';
const BODY = JSON.stringify({ type: 'probe', payload: { mode: 'succeed' } });
const noKey = (): never => {
  throw new Error('no key');
};

/** The headers as Node's `rawHeaders` would carry them. */
const raw = (headers: Record<string, string>) => Object.entries(headers).flat();

describe('ops: authenticating API requests the stage’s way', () => {
  it('sends the API key on an apiKey stage, and fails without one', async () => {
    const target = { name: 'local', region: 'us-east-1', auth: { mode: 'apiKey' as const, apiKey: 'k-1' } };

    expect(await authHeaders(target, { method: 'GET', url: URL_, headers: {} }, noKey)).toEqual({
      'x-api-key': 'k-1',
    });
    await expect(
      authHeaders({ ...target, auth: { mode: 'apiKey' } }, { method: 'GET', url: URL_, headers: {} }, noKey),
    ).rejects.toThrow('no key');
  });

  it('signs with SigV4 on an iam stage, as local mode’s verifier (and so API Gateway) accepts', async () => {
    const target = {
      name: 'local',
      region: 'eu-west-1',
      auth: { mode: 'iam' as const, credentials: CREDENTIALS },
    };

    const headers = await authHeaders(
      target,
      { method: 'POST', url: URL_, headers: { 'content-type': 'application/json' }, body: BODY },
      noKey,
    );

    expect(headers.authorization).toMatch(
      /^AWS4-HMAC-SHA256 Credential=AKIAEXAMPLE000000001\/\d{8}\/eu-west-1\/execute-api\/aws4_request/,
    );
    const received = {
      method: 'POST',
      target: '/v1/messages?dry=1',
      rawHeaders: raw(headers),
      body: Buffer.from(BODY),
    };
    const verdict = verifySigV4(received, {
      region: 'eu-west-1',
      now: new Date(),
      secretOf: (id) => (id === CREDENTIALS.accessKeyId ? CREDENTIALS.secretAccessKey : undefined),
    });
    expect(verdict).toMatchObject({ ok: true });
    // The same headers do not authenticate another body.
    expect(
      verifySigV4(
        { ...received, body: Buffer.from(BODY.replace('succeed', 'crash')) },
        { region: 'eu-west-1', now: new Date(), secretOf: () => CREDENTIALS.secretAccessKey },
      ),
    ).toMatchObject({ ok: false });
  });

  it('uses the API key of a target from before auth modes existed', async () => {
    const old = { name: 'dev', region: 'us-east-1', apiKey: 'legacy' };

    expect(await authHeaders(old, { method: 'GET', url: URL_, headers: {} }, noKey)).toEqual({
      'x-api-key': 'legacy',
    });
  });
});
