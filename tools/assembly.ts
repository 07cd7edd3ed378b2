import * as path from 'node:path';

/**
 * Where benches synthesize stage local: their own directory, so a bench can run while the test
 * suite synthesizes `cdk.out.test`. It must stay inside the project (sandboxes resolve the SDK from
 * the project's node_modules).
 */
export const BENCH_CDK_OUT = path.join(__dirname, '..', 'cdk.out.bench');

/** The cloud assembly the local end-to-end tests run (synthesized once by the global setup). */
export const TEST_CDK_OUT = path.join(__dirname, '..', 'cdk.out.test');
