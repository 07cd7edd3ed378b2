import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { synthesize } from '../../local/startup';

const ROOT = path.join(__dirname, '..', '..');

/**
 * A fixture app's synth started by a global setup and left running while the other files run, so
 * that the file that needs it, when its turn comes, does not wait for a synth of its own (the
 * rate-limit file runs after every other file: vitest.config.mts). The global setup and the test
 * file live in different processes: they meet in a state file, written by the setup and read by
 * the file.
 */
interface SynthState {
  /** The run that started it (`VITEST_SEED`): a state file of an earlier run counts for nothing. */
  readonly run: string;
  readonly state: 'running' | 'done' | 'failed';
  readonly error?: string;
}

const stateFile = (cdkOut: string) =>
  path.join(ROOT, 'node_modules', '.cache', 'event-pipeline-tests', `${path.basename(cdkOut)}.synth.json`);
const thisRun = () => process.env.VITEST_SEED ?? 'run';

function write(cdkOut: string, state: SynthState): void {
  mkdirSync(path.dirname(stateFile(cdkOut)), { recursive: true });
  writeFileSync(stateFile(cdkOut), JSON.stringify(state));
}

/**
 * Starts synthesizing stage `local` of the app in `appDir` into `cdkOut`, in the background.
 * Returns the global setup's teardown: it waits for the synth to end.
 */
export function startBackgroundSynth(
  appDir: string,
  cdkOut: string,
  /** The synth itself (a test gives its own). @default local mode's `synthesize` of stage local */
  synth: (appDir: string, cdkOut: string) => Promise<void> = (dir, out) => synthesize('local', out, dir),
): () => Promise<void> {
  const run = thisRun();
  write(cdkOut, { run, state: 'running' });
  const done = synth(appDir, cdkOut).then(
    () => write(cdkOut, { run, state: 'done' }),
    (error: unknown) =>
      write(cdkOut, { run, state: 'failed', error: error instanceof Error ? error.message : String(error) }),
  );
  return () => done;
}

/**
 * Waits for this run's background synth into `cdkOut`: `true` once it is done, `false` when
 * none was started in this run (the caller synthesizes itself). Throws the synth's own error when
 * it failed, or after `timeoutMs`.
 */
export async function backgroundSynthReady(cdkOut: string, timeoutMs = 240_000): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    let state: SynthState;
    try {
      state = JSON.parse(readFileSync(stateFile(cdkOut), 'utf8')) as SynthState;
    } catch {
      return false;
    }
    if (state.run !== thisRun()) return false;
    if (state.state === 'done') return true;
    if (state.state === 'failed') throw new Error(`synth of ${path.basename(cdkOut)} failed: ${state.error}`);
    if (Date.now() > deadline)
      throw new Error(`synth of ${path.basename(cdkOut)} still running after ${timeoutMs} ms`);
    await sleep(250);
  }
}
