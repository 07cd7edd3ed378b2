/**
 * cdk-nag AwsSolutions over every stage, through CDK's native validation API (as bin/app.ts wires
 * it). How findings surface with aws-cdk-lib 2.276 + cdk-nag 3:
 *
 * - `app.synth()` runs every registered plugin and writes `validation-report.json` into the cloud
 *   assembly: per plugin, `violations` (unacknowledged) and `suppressedViolations` (acknowledged
 *   with `Validations.of(scope).acknowledge`, carrying the reason and where it was given).
 * - An unacknowledged error-severity finding also makes synth throw `ValidationFailed` (under
 *   vitest, NODE_ENV=test selects the in-memory app mode, whose exception carries the full report).
 *   Warning-severity findings never throw, so the test reads the report rather than relying on
 *   the exception.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Validations } from 'aws-cdk-lib';
import { AwsSolutionsChecks } from 'cdk-nag';
import type { IConstruct } from 'constructs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadStageConfig } from '../../app/stages';
import { STAGE_NAMES } from '../../app/stages';
import { buildStack, testApp } from '../helpers/synth';

interface ReportedConstruct {
  readonly constructPath: string;
}
interface ReportedViolation {
  readonly ruleName: string;
  readonly description: string;
  readonly severity?: string;
  readonly violatingConstructs: ReportedConstruct[];
}
interface SuppressedViolation extends ReportedViolation {
  readonly acknowledgedId: string;
  readonly acknowledgedAt: string;
  readonly reason: string;
}
interface PluginReport {
  readonly pluginName: string;
  readonly conclusion: string;
  readonly violations: ReportedViolation[];
  readonly suppressedViolations?: SuppressedViolation[];
}
interface Acknowledgement {
  readonly id: string;
  readonly path: string;
  readonly reason: string;
}

/** Metadata type under which `Validations.of(scope).acknowledge()` records its rules. */
const ACK_METADATA = Validations.ACKNOWLEDGED_RULES_METADATA_KEY;
/** What "a specific reason" means here: more than a slogan. */
const MIN_REASON_LENGTH = 40;

/** Every acknowledgement recorded in the construct tree under `root`. */
function acknowledgements(root: IConstruct): Acknowledgement[] {
  const out: Acknowledgement[] = [];
  for (const c of root.node.findAll()) {
    for (const entry of c.node.metadata) {
      if (entry.type !== ACK_METADATA) continue;
      for (const [id, reason] of Object.entries(entry.data as Record<string, string>)) {
        out.push({ id, path: c.node.path, reason });
      }
    }
  }
  return out;
}

function describeViolation(v: ReportedViolation): string {
  return `${v.ruleName} (${v.severity ?? 'no severity'}) at ${v.violatingConstructs.map((c) => c.constructPath).join(', ')}: ${v.description}`;
}

const outdirs: string[] = [];
afterAll(() => {
  for (const dir of outdirs) rmSync(dir, { recursive: true, force: true });
});

describe.each(STAGE_NAMES)('cdk-nag AwsSolutions on stage %s', (stage) => {
  let synthError: Error | undefined;
  let reports: PluginReport[];
  let acks: Acknowledgement[];

  beforeAll(() => {
    const outdir = mkdtempSync(join(tmpdir(), `nag-${stage}-`));
    outdirs.push(outdir);
    const { app } = buildStack(loadStageConfig(stage), testApp({ outdir }));
    Validations.of(app).addPlugins(new AwsSolutionsChecks(app));
    try {
      app.synth();
    } catch (error) {
      // `ValidationFailed`, carrying the report, on any unacknowledged error; the report file is
      // written before the throw, so the tests below still read it.
      synthError = error as Error;
    }
    reports = (
      JSON.parse(readFileSync(join(outdir, 'validation-report.json'), 'utf8')) as {
        pluginReports: PluginReport[];
      }
    ).pluginReports;
    acks = acknowledgements(app);
  });

  it('ran the AwsSolutions pack over the stack (its acknowledged findings are in the report)', () => {
    const nag = reports.find((r) => r.pluginName === 'AwsSolutions');
    expect(nag, 'AwsSolutions plugin report').toBeDefined();
    expect(nag!.suppressedViolations?.length ?? 0).toBeGreaterThan(0);
  });

  it('has no unacknowledged finding of any severity, from any plugin', () => {
    expect(synthError?.message).toBeUndefined();
    const open = reports.flatMap((r) => r.violations.map((v) => `[${r.pluginName}] ${describeViolation(v)}`));
    expect(open).toEqual([]);
    expect(reports.map((r) => r.pluginName)).toContain('AwsSolutions');
    for (const r of reports) expect(r.conclusion, r.pluginName).toBe('success');
  });

  it(`gives every acknowledgement a specific reason (> ${MIN_REASON_LENGTH} characters)`, () => {
    expect(acks.length).toBeGreaterThan(0);
    const vague = acks.filter((a) => a.reason.trim().length <= MIN_REASON_LENGTH);
    expect(vague).toEqual([]);
  });

  it('acknowledges by namespaced rule id, as cdk-nag 3 matches them', () => {
    for (const a of acks) expect(a.id, a.path).toMatch(/^AwsSolutions::AwsSolutions-[A-Z]+\d+(\[.+\])?$/);
  });

  it('has no stale acknowledgement: each one suppresses a finding', () => {
    const used = new Set(
      reports.flatMap((r) =>
        (r.suppressedViolations ?? []).map((s) => `${s.acknowledgedId} @ ${s.acknowledgedAt}`),
      ),
    );
    const stale = [...new Set(acks.map((a) => `${a.id} @ ${a.path}`))].filter((key) => !used.has(key));
    expect(stale).toEqual([]);
  });
});
