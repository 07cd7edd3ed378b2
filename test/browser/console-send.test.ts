import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { countWaiting } from '../../ops/lib/waiting';
import { startStage, waitFor, type LocalStage } from '../../tools/local-stage';
import { probe } from '../helpers/local';
import { launchChromium, openPage } from './chromium';
import { keepScreenshot } from './screenshots';

// The local console's waiting counts per lane, a message's status transitions and its send form,
// in Debian's Chromium on a running local stage.
let stage: LocalStage;
let browser: Browser;

beforeAll(async () => {
  stage = await startStage();
  browser = await launchChromium();
});
afterAll(async () => {
  await browser?.close();
  await stage?.stop();
});

/** The console in a new page, live (its event stream open). */
async function openConsole(): Promise<{ page: Page; errors: string[] }> {
  const opened = await openPage(browser, stage.local.env.consoleUrl!);
  await opened.page.locator('#connection[data-state="live"]').waitFor();
  await opened.page.locator('#queue-table tbody tr').first().waitFor();
  return opened;
}

const statusOf = async (id: string) =>
  (await stage.get(`/v1/messages/${id}`)).body as Record<string, unknown>;

describe('local console: work that waits, status transitions, send', () => {
  it('shows scheduled and deferred counts per lane, as the status table has them', async () => {
    // Arrange: one message sent to run in 10 minutes, one whose handler defers it by 10 minutes.
    const notBefore = new Date(Date.now() + 600_000).toISOString();
    const scheduled = await stage.post(
      '/v1/messages',
      probe({ mode: 'succeed', tag: 'later' }, { notBefore }),
    );
    const deferred = await stage.post(
      '/v1/messages',
      probe({ mode: 'succeed', deferTimes: 1, deferSeconds: 600, tag: 'defer' }),
    );
    expect([scheduled.status, deferred.status], deferred.text).toEqual([202, 202]);
    await waitFor(
      'the probe deferred by its handler',
      async () => (await statusOf(deferred.body.id)).status === 'deferred',
    );
    const table = stage.local.env.tables.StatusTable ?? Object.values(stage.local.env.tables)[0]!;
    const db = new DynamoDBClient({
      endpoint: stage.local.env.dynamodbEndpoint,
      region: stage.local.env.region,
      credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
    });
    const counted = await countWaiting(db, table);
    db.destroy();

    // Act
    const { page, errors } = await openConsole();

    // Assert: the topology's lane and the queue table, each 1 on the standard lane, 0 on fifo.
    expect(counted.lanes).toEqual({ standard: { deferred: 1, scheduled: 1 } });
    const lane = page.locator('[data-part="q:StandardQueue"]');
    await waitFor(
      'the counts on the standard lane',
      async () =>
        (await lane.locator('[data-field="scheduled"]').textContent()) === '1' &&
        (await lane.locator('[data-field="deferred"]').textContent()) === '1',
    );
    const row = page.locator('#queue-table tr[data-queue="StandardQueue"]');
    expect(await row.locator('[data-field="scheduled"]').textContent()).toBe('1');
    expect(await row.locator('[data-field="deferred"]').textContent()).toBe('1');
    const fifo = page.locator('[data-part="q:FifoQueue"]');
    expect(await fifo.locator('[data-field="scheduled"]').textContent()).toBe('0');
    expect(await fifo.locator('[data-field="deferred"]').textContent()).toBe('0');
    expect(
      await page.locator('#queue-table tr[data-queue="StandardDlq"] [data-field="scheduled"]').textContent(),
    ).toBe('–');
    expect(await page.locator('#waiting-note').textContent()).toMatch(/every 5 s\)\.$/);
    expect(errors).toEqual([]);
  });

  it("lists a message's status transitions in order, each saying where it comes from", async () => {
    // Arrange: a probe its handler defers once by 2 s, then succeeds.
    const { page, errors } = await openConsole();
    const sent = await stage.post(
      '/v1/messages',
      probe({ mode: 'succeed', deferTimes: 1, deferSeconds: 2, tag: 'transitions' }),
    );
    expect(sent.status, sent.text).toBe(202);
    await waitFor('it succeeded', async () => (await statusOf(sent.body.id)).status === 'succeeded', 30_000);

    // Act
    await page.getByLabel('Message id', { exact: true }).fill(sent.body.id);
    await page.getByLabel('Message id', { exact: true }).press('Enter');

    // Assert
    const items = page.locator('#transitions li');
    await items.first().waitFor({ timeout: 30_000 });
    const shown = await items.evaluateAll((lis) =>
      lis.map((li) => `${li.getAttribute('data-state')}:${li.getAttribute('data-source')}`),
    );
    expect(shown).toEqual([
      'accepted:row',
      'processing:journal',
      'deferred:derived',
      'processing:journal',
      'succeeded:journal',
    ]);
    const times = await items.locator('time').evaluateAll((ts) => ts.map((t) => t.getAttribute('datetime')!));
    expect(times).toHaveLength(5);
    expect([...times].sort()).toEqual(times);
    expect(await items.nth(2).textContent()).toContain('its handler deferred it (the row counts 1 deferral)');

    // Arrange: a message sent to run 3 s later, seen on its queue by the open page.
    const notBefore = new Date(Date.now() + 3000).toISOString();
    const later = await stage.post(
      '/v1/messages',
      probe({ mode: 'succeed', tag: 'transitions-later' }, { notBefore }),
    );
    expect(later.status, later.text).toBe(202);
    await waitFor('it ran', async () => (await statusOf(later.body.id)).status === 'succeeded', 30_000);

    // Act
    await page.getByLabel('Message id', { exact: true }).fill(later.body.id);
    await page.getByLabel('Message id', { exact: true }).press('Enter');

    // Assert: scheduled first (its notBefore named), then its run
    await page.locator(`#message-result code:text-is("${later.body.id}")`).first().waitFor();
    await items.first().waitFor();
    const states = await items.evaluateAll((lis) =>
      lis.map((li) => `${li.getAttribute('data-state')}:${li.getAttribute('data-source')}`),
    );
    expect(states[0]).toBe('scheduled:row');
    expect(await items.first().textContent()).toContain(`sent to run at ${notBefore}`);
    expect(states.slice(-2)).toEqual(['processing:journal', 'succeeded:journal']);
    expect(errors).toEqual([]);
  });

  it('sends a message from the form: refuses an invalid payload in the page, shows the 202 and opens the message', async () => {
    // Arrange
    const { page, errors } = await openConsole();
    const sends: string[] = [];
    page.on('request', (r) => {
      if (r.url().endsWith('/_local/console/actions/send')) sends.push(r.url());
    });
    await page.locator('#send-type option[value="probe"]').waitFor({ state: 'attached' });
    await page.getByLabel('Job type', { exact: true }).selectOption('probe');
    const payload = page.getByLabel('Payload (JSON)', { exact: true });
    for (const label of ['Ordering key', 'Not before', 'Idempotency key'])
      expect(await page.getByLabel(label, { exact: true }).count()).toBe(1);

    // Act: a mode the schema does not have, and a property it does not allow
    await payload.fill('{"mode":"explode","colour":"red"}');
    await page.getByRole('button', { name: 'Send', exact: true }).click();

    // Assert: refused in the page, naming the fields; nothing sent
    await page.locator('#send-errors li').first().waitFor();
    const refused = await page.locator('#send-errors li').allTextContents();
    expect(refused[0]).toMatch(/^payload\.mode must be one of: "succeed", /);
    expect(refused[1]).toBe('payload.colour is not allowed');
    expect(refused).toHaveLength(2);
    expect(await payload.getAttribute('aria-invalid')).toBe('true');
    expect(sends).toEqual([]);

    // Act: a valid payload with a notBefore past the lane's cap: the API's own 400
    await payload.fill('{"mode":"succeed","tag":"console-send"}');
    await page.getByLabel('Not before', { exact: true }).fill('2099-01-01T00:00:00Z');
    await page.getByRole('button', { name: 'Send', exact: true }).click();
    await page.locator('#send-answer[data-status="400"]').waitFor({ timeout: 30_000 });
    expect(await page.locator('#send-answer').textContent()).toContain('(field notBefore)');

    // Act: valid
    await page.getByLabel('Not before', { exact: true }).fill('');
    await page.getByRole('button', { name: 'Send', exact: true }).click();

    // Assert: the API's 202 and its id, whose link opens the message
    await page.locator('#send-answer[data-status="202"]').waitFor({ timeout: 30_000 });
    const id = (await page.locator('#send-id a').textContent())!;
    await keepScreenshot(page, 'console-send', '#send');
    const row = await statusOf(id);
    expect(row).toMatchObject({ id, type: 'probe' });
    expect(sends).toHaveLength(2);
    await page.locator('#send-id a').click();
    await page.locator('#message-status[data-status="succeeded"]').waitFor({ timeout: 30_000 });
    expect(await page.getByLabel('Message id', { exact: true }).inputValue()).toBe(id);
    expect(errors).toEqual([]);
  });

  it('scrolls the invocations list to its oldest entry, drawing only the rows in view', async () => {
    // Arrange: 5,000 synthetic runs older than anything else in the journal.
    const start = Date.parse('2020-01-01T00:00:00.000Z');
    for (let i = 0; i < 5000; i++)
      stage.local.journal.record({
        function: 'ConsumerHandlerFunctionA611E05C',
        startedAt: new Date(start + i * 10).toISOString(),
        durationMs: 5,
        messageIds: [`scroll-${i}`],
        batchItemFailures: [],
        error: null,
      });
    const { page, errors } = await openConsole();
    const rows = page.locator('#invocation-table tbody tr');
    await rows.first().waitFor();

    // Act
    await page.locator('#journal-scroll').evaluate((box) => (box.scrollTop = box.scrollHeight));

    // Assert: the oldest row, at its place in the list, among a window of rows
    const oldest = page.locator('#invocation-table tbody tr', {
      has: page.locator('td.id', { hasText: /^scroll-0$/ }),
    });
    await oldest.waitFor();
    // One read of the page (the journal may grow meanwhile: other tests' scheduled and deferred
    // messages keep being delivered, so its length is not pinned from the test's side).
    const seen = await page.locator('#invocation-table').evaluate((table) => {
      const last = [...table.querySelectorAll('tbody tr')].find(
        (tr) => tr.querySelector('td.id')?.textContent === 'scroll-0',
      );
      return {
        rowCount: Number(table.getAttribute('aria-rowcount')),
        oldestIndex: Number(last?.getAttribute('aria-rowindex')),
        rows: table.querySelectorAll('tbody tr').length,
        text: table.ownerDocument.querySelector('#journal-count')?.textContent ?? '',
      };
    });
    const total = seen.rowCount - 1;
    expect(total).toBeGreaterThanOrEqual(5000);
    expect(total).toBeLessThanOrEqual(stage.local.journal.length);
    expect(seen.oldestIndex).toBe(seen.rowCount);
    expect(seen.rows).toBeLessThanOrEqual(120);
    const shown = /^(\d+) in the journal · (\d+)–(\d+) shown, newest first/.exec(seen.text);
    expect(shown, seen.text).not.toBeNull();
    expect(Number(shown![3])).toBe(total);
    // The journal's length comes with the last pushed snapshot (each second), the window with its
    // own fetch: either may be the newer one.
    expect(Number(shown![1])).toBeGreaterThanOrEqual(5000);
    expect(errors).toEqual([]);
  });

  it('refuses a send without the console token', async () => {
    // Act
    const res = await fetch(`${stage.local.env.consoleUrl}/actions/send`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ type: 'probe', payload: { mode: 'succeed' } }),
    });

    // Assert
    expect(res.status).toBe(403);
    expect(((await res.json()) as { error: { field: string } }).error.field).toBe('x-console-token');
  });
});
