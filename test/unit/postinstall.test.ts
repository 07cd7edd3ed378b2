import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';

// scripts/postinstall.cjs: how an app that installed the package gets the emulator patches.
// eslint-disable-next-line @typescript-eslint/no-require-imports
const { parsePatch, applyHunks } = require('../../scripts/postinstall.cjs') as {
  parsePatch(text: string): { file: string; hunks: { before: string[]; after: string[] }[] }[];
  applyHunks(source: string, hunks: { before: string[]; after: string[] }[], what: string): string;
};

const ROOT = join(__dirname, '..', '..');
const patch = parsePatch(readFileSync(join(ROOT, 'patches', 'fauxqs+1.9.2.patch'), 'utf8'));
const store = patch.find((f) => f.file.endsWith('/sqsStore.js'));
// The installed file is patched (patch-package ran at install): the original is the patch reversed.
const patched = readFileSync(join(ROOT, store!.file), 'utf8');
const reversed = store!.hunks.map((h) => ({ before: h.after, after: h.before }));
const original = applyHunks(patched, reversed, 'reverse');

describe('postinstall patch applier (an app installing the package)', () => {
  it('reads the fauxqs patch as its files with their hunks', () => {
    expect(patch.map((f) => f.file)).toEqual([
      'node_modules/fauxqs/dist/sqs/actions/sendMessage.js',
      'node_modules/fauxqs/dist/sqs/actions/sendMessageBatch.js',
      'node_modules/fauxqs/dist/sqs/sqsStore.js',
    ]);
    for (const f of patch) expect(f.hunks.length, f.file).toBeGreaterThanOrEqual(1);
    expect(store!.hunks.length).toBeGreaterThanOrEqual(2);
    expect(original).not.toBe(patched);
    expect(original).not.toContain('event-pipeline patch');
  });

  it('turns the released file into the one patch-package makes', () => {
    expect(applyHunks(original, store!.hunks, 'fauxqs')).toBe(patched);
  });

  it('leaves an already patched file as it is (a second install)', () => {
    expect(applyHunks(patched, store!.hunks, 'fauxqs')).toBe(patched);
  });

  it('refuses, naming the patch, a file the hunks do not fit (another fauxqs version)', () => {
    const other = original.replace(/getAllAttributes\(requested\) \{/, 'getAllAttributes(names) {');
    expect(() => applyHunks(other, store!.hunks, 'fauxqs+1.9.2.patch')).toThrow(
      'fauxqs+1.9.2.patch: a hunk does not apply',
    );
  });
});
