/** `z.core` of {@link ./zod.ts}: zod's core, less its locales (the same reason). */
export * from 'zod/v4/core';
/** Not in event-pipeline's `z.core`: import a locale from `zod/v4/locales`. */
export const locales = undefined as never;
