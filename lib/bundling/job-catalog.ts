import * as path from 'node:path';
import { Annotations } from 'aws-cdk-lib';
import type { IConstruct } from 'constructs';
import { z } from 'zod';
import { jobsOfModule, type JobDefinition } from '../../lambda/shared/jobs/types';
import { probeJob } from '../../lambda/shared/jobs/probe';
import { ConfigError } from '../config/errors';
import { DEFAULT_FIFO_LANE, DEFAULT_STANDARD_LANE, type ResolvedLane } from '../config/lanes';

/** Where a job type comes from: a module of the app, or the package's built-in `probe`. */
export type JobSource = { readonly kind: 'module'; readonly file: string } | { readonly kind: 'builtin' };

/** One job type as the synth sees it: what the producer and the lanes' consumers need to know. */
export interface CatalogEntry {
  readonly type: string;
  readonly description: string;
  readonly ordered: boolean;
  /** The lane named by the type, or `undefined` for the default lanes. */
  readonly lane?: string;
  /** The payload's JSON Schema (draft-07, input side), for the producer's validation. */
  readonly jsonSchema: Record<string, unknown>;
  readonly source: JobSource;
}

/**
 * Loads a job module at synth time to read its definitions (TypeScript through tsx, so an app in
 * TypeScript needs no build step; JavaScript through `require`).
 */
export function loadJobModule(file: string): JobDefinition[] {
  if (!path.isAbsolute(file))
    throw new ConfigError(
      `Job module "${file}" must be an absolute path (e.g. path.join(__dirname, '../jobs/x.ts'))`,
    );
  let exports: unknown;
  try {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const { require: tsxRequire } = require('tsx/cjs/api') as {
      require: (id: string, from: string) => unknown;
    };
    exports = tsxRequire(file, __filename);
  } catch (error) {
    throw new ConfigError(`Job module ${file} cannot be loaded: ${(error as Error).message.split('\n')[0]}`);
  }
  try {
    return jobsOfModule(exports, file);
  } catch (error) {
    throw new ConfigError((error as Error).message);
  }
}

/** The payload schema of a job as JSON Schema; throws naming the type when zod cannot express it. */
function jsonSchemaOf(def: JobDefinition): Record<string, unknown> {
  try {
    return z.toJSONSchema(def.schema, { target: 'draft-7', io: 'input' }) as Record<string, unknown>;
  } catch (error) {
    throw new ConfigError(
      `Job type "${def.type}": its payload schema has no JSON Schema form (${(error as Error).message}); the API validates payloads with it`,
    );
  }
}

/** True when a zod schema (or a part of it) carries a refinement JSON Schema cannot state. */
function hasRefinement(schema: unknown, seen = new Set<unknown>()): boolean {
  if (!schema || typeof schema !== 'object' || seen.has(schema)) return false;
  seen.add(schema);
  const def = (schema as { _zod?: { def?: Record<string, unknown> } })._zod?.def;
  if (!def) return false;
  const checks = (def.checks as { _zod?: { def?: { check?: string } } }[] | undefined) ?? [];
  if (checks.some((c) => c._zod?.def?.check === 'custom')) return true;
  if (def.type === 'custom' || def.type === 'transform' || def.type === 'pipe') return true;
  return Object.values(def).some((v) =>
    Array.isArray(v)
      ? v.some((x) => hasRefinement(x, seen))
      : typeof v === 'object' && v !== null && !('_zod' in v)
        ? Object.values(v).some((x) => hasRefinement(x, seen))
        : hasRefinement(v, seen),
  );
}

/**
 * The app's job types: every definition of every module, plus `probe` when `builtInProbe`. Refuses
 * (one line each) a type defined twice and a type naming a lane the pipeline does not have, or an
 * ordered type in a standard lane. Adds a synth warning on `scope` for a schema whose refinements
 * only the consumer checks.
 */
export function buildCatalog(
  scope: IConstruct,
  modules: readonly string[],
  lanes: readonly ResolvedLane[],
  builtInProbe: boolean,
): CatalogEntry[] {
  const entries = new Map<string, CatalogEntry>();
  const add = (def: JobDefinition, source: JobSource) => {
    const where = source.kind === 'module' ? source.file : 'the package';
    const prior = entries.get(def.type);
    if (prior)
      throw new ConfigError(
        `Job type "${def.type}" is defined twice (${prior.source.kind === 'module' ? prior.source.file : 'the package'} and ${where})`,
      );
    if (def.lane !== undefined) {
      const lane = lanes.find((l) => l.name === def.lane);
      if (!lane)
        throw new ConfigError(
          `Job type "${def.type}" names lane "${def.lane}", which the pipeline does not have (lanes: ${lanes.map((l) => l.name).join(', ')})`,
        );
      if (def.ordered && !lane.fifo)
        throw new ConfigError(
          `Job type "${def.type}" is ordered but lane "${def.lane}" is not FIFO (fifo: true)`,
        );
    }
    if (hasRefinement(def.schema))
      Annotations.of(scope).addWarningV2(
        'event-pipeline:refinement',
        `Job type "${def.type}": its schema has refinements (refine/transform) that JSON Schema cannot state; the API checks the rest, the consumer checks them (a permanent failure)`,
      );
    entries.set(def.type, {
      type: def.type,
      description: def.description,
      ordered: def.ordered,
      ...(def.lane === undefined || def.lane === DEFAULT_STANDARD_LANE ? {} : { lane: def.lane }),
      jsonSchema: jsonSchemaOf(def),
      source,
    });
  };
  const files = [...new Set(modules.map((m) => path.resolve(m)))];
  for (const file of files) for (const def of loadJobModule(file)) add(def, { kind: 'module', file });
  if (builtInProbe) add(probeJob as unknown as JobDefinition, { kind: 'builtin' });
  return [...entries.values()];
}

/**
 * The types a lane's consumer runs. A custom lane runs the types that name it. The default
 * standard lane runs every unlaned unordered type; the default FIFO lane every unlaned type (an
 * unordered type sent with an `orderingKey` goes there, as before lanes existed).
 */
export function typesOfLane(catalog: readonly CatalogEntry[], lane: ResolvedLane): CatalogEntry[] {
  if (!lane.isDefault) return catalog.filter((e) => e.lane === lane.name);
  const unlaned = catalog.filter((e) => e.lane === undefined || e.lane === lane.name);
  return lane.name === DEFAULT_FIFO_LANE ? unlaned : unlaned.filter((e) => !e.ordered);
}
