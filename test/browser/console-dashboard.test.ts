import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TEST_CDK_OUT } from '../../tools/assembly';
import { startStage, waitFor, type LocalStage } from '../../tools/local-stage';
import { probe } from '../helpers/local';
import { launchChromium, openPage } from './chromium';
import { keepScreenshot } from './screenshots';

// The console's Dashboard view in Debian's Chromium, on a running local stage: the widgets of the
// template's CloudWatch dashboard, drawn from local data, or saying the metric has no local source.
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

/** The titles of the metric widgets of the test assembly's dashboard, read from the template file. */
function templateWidgetTitles(): string[] {
  const template = JSON.parse(
    readFileSync(path.join(TEST_CDK_OUT, 'EventPipeline-local.template.json'), 'utf8'),
  ) as { Resources: Record<string, { Type: string; Properties: { DashboardBody: unknown } }> };
  const dashboard = Object.values(template.Resources).find((r) => r.Type === 'AWS::CloudWatch::Dashboard')!;
  const body = dashboard.Properties.DashboardBody as { 'Fn::Join': [string, unknown[]] } | string;
  // The references are strings' values; a placeholder keeps the JSON well-formed.
  const text =
    typeof body === 'string'
      ? body
      : body['Fn::Join'][1].map((p) => (typeof p === 'string' ? p : 'x')).join('');
  return (JSON.parse(text) as { widgets: { type: string; properties: { title?: string } }[] }).widgets
    .filter((w) => w.type === 'metric')
    .map((w) => w.properties.title ?? '');
}

const CONSUMER = 'ConsumerHandlerFunctionA611E05C';

describe('local console: dashboard', () => {
  it("draws the template's dashboard widgets from local data (journal, queue samples, the consumer's EMF), and says which metrics have no local source", async () => {
    // Arrange
    const { page, errors } = await openPage(browser, stage.local.env.consoleUrl!);
    await page.locator('#connection[data-state="live"]').waitFor();
    const titles = templateWidgetTitles();
    expect(titles.length).toBeGreaterThan(10);

    // Act: a probe through the API (the producer and the consumer run)
    const sent = await stage.post('/v1/messages', probe({ mode: 'succeed', tag: 'console-dashboard' }));
    expect(sent.status, sent.text).toBe(202);
    await waitFor('the consumer ran', () =>
      stage.local.journal
        .list()
        .some((r) => r.function === CONSUMER && r.messageIds.includes(sent.body.messageId)),
    );

    // Assert: every metric widget of the template, in order
    const figures = page.locator('#dashboard-widgets figure.widget');
    await figures.first().waitFor({ timeout: 30_000 });
    await expect(figures.evaluateAll((fs) => fs.map((f) => f.getAttribute('data-title')))).resolves.toEqual(
      titles,
    );
    // The consumer's Invocations (from the journal) show a non-zero point, live.
    const consumerName = await waitFor('a non-zero Invocations series from the journal', async () => {
      const series = await page
        .locator('#dashboard-widgets li[data-metric="AWS/Lambda Invocations"]')
        .evaluateAll((lis) =>
          lis.map((li) => ({
            name: (JSON.parse(li.getAttribute('data-dimensions')!) as { FunctionName: string }).FunctionName,
            source: li.getAttribute('data-source'),
            max: Number(li.getAttribute('data-max')),
          })),
        );
      const hit = series.find((s) => s.max >= 1 && /Consumer/.test(s.name) && !/Fifo/i.test(s.name));
      return hit && hit.source === 'journal' && hit.name;
    });
    expect(consumerName).toBeTruthy();
    // The queue depth widgets come from the console's samples.
    expect(
      await page
        .locator('#dashboard-widgets li[data-metric="AWS/SQS ApproximateNumberOfMessagesVisible"]')
        .first()
        .getAttribute('data-source'),
    ).toBe('queue attributes (sampled by the console)');
    // A widget whose metrics have no local source says so.
    const apiLatency = page.locator('#dashboard-widgets p.missing', {
      hasText: /^no local source for AWS\/ApiGateway Latency$/,
    });
    expect(await apiLatency.count()).toBeGreaterThanOrEqual(1);
    expect(
      await page
        .locator('#dashboard-widgets p.missing', {
          hasText: /^no local source for AWS\/SQS NumberOfMessagesSent$/,
        })
        .count(),
    ).toBeGreaterThanOrEqual(1);
    // The consumer's EMF metric: a message that fails permanently is archived, and counted.
    const failed = await stage.post(
      '/v1/messages',
      probe({ mode: 'fail-permanent', tag: 'console-dashboard' }),
    );
    expect(failed.status, failed.text).toBe(202);
    await waitFor(
      "the consumer's EMF 'archived' count in the failure archive widget",
      async () => {
        const li = page.locator(
          '#dashboard-widgets figure[data-title="Messages archived / archive write failures"] li[data-metric="EventPipeline archived"]',
        );
        return (await li.count()) === 1 && Number(await li.getAttribute('data-max')) >= 1;
      },
      30_000,
    );
    expect(
      await page
        .locator(
          '#dashboard-widgets figure[data-title="Messages archived / archive write failures"] li[data-metric="EventPipeline archived"]',
        )
        .getAttribute('data-source'),
    ).toBe('EMF (search)');
    // The consumer's widgets (the journal's runs), as the screenshot.
    await keepScreenshot(
      page,
      'console-dashboard',
      '#dashboard-widgets h4:text-is("Lambda Function Consumer")',
      700,
    );
    expect(errors).toEqual([]);
  });
});
