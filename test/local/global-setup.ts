import { existsSync, statSync } from 'node:fs';
import { synthesize } from '../../local';
import { TEST_CDK_OUT } from '../../tools/assembly';

/**
 * Synthesizes stage `local` once for all local end-to-end tests (through the project's CDK CLI).
 * Two projects use it (`local`, `local-alone`: vitest.config.mts); vitest runs each project's
 * global setup, one after the other, with its own module instance, so the first synth of a run
 * marks itself done in the environment (`EVENT_PIPELINE_TEST_SYNTH`, the run's seed) for the
 * second.
 */
export default async function setup(): Promise<void> {
  const run = process.env.VITEST_SEED ?? 'run';
  if (
    process.env.EVENT_PIPELINE_TEST_SYNTH === run &&
    existsSync(`${TEST_CDK_OUT}/EventPipeline-local.template.json`)
  )
    return;
  const started = Date.now();
  await synthesize('local', TEST_CDK_OUT);
  if (
    !existsSync(`${TEST_CDK_OUT}/EventPipeline-local.template.json`) ||
    !statSync(TEST_CDK_OUT).isDirectory()
  ) {
    throw new Error(`synth did not produce ${TEST_CDK_OUT}/EventPipeline-local.template.json`);
  }
  process.env.EVENT_PIPELINE_TEST_SYNTH = run;
  console.log(`local stage synthesized into cdk.out.test in ${Date.now() - started} ms`);
}
