import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { StageTemplate, TemplateResource } from '../../local/template/reader';
import { localPseudoParameters, Resolver } from '../../local/template/resolver';
import { analyzeTemplate } from '../../local/template/topology';

let cdkOut: string;
beforeAll(() => {
  cdkOut = mkdtempSync(path.join(tmpdir(), 'local-observability-'));
  mkdirSync(path.join(cdkOut, 'asset.abc'));
  writeFileSync(path.join(cdkOut, 'asset.abc', 'index.mjs'), 'export const handler = async () => null;');
});
afterAll(() => rmSync(cdkOut, { recursive: true, force: true }));

type Raw = { Type: string; Properties?: Record<string, unknown>; Metadata?: Record<string, unknown> };

function analyze(resources: Record<string, Raw>) {
  const map = new Map<string, TemplateResource>(
    Object.entries(resources).map(([logicalId, r]) => [
      logicalId,
      {
        logicalId,
        type: r.Type,
        properties: r.Properties ?? {},
        metadata: r.Metadata ?? {},
        dependsOn: [],
        condition: undefined,
        stackName: 'S',
      },
    ]),
  );
  const stage: StageTemplate = { cdkOut, resources: map, parameters: new Map() };
  return analyzeTemplate(stage, new Resolver({ pseudo: localPseudoParameters('S'), resources: map }));
}

/** A queue, a function and its mapping, with the observability settings given. */
function template(fnExtra: Record<string, unknown>, esmExtra: Record<string, unknown>): Record<string, Raw> {
  return {
    Q: { Type: 'AWS::SQS::Queue' },
    Fn: {
      Type: 'AWS::Lambda::Function',
      Properties: { Handler: 'index.handler', Runtime: 'nodejs24.x', Timeout: 3, ...fnExtra },
      Metadata: { 'aws:asset:path': 'asset.abc' },
    },
    Esm: {
      Type: 'AWS::Lambda::EventSourceMapping',
      Properties: {
        EventSourceArn: { 'Fn::GetAtt': ['Q', 'Arn'] },
        FunctionName: { Ref: 'Fn' },
        BatchSize: 10,
        FunctionResponseTypes: ['ReportBatchItemFailures'],
        ...esmExtra,
      },
    },
  };
}

describe('observability settings in local mode (not reproduced)', () => {
  it("accepts active tracing and a mapping's EventCount metrics quietly: the same topology as without them", () => {
    const plain = analyze(template({}, {}));

    const observed = analyze(
      template({ TracingConfig: { Mode: 'Active' } }, { MetricsConfig: { Metrics: ['EventCount'] } }),
    );

    expect(observed.mappings).toEqual(plain.mappings);
    // Everything derived from the function is the same (its raw resource keeps the property, unread).
    const derived = (t: typeof plain) => t.functions.map(({ resource: _resource, ...rest }) => rest);
    expect(derived(observed)).toEqual(derived(plain));
    expect(observed.mappings).toHaveLength(1);
  });
});
