import { describe, expect, it } from 'vitest';
import { esm, fn, queue, useTemplateFixture, type RawResource } from '../helpers/topology';

const { analyze } = useTemplateFixture('local-observability-');

/** A queue, a function and its mapping, with the observability settings given. */
function template(
  fnExtra: Record<string, unknown>,
  esmExtra: Record<string, unknown>,
): Record<string, RawResource> {
  return {
    Q: queue,
    Fn: fn(fnExtra),
    Esm: esm({ BatchSize: 10, FunctionResponseTypes: ['ReportBatchItemFailures'], ...esmExtra }),
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
