import type { BuildOptions } from 'esbuild';

/**
 * NodejsFunction's esbuild options (`bundling` in lib/constructs/pipeline-function.ts), for the
 * benches that bundle code as the functions are bundled: `absWorkingDir` is the checkout whose
 * modules are bundled, `outfile` where the bundle goes.
 */
export function functionBundling(absWorkingDir: string, outfile: string): BuildOptions {
  return {
    absWorkingDir,
    bundle: true,
    platform: 'node',
    target: 'node22',
    format: 'esm',
    minify: true,
    keepNames: true,
    sourcemap: true,
    mainFields: ['module', 'main'],
    conditions: ['event-pipeline-source', 'module'],
    external: ['@aws-sdk/*'],
    banner: { js: "import{createRequire as __cr}from'node:module';const require=__cr(import.meta.url);" },
    outfile,
    logLevel: 'silent',
  };
}
