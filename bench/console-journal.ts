/**
 * The local console with a full journal (issue 19: "fast with 50,000 journal entries"): Debian's
 * Chromium (playwright-core, as the browser tests) opens the console on a local stage whose
 * journal holds `--entries` synthetic consumer runs (default 50,000, the journal's capacity;
 * every 100th failed), and measures, `--runs` times each in fresh pages:
 *
 * - first render: from `goto` to the first journal row drawn;
 * - filter: function + outcome chosen until the page shows the server's filtered rows;
 * - lookup: one message id among them until its one row shows;
 * - scroll to the oldest: the list scrolled to its end until the oldest entry's row shows (the
 *   list is virtualized: the page holds one window of rows and asks the server for the others);
 * - rows in the DOM (the window) and the page's JS heap after all of it.
 *
 * Prints medians (and each run); asserts nothing.
 *
 *   npx tsx bench/console-journal.ts [-- --entries 50000 --runs 5 --no-synth]
 */
import { performance } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import { synthesize } from '../local';
import { BENCH_CDK_OUT } from '../tools/assembly';
import { startStage } from '../tools/local-stage';
import { launchChromium, openPage } from '../test/browser/chromium';

const CONSUMER = 'ConsumerHandlerFunctionA611E05C';
const FIFO = 'FifoConsumerHandlerFunction257C0185';

const { values } = parseArgs({
  options: {
    entries: { type: 'string', default: '50000' },
    runs: { type: 'string', default: '5' },
    'no-synth': { type: 'boolean', default: false },
  },
});
const entries = Number(values.entries);
const runs = Number(values.runs);
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

async function main(): Promise<void> {
  if (!values['no-synth']) await synthesize('local', BENCH_CDK_OUT);
  const stage = await startStage({ cdkOut: BENCH_CDK_OUT, journalCapacity: Math.max(entries, 1) });
  const browser = await launchChromium();
  try {
    const start = Date.now() - entries * 10;
    for (let i = 0; i < entries; i++) {
      stage.local.journal.record({
        function: i % 2 ? CONSUMER : FIFO,
        startedAt: new Date(start + i * 10).toISOString(),
        durationMs: 5,
        messageIds: [`bench-${i}`],
        batchItemFailures: i % 100 === 0 ? [`bench-${i}`] : [],
        error: null,
      });
    }
    const held = stage.local.journal.length;
    const expectedFailedFifo = Math.ceil(Math.min(held, entries) / 100);
    const figures: Record<'first' | 'filter' | 'lookup' | 'oldest' | 'rows' | 'heapMb', number[]> = {
      first: [],
      filter: [],
      lookup: [],
      oldest: [],
      rows: [],
      heapMb: [],
    };
    for (let run = 0; run < runs; run++) {
      const t0 = performance.now();
      const { page, errors } = await openPage(browser, stage.local.env.consoleUrl!);
      const rows = page.locator('#invocation-table tbody tr');
      await rows.first().waitFor();
      figures.first.push(performance.now() - t0);

      // The oldest entry, by scrolling the whole list (unfiltered).
      const t3 = performance.now();
      await page.locator('#journal-scroll').evaluate((box) => (box.scrollTop = box.scrollHeight));
      await page.locator('#invocation-table tbody tr td.id', { hasText: /^bench-0$/ }).waitFor();
      figures.oldest.push(performance.now() - t3);
      await page.locator('#journal-scroll').evaluate((box) => (box.scrollTop = 0));

      const t1 = performance.now();
      await page.getByLabel('Function', { exact: true }).selectOption(FIFO);
      await page.getByLabel('Outcome', { exact: true }).selectOption('failed');
      await page.locator('#journal-count', { hasText: `${expectedFailedFifo} matching` }).waitFor();
      figures.filter.push(performance.now() - t1);

      const t2 = performance.now();
      await page.getByLabel('Filter by message id').fill('bench-4200');
      await page.getByLabel('Filter by message id').press('Enter');
      await page.locator('#journal-count', { hasText: /^1 matching/ }).waitFor();
      figures.lookup.push(performance.now() - t2);

      await page.getByLabel('Filter by message id').fill('');
      await page.getByLabel('Function', { exact: true }).selectOption('');
      await page.getByLabel('Outcome', { exact: true }).selectOption('');
      await page.locator('#journal-count', { hasText: 'in the journal ·' }).waitFor();
      figures.rows.push(await rows.count());
      // A string: tsx would otherwise rename `performance` to Node's import inside the page.
      const heap = Number(await page.evaluate('performance.memory ? performance.memory.usedJSHeapSize : 0'));
      figures.heapMb.push(heap / 1024 / 1024);
      if (errors.length) throw new Error(`console errors: ${errors.join('; ')}`);
      await page.close();
    }
    const fmt = (xs: number[], unit: string, digits = 0) =>
      `${median(xs).toFixed(digits)} ${unit} (runs: ${xs.map((x) => x.toFixed(digits)).join(', ')})`;
    console.log(`console with ${held} journal entries, ${runs} runs, medians:`);
    console.log(`  first render (goto → first row)       ${fmt(figures.first, 'ms')}`);
    console.log(`  scroll to the oldest entry             ${fmt(figures.oldest, 'ms')}`);
    console.log(`  filter (function + outcome, ${expectedFailedFifo} rows) ${fmt(figures.filter, 'ms')}`);
    console.log(`  message id lookup (1 row)              ${fmt(figures.lookup, 'ms')}`);
    console.log(`  journal rows in the DOM                ${fmt(figures.rows, '')}`);
    console.log(`  page JS heap after                     ${fmt(figures.heapMb, 'MB', 1)}`);
  } finally {
    await browser.close();
    await stage.stop();
  }
}

main().catch((error: unknown) => {
  console.error((error as Error).message);
  process.exitCode = 1;
});
