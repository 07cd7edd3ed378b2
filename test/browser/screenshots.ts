/**
 * The console's screenshots (docs/img, shown in docs/LOCAL-MODE.md), taken by the browser tests so
 * they stay current: `npm run screenshots:console` (`CONSOLE_SCREENSHOTS=docs/img` on the console's
 * browser tests). Without the variable (CI), nothing is taken.
 */
import { mkdirSync } from 'node:fs';
import * as path from 'node:path';
import type { Page } from 'playwright-core';

/** The viewport the screenshots are taken at (small PNGs, readable text). */
export const SCREENSHOT_VIEWPORT = { width: 1280, height: 800 } as const;

/**
 * Saves `<CONSOLE_SCREENSHOTS>/<name>.png`: the element `selector` of the page at
 * {@link SCREENSHOT_VIEWPORT}, cut to the viewport's height (or `height` px from the element's top,
 * over what follows it). Does nothing without the variable.
 */
export async function keepScreenshot(
  page: Page,
  name: string,
  selector: string,
  height?: number,
): Promise<void> {
  const dir = process.env.CONSOLE_SCREENSHOTS;
  if (!dir) return;
  mkdirSync(dir, { recursive: true });
  await page.setViewportSize(SCREENSHOT_VIEWPORT);
  const element = page.locator(selector);
  await element.scrollIntoViewIfNeeded();
  // Page coordinates (the clip of a full-page screenshot is relative to the page, not the view).
  const box = await element.evaluate((el) => {
    const r = el.getBoundingClientRect();
    const view = globalThis as unknown as { scrollX: number; scrollY: number };
    return { x: r.left + view.scrollX, y: r.top + view.scrollY, width: r.width, height: r.height };
  });
  await page.screenshot({
    path: path.join(dir, `${name}.png`),
    scale: 'css',
    animations: 'disabled',
    fullPage: true,
    clip: {
      x: Math.max(0, box.x),
      y: box.y,
      width: Math.min(box.width, SCREENSHOT_VIEWPORT.width),
      height: height ?? Math.min(box.height, SCREENSHOT_VIEWPORT.height),
    },
  });
}
