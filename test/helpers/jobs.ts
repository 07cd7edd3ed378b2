/** Job registries for consumer tests. */
import { JobRegistry } from '../../lambda/shared/jobs/registry';
import { defaultRegistry } from '../../tools/example-registry';
import type { JobDefinition } from '../../lambda/shared/jobs/types';

/**
 * The shipped job types, each wrapped to record the message id of every record whose handler
 * actually ran (in run order), so tests can tell processed records from skipped ones.
 */
export function recordingRegistry(extra: readonly JobDefinition[] = []): {
  registry: JobRegistry;
  runs: string[];
} {
  const runs: string[] = [];
  const wrap = (def: JobDefinition): JobDefinition => ({
    ...def,
    handle: async (payload, ctx) => {
      runs.push(ctx.messageId);
      return def.handle(payload, ctx);
    },
  });
  const defs = [...defaultRegistry.types().map((t) => defaultRegistry.get(t)), ...extra];
  return { registry: new JobRegistry(defs.map(wrap)), runs };
}
