import * as path from 'node:path';
import { build } from 'esbuild';
import { describe, expect, it } from 'vitest';
import { z as zods } from 'zod';
import * as zodCore from 'zod/v4/core';
import { z } from '../../lambda/shared/jobs/public';

const ROOT = path.join(__dirname, '..', '..');
/** A word of zod's German messages ("expected"; ASCII, as esbuild escapes the rest): in a bundle only if the locales are. */
const GERMAN = 'erwartet';

/** A job module's schema bundled as a consumer bundles it (minified ESM, names kept). */
async function bundleOf(source: string): Promise<string> {
  const out = await build({
    stdin: { contents: source, resolveDir: ROOT, loader: 'ts' },
    bundle: true,
    platform: 'node',
    format: 'esm',
    minify: true,
    keepNames: true,
    write: false,
    logLevel: 'silent',
  });
  return out.outputFiles[0]!.text;
}

describe("event-pipeline/jobs' z (lambda/shared/jobs/zod.ts)", () => {
  it("holds every member of zod's z, the same values, except the locales", () => {
    // Arrange
    const theirs = Object.keys(zods).filter((k) => k !== 'locales' && k !== 'core');

    // Act
    const differing = theirs.filter(
      (k) => (z as Record<string, unknown>)[k] !== (zods as Record<string, unknown>)[k],
    );

    // Assert
    expect(theirs.length).toBeGreaterThan(100);
    expect(differing).toEqual([]);
    expect(z.locales).toBeUndefined();
  });

  it("holds zod's core, the same values, except its locales", () => {
    // Arrange
    const theirs = Object.keys(zodCore).filter((k) => k !== 'locales');

    // Act
    const differing = theirs.filter(
      (k) => (z.core as Record<string, unknown>)[k] !== (zodCore as Record<string, unknown>)[k],
    );

    // Assert
    expect(theirs.length).toBeGreaterThan(50);
    expect(differing).toEqual([]);
    expect(z.core.locales).toBeUndefined();
  });

  it("validates as zod does, with zod's English messages, and mixes with zod's own schemas", () => {
    // Arrange
    const schema = z.object({ key: z.string(), size: zods.number().int() }).strict();

    // Act
    const bad = schema.safeParse({ key: 1, size: 1.5, extra: true });
    const good = schema.safeParse({ key: 'a.png', size: 3 });

    // Assert
    expect(good).toEqual({ success: true, data: { key: 'a.png', size: 3 } });
    expect(bad.success).toBe(false);
    expect(bad.error!.issues.map((i) => [i.path.join('.'), i.message])).toEqual([
      ['key', 'Invalid input: expected string, received number'],
      ['size', 'Invalid input: expected int, received number'],
      ['', 'Unrecognized key: "extra"'],
    ]);
    expect(schema).toBeInstanceOf(zods.ZodObject);
  });

  it("leaves zod's locales out of a bundle of a job module's schema; zod's own z brings them in", async () => {
    // Arrange
    const job = (from: string) =>
      `import { z } from ${JSON.stringify(from)};\nexport const schema = z.object({ key: z.string() }).strict();`;

    // Act
    const ours = await bundleOf(job('./lambda/shared/jobs/public'));
    const zodOwn = await bundleOf(job('zod'));

    // Assert: the control shows the marker is what the locales bring.
    expect(zodOwn).toContain(GERMAN);
    expect(ours).not.toContain(GERMAN);
    expect(ours.length).toBeLessThan(zodOwn.length * 0.7);
  });
});
