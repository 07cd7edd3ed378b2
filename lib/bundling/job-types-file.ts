import { mkdirSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { attachCustomSynthesis, Stack } from 'aws-cdk-lib';
import type { IConstruct } from 'constructs';
import { DEFAULT_FIFO_LANE, DEFAULT_STANDARD_LANE } from '../config/lanes';
import type { CatalogEntry } from './job-catalog';
import { jobTypesFileName, type JobTypesFile } from './job-types';

export { jobTypesFileName, type JobTypesFile } from './job-types';

/**
 * The job types as the producer validates them: each catalog entry's JSON Schema, and for the
 * built-in `probe` only the modes the stage's API takes (`allowedProbeModes`).
 */
export function jobTypesOf(
  catalog: readonly CatalogEntry[],
  allowedProbeModes: readonly string[],
): JobTypesFile {
  return {
    version: 1,
    types: catalog.map((e) => {
      let schema = e.jsonSchema;
      const props = schema.properties as Record<string, Record<string, unknown>> | undefined;
      if (e.source.kind === 'builtin' && props?.mode?.enum)
        schema = {
          ...schema,
          properties: { ...props, mode: { ...props.mode, enum: [...allowedProbeModes] } },
        };
      return {
        type: e.type,
        description: e.description,
        ordered: e.ordered,
        lane: e.lane ?? (e.ordered ? DEFAULT_FIFO_LANE : DEFAULT_STANDARD_LANE),
        schema,
      };
    }),
  };
}

/**
 * Writes the stack's job types into the cloud assembly at synth, as `<artifactId>.job-types.json`
 * beside its template (not part of the template: nothing deploys it). Local mode's console reads
 * it for its send form (`GET /_local/console/types`). `scope` must not be the stack itself (CDK
 * synthesizes a stack through its synthesizer, not its custom synthesis).
 */
export function attachJobTypesFile(scope: IConstruct, file: JobTypesFile): void {
  attachCustomSynthesis(scope, {
    onSynthesize(session) {
      mkdirSync(session.outdir, { recursive: true });
      writeFileSync(
        path.join(session.outdir, jobTypesFileName(Stack.of(scope).artifactId)),
        `${JSON.stringify(file, null, 2)}\n`,
      );
    },
  });
}
