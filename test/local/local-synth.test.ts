import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { TEST_CDK_OUT } from '../../tools/assembly';

// Local mode synthesizes with `cdk synth --no-validation` (local/startup.ts): CDK's built-in
// CloudFormation template validation is left to `cdk synth` and `cdk deploy`. The app's own
// validation plugins still run: the stage the global setup synthesized that way was checked by
// cdk-nag, with every acknowledgement of bin/app.ts.
describe("local mode's synth", () => {
  it("runs the app's cdk-nag checks: the validation report holds AwsSolutions, passed, none unacknowledged", () => {
    const report = JSON.parse(readFileSync(path.join(TEST_CDK_OUT, 'validation-report.json'), 'utf8')) as {
      pluginReports: {
        pluginName: string;
        conclusion: string;
        violations: unknown[];
        suppressedViolations: unknown[];
      }[];
    };

    const nag = report.pluginReports.find((r) => r.pluginName === 'AwsSolutions');

    expect(nag, JSON.stringify(report.pluginReports.map((r) => r.pluginName))).toBeDefined();
    expect(nag!.conclusion).toBe('success');
    expect(nag!.violations).toEqual([]);
    expect(nag!.suppressedViolations.length).toBeGreaterThan(0);
  });
});
