import * as path from 'node:path';
import { build } from 'esbuild';
import { describe, expect, it } from 'vitest';
import { httpStatusOf } from '../../lambda/shared/errors';
import { clientOf, lazyS3Client } from '../../lambda/shared/s3';

const ROOT = path.join(__dirname, '..', '..');

/** How a module bundled as the functions bundle it (SDK external) imports `@aws-sdk/client-s3`. */
async function s3ImportKinds(entry: string): Promise<string[]> {
  const out = await build({
    entryPoints: [path.join(ROOT, entry)],
    bundle: true,
    platform: 'node',
    format: 'esm',
    external: ['@aws-sdk/*'],
    conditions: ['event-pipeline-source', 'module'],
    mainFields: ['module', 'main'],
    write: false,
    metafile: true,
    outdir: path.join(ROOT, 'node_modules', '.cache', 'lazy-s3-test'),
    logLevel: 'silent',
  });
  const output = Object.values(out.metafile.outputs).find((o) => o.entryPoint)!;
  return output.imports.filter((i) => i.path === '@aws-sdk/client-s3').map((i) => i.kind);
}

describe('S3 on first use (lambda/shared/s3.ts)', () => {
  it.each([
    ['the consumers', 'lambda/shared/consumer-runtime.ts'],
    ['the producer', 'lambda/producer/handler.ts'],
  ])('%s import the S3 client only when they first need it, not at cold start', async (_, entry) => {
    // Act
    const kinds = await s3ImportKinds(entry);

    // Assert
    expect(kinds.length).toBeGreaterThan(0);
    expect(new Set(kinds)).toEqual(new Set(['dynamic-import']));
  });

  it('the DLQ sweeper, which writes archive records on every run, imports it at cold start (the control)', async () => {
    // Act
    const kinds = await s3ImportKinds('lambda/dlq-sweeper/index.ts');

    // Assert
    expect(kinds).toContain('import-statement');
  });

  it('makes one client on the first call and gives the same one after, also to calls made meanwhile', async () => {
    // Arrange
    const source = lazyS3Client({ region: 'eu-west-1' });

    // Act
    const [a, b] = await Promise.all([clientOf(source), clientOf(source)]);
    const c = await clientOf(source);

    // Assert
    expect(a).toBe(b);
    expect(a).toBe(c);
    expect(await a.config.region()).toBe('eu-west-1');
    expect(await clientOf(a)).toBe(a);
  });

  it("reads an SDK error's HTTP status without the SDK's classes", () => {
    expect(httpStatusOf({ $metadata: { httpStatusCode: 412 } })).toBe(412);
    expect(httpStatusOf(new Error('network'))).toBeUndefined();
    expect(httpStatusOf(undefined)).toBeUndefined();
  });
});
