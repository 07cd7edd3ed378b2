import type { ArchiveFilter } from './archive';
import type { Values } from './cli';
import { UsageError } from './errors';
import { QUEUE_KEYS, type QueueKey } from './target';
import type { FailureKind } from '../../lambda/shared/archive';

/** Failure kinds a filter accepts. */
export const KINDS = ['permanent', 'exhausted', 'unknown'] as const satisfies readonly FailureKind[];

/** `--queue standard|fifo`. */
export function parseQueue(v: string | undefined): QueueKey | undefined {
  if (v === undefined) return undefined;
  if (!(QUEUE_KEYS as readonly string[]).includes(v))
    throw new UsageError(`--queue ${v}: use standard or fifo`);
  return v as QueueKey;
}

/** `--kind permanent|exhausted|unknown`. */
export function parseKind(v: string | undefined): FailureKind | undefined {
  if (v === undefined) return undefined;
  if (!(KINDS as readonly string[]).includes(v)) throw new UsageError(`--kind ${v}: use ${KINDS.join(', ')}`);
  return v as FailureKind;
}

/** `--ids a,b,…` */
export function parseIds(v: string | undefined): string[] | undefined {
  if (v === undefined) return undefined;
  const ids = v
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
  if (!ids.length) throw new UsageError('--ids: give one or more message ids, separated by commas');
  return ids;
}

/** `--since` / `--until`: an ISO date or time. */
export function parseDate(name: string, v: string | undefined): Date | undefined {
  if (v === undefined) return undefined;
  const ms = Date.parse(v);
  if (!/^\d{4}-\d{2}-\d{2}/.test(v) || Number.isNaN(ms))
    throw new UsageError(`--${name} ${v}: use an ISO date or time, e.g. 2026-11-22 or 2026-11-22T10:00:00Z`);
  return new Date(ms);
}

/** A positive integer option. */
export function parsePositive(name: string, v: string | undefined): number | undefined {
  if (v === undefined) return undefined;
  const n = Number(v);
  if (!Number.isInteger(n) || n < 1) throw new UsageError(`--${name} ${v}: use a whole number of at least 1`);
  return n;
}

/** `--type T`: a job type name. */
export function parseType(v: string | undefined): string | undefined {
  if (v === undefined) return undefined;
  if (!/^[A-Za-z0-9._:-]{1,128}$/.test(v)) throw new UsageError(`--type ${v}: not a job type name`);
  return v;
}

/** The payload argument of `send`: a JSON object. */
export function parsePayload(v: string | undefined): Record<string, unknown> {
  if (v === undefined) throw new UsageError('send: give the payload as JSON, e.g. \'{"mode":"succeed"}\'');
  let json: unknown;
  try {
    json = JSON.parse(v);
  } catch (error) {
    throw new UsageError(`payload is not JSON: ${(error as Error).message}`);
  }
  if (typeof json !== 'object' || json === null || Array.isArray(json))
    throw new UsageError('payload must be a JSON object');
  return json as Record<string, unknown>;
}

/** The selection options (`--queue`, `--type`, `--kind`, `--since`, `--until`, `--ids`), each with its parser. */
const SELECTION_PARSERS = {
  queue: parseQueue,
  type: parseType,
  kind: parseKind,
  since: (v: string | undefined) => parseDate('since', v),
  until: (v: string | undefined) => parseDate('until', v),
  ids: parseIds,
} as const;

/** One option of a selection. */
export type SelectionOption = keyof typeof SELECTION_PARSERS;

/** The `parseArgs` options of the selection options `names` (all strings). */
export function selectionOptions<K extends SelectionOption>(
  names: readonly K[],
): Record<K, { readonly type: 'string' }> {
  return Object.fromEntries(names.map((n) => [n, { type: 'string' }])) as Record<
    K,
    { readonly type: 'string' }
  >;
}

/**
 * The selection the options `names` give in `values`, parsed in that order (the first bad one is
 * the error); options not given are left out.
 */
export function parseSelection<K extends SelectionOption>(
  values: Values,
  names: readonly K[],
): Pick<ArchiveFilter, K> {
  const out: Record<string, unknown> = {};
  for (const name of names) {
    const parsed = SELECTION_PARSERS[name](values[name] as string | undefined);
    if (parsed !== undefined) out[name] = parsed;
  }
  return out as Pick<ArchiveFilter, K>;
}
