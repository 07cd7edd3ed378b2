/**
 * What `z` of {@link ./zod.ts} holds: everything zod's `z` holds, less its locales. Names declared
 * here shadow the ones `export *` brings (a module's own exports win over star exports).
 */
export * from 'zod';
export * as core from './zod-core';
/** Not in event-pipeline's `z`: import a locale from `zod/v4/locales` (see ./zod.ts). */
export const locales = undefined as never;
/** zod's `z` has no `z` either (zod's module exports its namespace as `z`; the namespace does not). */
export const z = undefined as never;
