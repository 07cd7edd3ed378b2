import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { App, Stack } from 'aws-cdk-lib';
import { Construct } from 'constructs';
import { afterEach, describe, expect, it } from 'vitest';
import { JOB_MODULES } from '../../app/event-pipeline-stack';
import { loadStageConfig } from '../../app/stages';
import { buildCatalog } from '../../lib/bundling/job-catalog';
import { attachJobTypesFile, jobTypesOf } from '../../lib/bundling/job-types-file';
import { resolveLanes } from '../../lib/config/lanes';
import { readJobTypes } from '../../local/template/reader';

// The job types beside the template: what the producer validates, for local mode's send form.
const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

const catalog = () => buildCatalog(new App(), JOB_MODULES, resolveLanes(loadStageConfig('dev')), true);

describe('job types file (lib/bundling/job-types-file.ts)', () => {
  it("lists every type with its lane and the producer's JSON Schema, probe narrowed to the stage's modes", () => {
    // Arrange
    const entries = catalog();

    // Act
    const file = jobTypesOf(entries, ['succeed', 'sleep']);

    // Assert
    expect(file.version).toBe(1);
    expect(file.types.map((t) => [t.type, t.lane, t.ordered])).toEqual(
      entries.map((e) => [e.type, e.lane ?? (e.ordered ? 'fifo' : 'standard'), e.ordered]),
    );
    const probe = file.types.find((t) => t.type === 'probe')!;
    expect((probe.schema.properties as Record<string, { enum?: string[] }>).mode!.enum).toEqual([
      'succeed',
      'sleep',
    ]);
    const email = file.types.find((t) => t.type === 'email.send')!;
    expect(email.schema).toEqual(entries.find((e) => e.type === 'email.send')!.jsonSchema);
  });

  it('is written into the cloud assembly at synth, where local mode reads it', () => {
    // Arrange
    const outdir = mkdtempSync(path.join(tmpdir(), 'job-types-'));
    dirs.push(outdir);
    const app = new App({ outdir });
    const stack = new Stack(app, 'Types', { stackName: 'EventPipeline-test' });
    const file = jobTypesOf(catalog(), ['succeed']);
    attachJobTypesFile(new Construct(stack, 'Pipeline'), file);

    // Act
    app.synth();

    // Assert
    expect(JSON.parse(readFileSync(path.join(outdir, 'Types.job-types.json'), 'utf8'))).toEqual(file);
    expect(readJobTypes(outdir, 'EventPipeline-test')).toEqual(file);
    expect(readJobTypes(outdir, 'EventPipeline-other')).toBeNull();
  });
});
