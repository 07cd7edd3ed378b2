import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { backgroundSynthReady, startBackgroundSynth } from '../helpers/background-synth';

// The meeting point of a global setup's background synth and the test file that needs it
// (test/local/global-setup-ratelimit.ts). Each test uses an assembly name of its own, the same in
// every run: its state file (node_modules/.cache/event-pipeline-tests) is overwritten, not added.
const assembly = (name: string) => path.join('/tmp', `cdk.out.background-synth-${name}`);

describe('background synth', () => {
  it('is ready once the synth it started has ended, and its teardown waits for that synth', async () => {
    // Prepare
    let finish!: () => void;
    const cdkOut = assembly('done');
    const teardown = startBackgroundSynth('/app', cdkOut, () => new Promise<void>((r) => (finish = r)));

    // Act
    const ready = backgroundSynthReady(cdkOut, 10_000);
    setTimeout(() => finish(), 300);

    // Assess
    await expect(ready).resolves.toBe(true);
    await expect(teardown()).resolves.toBeUndefined();
  });

  it("passes the synth's own error on to the file that waits for it", async () => {
    const cdkOut = assembly('failed');
    const teardown = startBackgroundSynth('/app', cdkOut, async () => {
      throw new Error('Valid stages are: dev, staging, prod, local');
    });
    await teardown();

    await expect(backgroundSynthReady(cdkOut, 1_000)).rejects.toThrow(
      /^synth of cdk\.out\.background-synth-.* failed: Valid stages are/,
    );
  });

  it('answers false when no synth was started, so the file synthesizes itself', async () => {
    await expect(backgroundSynthReady(assembly('none'), 1_000)).resolves.toBe(false);
  });

  it('answers false for a synth another run started (another VITEST_SEED)', async () => {
    // Prepare: a state file written under another run's seed.
    const cdkOut = assembly('other-run');
    const seed = process.env.VITEST_SEED;
    process.env.VITEST_SEED = `${seed ?? 'run'}-earlier`;
    try {
      await startBackgroundSynth('/app', cdkOut, async () => undefined)();
    } finally {
      if (seed === undefined) delete process.env.VITEST_SEED;
      else process.env.VITEST_SEED = seed;
    }

    // Act + Assess
    await expect(backgroundSynthReady(cdkOut, 1_000)).resolves.toBe(false);
  });

  it('gives up with a clear error when the synth is still running after the wait', async () => {
    const cdkOut = assembly('running');
    startBackgroundSynth('/app', cdkOut, () => new Promise<void>(() => undefined));

    await expect(backgroundSynthReady(cdkOut, 300)).rejects.toThrow(/still running after 300 ms/);
  });
});
