import { App } from 'aws-cdk-lib';
import { describe, expect, it } from 'vitest';
import { JOB_MODULES } from '../../app/event-pipeline-stack';
import { loadStageConfig } from '../../app/stages';
import { validatorsModule } from '../../lib/bundling/entries';
import { buildCatalog } from '../../lib/bundling/job-catalog';
import { resolveLanes } from '../../lib/config/lanes';
import { compiledCatalog, type CompiledValidator } from '../../lambda/producer/catalog';

/** The producer's catalog as a synth of this repository's app compiles it (Ajv standalone code). */
function deployedCatalog() {
  const lanes = resolveLanes(loadStageConfig('dev'));
  const entries = buildCatalog(new App(), JOB_MODULES, lanes, true);
  const { code, exports } = validatorsModule(entries);
  const module = { exports: {} as Record<string, CompiledValidator> };
  // The generated module is CommonJS; its requires are absolute paths into this package's Ajv.
  new Function('module', 'exports', 'require', code)(module, module.exports, require);
  const validators = Object.fromEntries(
    Object.entries(exports).map(([type, name]) => [type, module.exports[name]!]),
  );
  const types = Object.fromEntries(entries.map((e) => [e.type, { ordered: e.ordered }]));
  return compiledCatalog(types, validators);
}

describe('producer catalog compiled at synth (JSON Schema validators)', () => {
  const catalog = deployedCatalog();

  it('knows every type of the app and the built-in probe, and which are ordered', () => {
    expect([...catalog.types()].sort()).toEqual([
      'activity.recorded',
      'email.send',
      'probe',
      'report.generate',
    ]);
    expect(catalog.get('activity.recorded').ordered).toBe(true);
    expect(catalog.has('thumbnail.create')).toBe(false);
  });

  it('accepts a valid payload and applies the schema defaults (probe failTimes, sleepMs)', () => {
    expect(catalog.validate('probe', { mode: 'succeed' })).toEqual({
      ok: true,
      payload: { mode: 'succeed', failTimes: 0, sleepMs: 0 },
    });
  });

  it('names each wrong field: a missing one, an unknown one, a format (not its pattern too)', () => {
    const r = catalog.validate('email.send', { to: 'not-an-address', body: 'x', cc: 'y' });

    expect(r).toEqual({
      ok: false,
      issues: [
        { field: 'payload.subject', message: 'required' },
        { field: 'payload.cc', message: 'not a field of this type' },
        { field: 'payload.to', message: 'must match format "email"' },
      ],
    });
  });

  it('leaves cross-field rules to the consumer (report.generate: from after to passes the door)', () => {
    const r = catalog.validate('report.generate', {
      reportId: 'r1',
      format: 'csv',
      from: '2026-02-01',
      to: '2026-01-01',
    });

    expect(r.ok).toBe(true);
  });

  it('refuses a wrong type of value at a nested path', () => {
    const r = catalog.validate('probe', { mode: 'sleep', sleepMs: 'long' });

    expect(r).toEqual({ ok: false, issues: [{ field: 'payload.sleepMs', message: 'must be integer' }] });
  });
});
