import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vitest/config';

// The reference app imports the package by its name, as an outside app does (tsconfig `paths`
// for tsc, tsx and esbuild; these aliases for vitest).
const resolve = {
  alias: [
    { find: /^event-pipeline$/, replacement: fileURLToPath(new URL('./lib/index.ts', import.meta.url)) },
    {
      find: /^event-pipeline\/jobs$/,
      replacement: fileURLToPath(new URL('./lambda/shared/jobs/public.ts', import.meta.url)),
    },
  ],
};
const shared = { testTimeout: 20_000, hookTimeout: 60_000, pool: 'forks' as const };

export default defineConfig({
  test: {
    projects: [
      { resolve, test: { ...shared, name: 'unit', include: ['test/unit/**/*.test.ts'] } },
      { resolve, test: { ...shared, name: 'infra', include: ['test/infra/**/*.test.ts'] } },
      {
        resolve,
        test: {
          ...shared,
          name: 'local',
          include: ['test/local/**/*.test.ts'],
          globalSetup: ['test/local/global-setup.ts'],
          testTimeout: 120_000,
          hookTimeout: 120_000,
        },
      },
      {
        resolve,
        test: {
          ...shared,
          // An app outside the repository that installs the packed package (README, "Adopting
          // the stack in your app"): npm pack, npm install, two synths and local mode.
          name: 'outside',
          include: ['test/outside/**/*.test.ts'],
          testTimeout: 180_000,
          hookTimeout: 600_000,
        },
      },
    ],
  },
});
