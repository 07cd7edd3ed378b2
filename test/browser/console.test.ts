import { SendMessageCommand } from '@aws-sdk/client-sqs';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readQueueDepth } from '../../ops/lib/queue-depth';
import { startStage, waitFor, type LocalStage } from '../../tools/local-stage';
import { probe } from '../helpers/local';
import { launchChromium, openPage } from './chromium';
import { keepScreenshot } from './screenshots';

// The local console (GET /_local/console) in Debian's Chromium, on a running local stage: what it
// shows is what SQS, the journal and the status table hold, and it follows them live (no reload).
let stage: LocalStage;
let browser: Browser;
const pages: { page: Page; errors: string[] }[] = [];

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
  pages.push(opened);
  await opened.page.locator('#connection[data-state="live"]').waitFor();
  await opened.page.locator('#queue-table tbody tr').first().waitFor();
  return opened;
}

const CONSUMER = 'ConsumerHandlerFunctionA611E05C';

describe('local console', () => {
  it('is served at the env file consoleUrl, and /_local/ leads there', async () => {
    // Arrange
    const { consoleUrl, apiUrl } = stage.local.env;

    // Act
    const redirect = await fetch(`${apiUrl}/_local/`, { redirect: 'manual' });
    const { page, errors } = await openConsole();

    // Assert
    expect(consoleUrl).toBe(`${apiUrl}/_local/console`);
    expect(redirect.status).toBe(302);
    expect(redirect.headers.get('location')).toBe('/_local/console');
    await expect(page.title()).resolves.toBe('event-pipeline · local · local console');
    expect(errors).toEqual([]);
  });

  it('lists every queue of the template with the depths SQS reports', async () => {
    // Arrange: a message that stays delayed for the whole run makes one depth non-zero.
    const queue = stage.queue('StandardQueue');
    await stage.sqs.send(
      new SendMessageCommand({ QueueUrl: queue.url, MessageBody: '{"held":"by delay"}', DelaySeconds: 900 }),
    );

    // Act
    const { page, errors } = await openConsole();

    // Assert: each queue's row equals what GetQueueAttributes answers.
    const ids = Object.keys(stage.local.env.queues);
    await expect(
      page
        .locator('#queue-table tbody tr')
        .evaluateAll((rows) => rows.map((r) => r.getAttribute('data-queue'))),
    ).resolves.toEqual(ids);
    for (const id of ids) {
      await waitFor(`the console's depths of ${id} to equal SQS's`, async () => {
        const sqs = await readQueueDepth(stage.sqs, stage.queue(id).url);
        const row = page.locator(`#queue-table tr[data-queue="${id}"]`);
        const shown = {
          visible: Number(await row.locator('[data-field="visible"]').textContent()),
          inFlight: Number(await row.locator('[data-field="inFlight"]').textContent()),
          delayed: Number(await row.locator('[data-field="delayed"]').textContent()),
        };
        return JSON.stringify(shown) === JSON.stringify(sqs);
      });
    }
    expect(
      await page.locator('#queue-table tr[data-queue="StandardQueue"] [data-field="delayed"]').textContent(),
    ).toBe('1');
    expect(await page.locator('#queue-table tr[data-queue="StandardQueue"] svg.spark polyline').count()).toBe(
      2,
    );
    expect(errors).toEqual([]);
  });

  it('shows a message sent through the API reach succeeded, with its run, searched by its envelope id', async () => {
    // Arrange
    const { page, errors } = await openConsole();
    const sent = await stage.post('/v1/messages', probe({ mode: 'succeed', sleepMs: 1500, tag: 'console' }));
    expect(sent.status, sent.text).toBe(202);

    // Act: searched at once (it is still running), then followed live.
    const search = page.getByLabel('Message id', { exact: true });
    await search.fill(sent.body.id);
    await search.press('Enter');

    // Assert
    await page.locator('#message-status[data-status="succeeded"]').waitFor({ timeout: 30_000 });
    const runs = page.locator('#timeline li[data-kind="run"]');
    expect(await runs.count()).toBe(1);
    expect(await runs.first().textContent()).toContain(`run 1: ${CONSUMER} succeeded`);
    expect(await runs.first().textContent()).toContain(`message id ${sent.body.messageId}`);
    expect(await page.locator('#timeline li[data-kind="accepted"]').count()).toBe(1);
    expect(await page.locator('#timeline li').last().textContent()).toContain('status succeeded');
    // The topology and the queue view count it, live.
    await waitFor('the consumer counted in the topology', async () => {
      const n = await page.locator(`[data-part="fn:${CONSUMER}"] [data-field="in"]`).first().textContent();
      return Number(n) >= 1;
    });
    await waitFor('throughput on the standard queue', async () => {
      const n = await page
        .locator('#queue-table tr[data-queue="StandardQueue"] [data-field="processed"]')
        .textContent();
      return Number(n) >= 1;
    });
    // CONSOLE_SCREENSHOTS=<dir> keeps what the page looked like (docs/LOCAL-MODE.md's screenshots).
    await keepScreenshot(page, 'console-topology', '#topology');
    expect(errors).toEqual([]);
  });

  it("shows a message's result, its completion event and its children, whose links open them", async () => {
    // Arrange: a parent returning a result and enqueueing two children; a message whose result
    // is too large for its status row (kept in S3).
    const { page, errors } = await openConsole();
    const parent = await stage.post(
      '/v1/messages',
      probe({ mode: 'succeed', result: { pages: 3 }, children: 2, tag: 'console-outcome' }),
    );
    const large = await stage.post('/v1/messages', probe({ mode: 'succeed', resultBytes: 20_000 }));
    expect([parent.status, large.status], parent.text).toEqual([202, 202]);
    const search = page.getByLabel('Message id', { exact: true });

    // Act
    await search.fill(parent.body.id);
    await search.press('Enter');

    // Assert: the result, the children (listed once the parent's row names them) and the event.
    await page.locator('#message-status[data-status="succeeded"]').waitFor({ timeout: 30_000 });
    await page.locator('#message-events li').first().waitFor({ timeout: 30_000 });
    const status = await stage.get(`/v1/messages/${parent.body.id}`);
    expect(status.body.children).toHaveLength(2);
    expect(JSON.parse((await page.locator('#message-result-value').textContent())!)).toEqual({ pages: 3 });
    await expect(
      page.locator('#message-children a').evaluateAll((links) => links.map((l) => l.textContent)),
    ).resolves.toEqual(status.body.children);
    const events = page.locator('#message-events li');
    expect(await events.count()).toBe(1);
    const logged = stage.local.events({ id: parent.body.id });
    expect(logged).toHaveLength(1);
    const eventId = (logged[0]!.event.detail as { eventId: string }).eventId;
    expect(await events.first().getAttribute('data-event-id')).toBe(eventId);
    expect(await events.first().getAttribute('data-detail-type')).toBe('Message Succeeded');
    expect(await events.first().textContent()).toContain(logged[0]!.event.id);
    expect(await page.locator('#message-family').textContent()).toContain(
      `Correlation id ${status.body.correlationId}`,
    );
    await page.locator('#transitions li').first().waitFor();
    await keepScreenshot(page, 'console-message', '#message');

    // Act: a child's link opens the child, whose parent link leads back.
    const child = status.body.children[1] as string;
    await page.locator(`#message-children a[data-open-id="${child}"]`).click();

    // Assert
    await page.locator('#message-parent a').waitFor({ timeout: 30_000 });
    expect(await page.locator('#message-result code').first().textContent()).toBe(child);
    await expect(page.getByLabel('Message id', { exact: true }).inputValue()).resolves.toBe(child);
    expect(await page.locator('#message-parent a').textContent()).toBe(parent.body.id);
    await page.locator('#message-parent a').click();
    await page.locator(`#message-result code:text-is("${parent.body.id}")`).first().waitFor();

    // Act: the large result.
    await search.fill(large.body.id);
    await search.press('Enter');

    // Assert: its size and URL instead of the value.
    await page.locator('#message-result-url').waitFor({ timeout: 30_000 });
    const large$ = await stage.get(`/v1/messages/${large.body.id}`);
    expect(await page.locator('#message-result-url').textContent()).toBe(large$.body.resultUrl);
    expect(await page.locator('#message-result-bytes').textContent()).toBe(
      `${large$.body.resultBytes} bytes`,
    );
    expect(await page.locator('#message-result-value').count()).toBe(0);
    expect(errors).toEqual([]);
  });

  it('finds a message by its SQS message id too', async () => {
    // Arrange
    const { page, errors } = await openConsole();
    const sent = await stage.post('/v1/messages', probe({ mode: 'succeed', tag: 'console-by-message-id' }));

    // Act
    await page.getByLabel('Message id', { exact: true }).fill(sent.body.messageId);
    await page.getByRole('button', { name: 'Show' }).click();

    // Assert
    await page.locator('#message-status[data-status="succeeded"]').waitFor({ timeout: 30_000 });
    expect(await page.locator('#message-result code').first().textContent()).toBe(sent.body.id);
    expect(errors).toEqual([]);
  });

  it('filters the invocations by function, outcome and message id', async () => {
    // Arrange: one message that fails once then succeeds (two consumer runs), one producer call.
    const { page, errors } = await openConsole();
    const sent = await stage.post(
      '/v1/messages',
      probe({ mode: 'succeed', failTimes: 1, tag: 'console-journal' }),
    );
    const runs = await waitFor('two consumer runs of the message', () => {
      const list = stage.local.journal.list().filter((r) => r.messageIds.includes(sent.body.messageId));
      return list.length === 2 && list;
    });
    const rows = page.locator('#invocation-table tbody tr');

    // Act + Assert: by function
    await page.getByLabel('Function', { exact: true }).selectOption(CONSUMER);
    await waitFor('only consumer rows', async () => {
      const fns = await rows.evaluateAll((trs) => trs.map((tr) => tr.getAttribute('data-function')));
      return fns.length > 0 && fns.every((f) => f === CONSUMER);
    });
    // by message id (the envelope id: every SQS message id it has had)
    await page.getByLabel('Filter by message id').fill(sent.body.id);
    await page.getByLabel('Filter by message id').press('Enter');
    await waitFor('the message runs', async () => (await rows.count()) === 2);
    // by outcome, with the message id still set
    await page.getByLabel('Outcome', { exact: true }).selectOption('failed');
    await waitFor('its failed run only', async () => (await rows.count()) === 1);
    expect(await rows.first().getAttribute('data-outcome')).toBe('failed');
    expect(runs.filter((r) => r.batchItemFailures.length > 0 || r.error)).toHaveLength(1);
    await page.getByLabel('Outcome', { exact: true }).selectOption('ok');
    await waitFor(
      'its successful run only',
      async () => (await rows.first().getAttribute('data-outcome')) === 'ok' && (await rows.count()) === 1,
    );
    expect(errors).toEqual([]);
  });

  it('shows a dead-lettered message in the DLQ view, and its Redrive moves it back', async () => {
    // Arrange
    const { page, errors } = await openConsole();
    const sent = await stage.post('/v1/messages', probe({ mode: 'fail-permanent', tag: 'console-dlq' }));
    const row = page.locator(`#dlq-table tr[data-envelope-id="${sent.body.id}"]`);
    await row.waitFor({ timeout: 30_000 });
    const copyId = await row.getAttribute('data-message-id');
    const depth = page.locator('[data-dlq-lane="standard"] [data-field="depth"]');
    const before = Number(await depth.textContent());
    expect(before).toBeGreaterThanOrEqual(1);
    await keepScreenshot(page, 'console-dlq', '#dlqs');

    // Act
    await page.getByRole('button', { name: `Redrive ${sent.body.id}` }).click();
    await page.locator('#confirm-dialog[open]').waitFor();
    await page.locator('#confirm-button').click();

    // Assert: moved by the ops library; its old DLQ copy is gone, the timeline shows the redrive
    // and the run it led to (fail-permanent fails again: a new copy, under a new message id).
    await page.locator('#action-summary').waitFor({ timeout: 30_000 });
    expect(await page.locator('#action-summary').textContent()).toBe('redrive: 1 moved, 0 failed, 0 skipped');
    await waitFor(
      'the old DLQ copy to leave the DLQ view',
      async () => (await page.locator(`#dlq-table tr[data-message-id="${copyId}"]`).count()) === 0,
    );
    await page.getByLabel('Message id', { exact: true }).fill(sent.body.id);
    await page.getByLabel('Message id', { exact: true }).press('Enter');
    await page.locator('#timeline li[data-kind="action"]').waitFor({ timeout: 30_000 });
    expect(await page.locator('#timeline li[data-kind="action"]').textContent()).toContain(
      'redrive from the console: moved',
    );
    await waitFor(
      'the redriven run in the timeline',
      async () => (await page.locator('#timeline li[data-kind="run"]').count()) === 2,
    );
    // The DLQ alarm went to ALARM when the DLQ first held a message, and its history says so.
    await page.locator('#alarm-history li[data-alarm="ALARM"]').first().waitFor({ timeout: 30_000 });
    expect(errors).toEqual([]);
  });

  it('replays a dead-lettered message from its archive record, and purges a DLQ whose messages are archived', async () => {
    // Arrange
    const { page, errors } = await openConsole();
    const sent = await stage.post('/v1/messages', probe({ mode: 'fail-permanent', tag: 'console-replay' }));
    const row = page.locator(`#dlq-table tr[data-envelope-id="${sent.body.id}"]`);
    await row.waitFor({ timeout: 30_000 });

    // Act: replay, confirmed from the keyboard
    await page.getByRole('button', { name: `Replay ${sent.body.id}` }).click();
    await page.locator('#confirm-dialog[open]').waitFor();
    expect(await page.locator('#confirm-title').textContent()).toBe('Replay?');
    await page.keyboard.press('Enter');

    // Assert: replayed under its envelope id; the timeline shows it and the run it led to
    await page.locator('#action-summary').waitFor({ timeout: 30_000 });
    expect(await page.locator('#action-summary').textContent()).toBe(
      'replay: 1 replayed, 0 failed, 0 skipped',
    );
    await page.getByLabel('Message id', { exact: true }).fill(sent.body.id);
    await page.getByLabel('Message id', { exact: true }).press('Enter');
    await page.locator('#timeline li[data-kind="action"]').waitFor({ timeout: 30_000 });
    expect(await page.locator('#timeline li[data-kind="action"]').textContent()).toContain(
      'replay from the console: replayed',
    );
    await waitFor(
      'the replayed run',
      async () => (await page.locator('#timeline li[data-kind="run"]').count()) === 2,
    );

    // Act: purge the lane's DLQ (its copy came back: fail-permanent fails again)
    await row.waitFor({ timeout: 30_000 });
    await page.getByRole('button', { name: "Purge standard's DLQ" }).click();
    await page.locator('#confirm-dialog[open]').waitFor();
    await page.locator('#confirm-button').click();

    // Assert
    await waitFor('the purge summary', async () =>
      (await page.locator('#action-summary').textContent())?.startsWith('purge of '),
    );
    expect(await page.locator('#action-summary').textContent()).toMatch(/^purge of \S+: [1-9]\d* deleted$/);
    await waitFor('its copy to leave the DLQ view', async () => (await row.count()) === 0);
    expect(errors).toEqual([]);
  });
});
