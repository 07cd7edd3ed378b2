import { describe, expect, it } from 'vitest';
import emailSend, { recipientRef } from '../../app/jobs/email-send';
import { PermanentError } from '../../lambda/shared/errors';
import { catalogFromRegistry } from '../../lambda/producer/catalog';
import { silentLogger } from '../helpers/aws-fakes';
import { defaultRegistry } from '../../tools/example-registry';

const valid = { to: 'Ada@Example.org', subject: 'hi', body: 'x' };

describe('email.send (reference app)', () => {
  it('refuses a subject with CR or LF (header injection) at the door', () => {
    const catalog = catalogFromRegistry(defaultRegistry);

    const r = catalog.validate('email.send', { ...valid, subject: 'x\r\nBcc: all@example.org' });

    expect(r).toEqual({
      ok: false,
      issues: [{ field: 'payload.subject', message: 'one line: no CR or LF' }],
    });
  });

  it('logs the recipient as a hash and its domain, never the address', async () => {
    const lines: unknown[] = [];
    const logger = Object.assign(silentLogger(), { info: (...args: unknown[]) => lines.push(args) });

    await emailSend.handle(valid, {
      messageId: 'm',
      receiveCount: 1,
      correlationId: 'c',
      logger: logger as never,
      signal: new AbortController().signal,
      enqueue: () => Promise.reject(new Error('no follow-up jobs here')),
    });

    expect(JSON.stringify(lines)).not.toMatch(/ada@example\.org/i);
    expect(JSON.stringify(lines)).toContain(recipientRef('ada@example.org'));
    expect(recipientRef('Ada@Example.org')).toMatch(/^[0-9a-f]{12}@example\.org$/);
  });

  it('fails permanently for a .invalid recipient with a message that names no address', async () => {
    const run = emailSend.handle(
      { ...valid, to: 'someone@mail.invalid' },
      {
        messageId: 'm',
        receiveCount: 1,
        correlationId: 'c',
        logger: silentLogger(),
        signal: new AbortController().signal,
        enqueue: () => Promise.reject(new Error('no follow-up jobs here')),
      },
    );

    await expect(run).rejects.toBeInstanceOf(PermanentError);
    await expect(run).rejects.not.toThrow(/someone/);
  });
});
