import * as path from 'node:path';
import { startBackgroundSynth } from '../helpers/background-synth';

/** The rate-limit fixture app and its assembly (test/local/rate-limit.e2e.test.ts). */
export const RATELIMIT_APP_DIR = path.join(__dirname, '..', 'fixtures', 'ratelimit-app');
export const RATELIMIT_CDK_OUT = path.join(__dirname, '..', '..', 'cdk.out.ratelimit-test');

/**
 * Starts the rate-limit fixture app's synth when the run starts: its file runs after every other
 * file (vitest.config.mts, project `local-ratelimit`), and its synth (15 s alone, more under load) no longer
 * waits for its turn there, with the machine otherwise idle.
 */
export default function setup(): () => Promise<void> {
  return startBackgroundSynth(RATELIMIT_APP_DIR, RATELIMIT_CDK_OUT);
}
