import { describe, expect, it } from 'vitest';
import { launchChromium } from './chromium';

describe('browser tests without Chromium', () => {
  it('fail naming what to install instead of being skipped', async () => {
    await expect(launchChromium('/nonexistent/chromium')).rejects.toThrow(
      'Chromium is not installed at /nonexistent/chromium: the browser tests need it (apt-get install -y --no-install-recommends chromium, as .ci/run does; or set CHROMIUM_PATH)',
    );
  });

  it('launch the installed one headless', async () => {
    const browser = await launchChromium();
    try {
      expect(browser.version()).toMatch(/^\d+\./);
    } finally {
      await browser.close();
    }
  });
});
