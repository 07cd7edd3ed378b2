/**
 * Behaviours of the synthetic `probe` job (docs/DESIGN.md §4). Apart from the job itself
 * (`./probe.ts`), so the producer and the constructs can name the modes without its schema.
 */
export const PROBE_MODES = ['succeed', 'sleep', 'fail-permanent', 'fail-always', 'timeout', 'crash'] as const;
/** One of {@link PROBE_MODES}. */
export type ProbeMode = (typeof PROBE_MODES)[number];
