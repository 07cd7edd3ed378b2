import { BaseSequencer, type TestSpecification } from 'vitest/node';

/**
 * The order in which `npm test` hands files to its workers (vitest.config.mts). The suite's wall
 * time is set by its longest files, and most of theirs is waiting, not CPU: local mode's
 * visibility timeouts, FIFO groups held by a failing message, retry back-offs (the CI-size fault
 * run took 204 s of wall time at 32 % of one core). Started last, such a file is the whole run's
 * tail; started first, its waits overlap every short file's work.
 *
 * vitest's own order runs projects by name (browser, infra, local…) and, without timings from an
 * earlier run (a fresh clone has none), larger files first. This one starts the projects that wait
 * most first: the outside app (npm pack and install, two synths: 40 s alone, 174 s beside the
 * others, and the last file to end when it started after the local ones) and local mode's files,
 * those known to run longest first (measured in a fresh-clone run at 1acd8a9, in seconds); the
 * rest keep vitest's order (earlier timings when there are some, else size).
 */
const PROJECT_RANK = ['outside', 'local', 'browser', 'infra', 'unit'];
const KNOWN_LONG: Record<string, number> = {
  'test/local/fault.e2e.test.ts': 176,
  'test/local/crash-isolation.e2e.test.ts': 119,
  'test/local/ops.e2e.test.ts': 60,
  'test/local/completion.e2e.test.ts': 54,
  'test/local/deferral.e2e.test.ts': 53,
  'test/outside/adopt.e2e.test.ts': 40,
  'test/local/pipeline.e2e.test.ts': 37,
  'test/local/lanes.e2e.test.ts': 34,
  'test/local/fifo-skip.e2e.test.ts': 20,
};

export class LongestFirstSequencer extends BaseSequencer {
  override async sort(files: TestSpecification[]): Promise<TestSpecification[]> {
    const sorted = await super.sort(files);
    const rank = (f: TestSpecification) => {
      const r = PROJECT_RANK.indexOf(f.project.name);
      return r < 0 ? PROJECT_RANK.length : r;
    };
    const known = (f: TestSpecification) => KNOWN_LONG[relativeTo(f.project.config.root, f.moduleId)] ?? 0;
    // Array.prototype.sort is stable: ties keep vitest's order.
    return sorted.sort(
      (a, b) =>
        a.project.config.sequence.groupOrder - b.project.config.sequence.groupOrder ||
        rank(a) - rank(b) ||
        known(b) - known(a),
    );
  }
}

function relativeTo(root: string, file: string): string {
  const prefix = root.endsWith('/') ? root : `${root}/`;
  return file.startsWith(prefix) ? file.slice(prefix.length) : file;
}
