/**
 * Template analysis over hand-written resources (`test/local/local-topology.test.ts` and the
 * others that check what local mode reads of a template): a cdk.out folder with one asset, and
 * builders of a queue, a function and a mapping.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { afterAll, beforeAll } from 'vitest';
import type { StageTemplate, TemplateResource } from '../../local/template/reader';
import { localPseudoParameters, Resolver } from '../../local/template/resolver';
import { analyzeTemplate, type Topology } from '../../local/template/topology';

/** A template resource as written in a template. */
export interface RawResource {
  readonly Type: string;
  readonly Properties?: Record<string, unknown>;
  readonly Metadata?: Record<string, unknown>;
  readonly Condition?: string;
}

/** The asset folder of {@link fn}'s functions, inside the fixture's cdk.out. */
export const ASSET = 'asset.abc';

/**
 * A cdk.out folder (under `prefix` in the temp dir) holding {@link ASSET}`/index.mjs`, made before
 * the file's tests and removed after them, and `analyze`, which runs local mode's template analysis
 * (stack `S`) over resources in it.
 */
export function useTemplateFixture(prefix: string): {
  readonly cdkOut: () => string;
  readonly analyze: (resources: Record<string, RawResource>) => Topology;
} {
  let cdkOut = '';
  beforeAll(() => {
    cdkOut = mkdtempSync(path.join(tmpdir(), prefix));
    mkdirSync(path.join(cdkOut, ASSET));
    writeFileSync(path.join(cdkOut, ASSET, 'index.mjs'), 'export const handler = async () => null;');
  });
  afterAll(() => rmSync(cdkOut, { recursive: true, force: true }));
  const analyze = (resources: Record<string, RawResource>): Topology => {
    const map = new Map<string, TemplateResource>(
      Object.entries(resources).map(([logicalId, r]) => [
        logicalId,
        {
          logicalId,
          type: r.Type,
          properties: r.Properties ?? {},
          metadata: r.Metadata ?? {},
          dependsOn: [],
          condition: r.Condition,
          stackName: 'S',
        },
      ]),
    );
    const stage: StageTemplate = { cdkOut, resources: map, parameters: new Map() };
    return analyzeTemplate(stage, new Resolver({ pseudo: localPseudoParameters('S'), resources: map }));
  };
  return { cdkOut: () => cdkOut, analyze };
}

/** A Node.js function bundled in {@link ASSET}, with `extra` properties. */
export const fn = (extra: Record<string, unknown> = {}): RawResource => ({
  Type: 'AWS::Lambda::Function',
  Properties: { Handler: 'index.handler', Runtime: 'nodejs24.x', Timeout: 3, ...extra },
  Metadata: { 'aws:asset:path': ASSET },
});

/** A standard queue with default settings. */
export const queue: RawResource = { Type: 'AWS::SQS::Queue' };

/** A mapping of queue `Q` to function `Fn`, with `properties`. */
export const esm = (properties: Record<string, unknown> = {}): RawResource => ({
  Type: 'AWS::Lambda::EventSourceMapping',
  Properties: { EventSourceArn: { 'Fn::GetAtt': ['Q', 'Arn'] }, FunctionName: { Ref: 'Fn' }, ...properties },
});
