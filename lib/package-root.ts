import { existsSync, readFileSync } from 'node:fs';
import * as path from 'node:path';

/**
 * The folder of this package (`event-pipeline`): the repository when run from source, the
 * installed package (`node_modules/event-pipeline`) when run from its build in `dist/`. The
 * Lambda sources that esbuild bundles live under it, in `lambda/`.
 */
export const PACKAGE_ROOT: string = (() => {
  for (let dir = __dirname; path.dirname(dir) !== dir; dir = path.dirname(dir)) {
    const manifest = path.join(dir, 'package.json');
    if (
      existsSync(manifest) &&
      (JSON.parse(readFileSync(manifest, 'utf8')) as { name?: string }).name === 'event-pipeline'
    )
      return dir;
  }
  throw new Error(`event-pipeline: no package.json named event-pipeline above ${__dirname}`);
})();
