import { defineConfig, type TestProjectInlineConfiguration } from 'vitest/config';
import base from './vitest.config.mjs';

/**
 * The tests mutation testing runs (`npm run mutation`, stryker.config.mjs): the unit and infra
 * projects as `vitest.config.mts` defines them, and the tests of test/local/ that need no local
 * stage: the decision modules against the embedded DynamoDB emulator (each file starts its own
 * emulator and table, test/helpers/status-table.ts) and the batch-response check. They run here
 * without the local project's global setup (a synth of the whole stage into cdk.out.test, which
 * two Stryker workers would race on).
 */
const projects = (base.test?.projects ?? []) as TestProjectInlineConfiguration[];
const named = (name: string) => {
  const project = projects.find((p) => p.test?.name === name);
  if (!project) throw new Error(`vitest.config.mts has no project ${name}`);
  return project;
};
const local = named('local');

export default defineConfig({
  test: {
    projects: [
      named('unit'),
      named('infra'),
      {
        ...local,
        test: {
          ...local.test,
          name: 'local-in-process',
          include: ['test/local/*.dynamodb.test.ts', 'test/local/batch-response.test.ts'],
          globalSetup: [],
        },
      },
    ],
  },
});
