import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEFAULT_JOURNAL_CAPACITY } from '../../local/control/journal';
import { startStage, waitFor, type LocalStage } from '../../tools/local-stage';
import { launchChromium, openPage } from './chromium';

// The console with a full journal (50,000 invocations, as local mode keeps): time to the first
// rendered journal row, and to a filtered view. Printed as figures; the bounds only catch a
// console that has become unusable (the machine is shared: the figures vary with its load).
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

const CONSUMER = 'ConsumerHandlerFunctionA611E05C';
const FIFO = 'FifoConsumerHandlerFunction257C0185';

describe('local console with a full journal', () => {
  it('renders and filters 50,000 invocations within seconds', async () => {
    // Arrange: a full journal of synthetic consumer runs (every 100th failed).
    const start = Date.now() - DEFAULT_JOURNAL_CAPACITY * 10;
    for (let i = 0; i < DEFAULT_JOURNAL_CAPACITY; i++) {
      stage.local.journal.record({
        function: i % 2 ? CONSUMER : FIFO,
        startedAt: new Date(start + i * 10).toISOString(),
        durationMs: 5,
        messageIds: [`bench-${i}`],
        batchItemFailures: i % 100 === 0 ? [`bench-${i}`] : [],
        error: null,
      });
    }
    expect(stage.local.journal.length).toBe(DEFAULT_JOURNAL_CAPACITY);

    // Act: first render
    const t0 = Date.now();
    const { page, errors } = await openPage(browser, stage.local.env.consoleUrl!);
    await page.locator('#invocation-table tbody tr').first().waitFor();
    const firstRenderMs = Date.now() - t0;
    const rows = page.locator('#invocation-table tbody tr');
    const shownAtFirst = await rows.count();

    // Act: filter by function and outcome (the server filters the 50,000)
    const t1 = Date.now();
    await page.getByLabel('Function', { exact: true }).selectOption(FIFO);
    await page.getByLabel('Outcome', { exact: true }).selectOption('failed');
    await waitFor(
      'the filtered rows',
      async () => {
        const outcomes = await rows.evaluateAll((trs) => trs.map((tr) => tr.getAttribute('data-outcome')));
        const count = await page.locator('#journal-count').textContent();
        return (
          count?.startsWith('500 matching') && outcomes.length > 0 && outcomes.every((o) => o === 'failed')
        );
      },
      30_000,
      20,
    );
    const filterMs = Date.now() - t1;

    // Act: one message id among 50,000
    const t2 = Date.now();
    await page.getByLabel('Filter by message id').fill('bench-4200');
    await page.getByLabel('Filter by message id').press('Enter');
    await waitFor('the one row', async () => (await rows.count()) === 1, 30_000, 20);
    const lookupMs = Date.now() - t2;

    // Assert
    console.log(
      `console with ${DEFAULT_JOURNAL_CAPACITY} journal entries: first render ${firstRenderMs} ms, filter (function + outcome) ${filterMs} ms, message id lookup ${lookupMs} ms`,
    );
    // A virtualized list: the rows in view and a few beyond, not the 50,000.
    expect(shownAtFirst).toBeGreaterThan(0);
    expect(shownAtFirst).toBeLessThanOrEqual(120);
    expect(await page.locator('#journal-count').textContent()).toContain('matching');
    expect(firstRenderMs).toBeLessThan(10_000);
    expect(filterMs).toBeLessThan(10_000);
    expect(lookupMs).toBeLessThan(10_000);
    expect(errors, errors.join('\n')).toEqual([]);
  });
});
