import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { build } from 'esbuild';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mapStacksWhenRead } from '../../lambda/shared/stack-map';

// Stacks mapped when read (lambda/shared/stack-map.ts), on a real esbuild bundle with the
// functions' options (ESM, minified, source map without sources) run by a fresh node.
const FIXTURE = path.join(__dirname, '..', 'fixtures', 'stack-map');
const FAILING = path.join(FIXTURE, 'failing.ts');
let dir: string;

beforeAll(async () => {
  dir = mkdtempSync(path.join(tmpdir(), 'stack-map-'));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** Builds the fixture into its own directory and runs it with `env`; returns the stacks it read. */
async function run(name: string, env: Record<string, string>): Promise<{ first: string; second: string }> {
  const outfile = path.join(dir, name, 'index.mjs');
  await build({
    entryPoints: [path.join(FIXTURE, 'entry.ts')],
    outfile,
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: 'node20',
    minify: true,
    keepNames: true,
    sourcemap: true,
    sourcesContent: false,
    logLevel: 'silent',
  });
  const r = spawnSync(process.execPath, [outfile], {
    env: { PATH: process.env.PATH ?? '', ...env },
    encoding: 'utf8',
  });
  expect(r.status, r.stderr).toBe(0);
  return JSON.parse(r.stdout.trim()) as { first: string; second: string };
}

/** The first `at` line of a stack. */
const topFrame = (stack: string) =>
  stack
    .split('\n')
    .find((l) => l.trim().startsWith('at '))!
    .trim();

describe('stacks mapped when read', () => {
  it('names the TypeScript source, line and column of the throw, with the header V8 writes', async () => {
    // Act
    const { first } = await run('mapped', {});

    // Assess
    expect(first.split('\n')[0]).toBe("TypeError: Cannot read properties of null (reading 'ids')");
    expect(topFrame(first)).toBe(`at readRowFacts (${FAILING}:3:20)`);
    // The caller's frame is mapped too (esbuild's own glue, which the map has no entry for, may
    // still name the bundle, as with Node's --enable-source-maps).
    expect(first.split('\n')[2]!.trim()).toBe(`at stackOfFailure (${path.join(FIXTURE, 'entry.ts')}:14:5)`);
  });

  it('leaves the bundle positions as they are without the hook', async () => {
    // Act
    const { first } = await run('plain', { STACK_MAP: 'off' });

    // Assess
    expect(topFrame(first)).toMatch(/^at readRowFacts \(file:\/\/.*\/plain\/index\.mjs:\d+:\d+\)$/);
    expect(first).not.toContain('failing.ts');
  });

  it('reads the map on the first stack read, not when the bundle loads', async () => {
    // Act: the map is gone before any stack is read
    const { first, second } = await run('deleted-before', { STACK_MAP_DELETE: 'before' });

    // Assess: nothing to map with, so V8's positions stay (and nothing throws)
    expect(topFrame(first)).toMatch(/index\.mjs:\d+:\d+\)$/);
    expect(topFrame(second)).toMatch(/index\.mjs:\d+:\d+\)$/);
  });

  it('decodes the map once: later stacks are mapped from memory', async () => {
    // Act: the map is deleted after the first stack was read
    const { first, second } = await run('deleted-after', { STACK_MAP_DELETE: 'after' });

    // Assess
    expect(topFrame(first)).toBe(`at readRowFacts (${FAILING}:3:20)`);
    expect(topFrame(second)).toBe(`at readRowFacts (${FAILING}:3:20)`);
  });

  it("leaves a stack without a mapped frame to the hook that was there (a test runner's, Node's)", () => {
    // Prepare
    const before = Error.prepareStackTrace;
    Error.prepareStackTrace = () => 'formatted by the hook before';
    try {
      // Act
      mapStacksWhenRead();
      const stack = new Error('no bundle here').stack;

      // Assess
      expect(Error.prepareStackTrace).not.toBe(before);
      expect(stack).toBe('formatted by the hook before');
    } finally {
      Error.prepareStackTrace = before;
    }
  });
});
