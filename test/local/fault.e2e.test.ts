import { describe, expect, it } from 'vitest';
import { reportTable, runFaultSuite } from '../../tools/fault-run';

// The fault run at CI size: infrastructure faults, crashes and timeouts at random, on a stage of
// its own (runFaultSuite starts it). The single faults, one at a time, are
// fault-injection.e2e.test.ts.
describe('fault run', () => {
  it('accounts for every accepted message: nothing lost, no FIFO order violation', async () => {
    // Act
    const report = await runFaultSuite({ n: 240, seed: 2026, faults: true });
    console.log(`fault run (CI size)\n${reportTable(report)}`);

    // Assess
    expect(report.accepted).toBe(240);
    expect(report.lost).toBe(0);
    expect(report.dlqUnarchived).toBe(0);
    expect(report.orderViolations).toBe(0);
    expect(report.duplicateRuns).toBe(0);
    expect(report.statusNotSucceeded).toBe(0);
    expect(report.badProcessed).toBe(0);
    expect(report.processed + report.deadLettered).toBe(report.accepted);
    expect(Object.values(report.faultsInjected).reduce((a, b) => a + b, 0)).toBeGreaterThan(0);
  }, 600_000);
});
