/**
 * The `z` of `event-pipeline/jobs` and of the lanes' own schemas: zod's `z`, less its 45
 * translated error-message locales (`z.locales`, `z.core.locales`).
 *
 * A job module's schemas are built with `z` at a consumer's cold start, so every consumer bundle
 * holds zod, and a bundler must keep all of a namespace that is used as an object (`z.object`,
 * `z.string`): with zod's own `z` that is 260 KB of locales, 40 % of a consumer's bundle, which
 * Node compiles at every cold start and no job uses (zod's messages are English unless an app
 * calls `z.config`). In this `z` (./zod-api.ts) the locales are in no namespace and the bundler
 * drops them; everything else is zod's own, the same classes, so schemas from either `z` mix.
 * Measured: bench/README.md, "Cold start".
 *
 * An app that wants zod's messages in another language imports the locale itself:
 * `import { de } from 'zod/v4/locales'; z.config(de());`
 */
import * as z from './zod-api';

export { z };
