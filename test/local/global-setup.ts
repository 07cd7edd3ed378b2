import { existsSync, statSync } from 'node:fs';
import { synthesize } from '../../local';
import { TEST_CDK_OUT } from '../../tools/assembly';

/** Synthesizes stage `local` once for all local end-to-end tests (through the project's CDK CLI). */
export default async function setup(): Promise<void> {
  const started = Date.now();
  await synthesize('local', TEST_CDK_OUT);
  if (
    !existsSync(`${TEST_CDK_OUT}/EventPipeline-local.template.json`) ||
    !statSync(TEST_CDK_OUT).isDirectory()
  ) {
    throw new Error(`synth did not produce ${TEST_CDK_OUT}/EventPipeline-local.template.json`);
  }
  console.log(`local stage synthesized into cdk.out.test in ${Date.now() - started} ms`);
}
