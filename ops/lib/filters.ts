import type { FailureKind } from '../../lambda/shared/archive';
import { LANE_NAME_PATTERN } from '../../lib/config/lanes';
import type { ArchiveFilter } from './archive';
import type { Values } from './cli';
import { UsageError } from './errors';
import { DEFAULT_LANES } from './target';

/** Failure kinds a filter accepts. */
export const KINDS = [
  'permanent',
  'exhausted',
  'unknown',
  'deferral-exhausted',
] as const satisfies readonly FailureKind[];

/** `--queue standard|fifo`: a default lane, named as before lanes existed (`--lane` names any). */
export function parseQueue(v: string | undefined): string | undefined {
  if (v === undefined) return undefined;
  if (!(DEFAULT_LANES as readonly string[]).includes(v))
    throw new UsageError(`--queue ${v}: use standard or fifo, or --lane <name> for any lane`);
  return v;
}

/**
 * `--lane <name>`: what a lane's name may be (lib/config/lanes.ts). Whether the target has that
 * lane is known once it is resolved: `pairOf` refuses one it lacks, listing the lanes it has.
 */
export function parseLane(v: string | undefined): string | undefined {
  if (v === undefined) return undefined;
  if (!LANE_NAME_PATTERN.test(v))
    throw new UsageError(`--lane ${v}: not a lane name (lower case letters, digits and dashes)`);
  return v;
}

/** The lane `--lane <name>` or its alias `--queue standard|fifo` names; giving both is refused. */
export function parseLaneOption(values: Values): string | undefined {
  const lane = parseLane(values.lane as string | undefined);
  const queue = parseQueue(values.queue as string | undefined);
  if (lane !== undefined && queue !== undefined)
    throw new UsageError('give --lane <name> or --queue standard|fifo, not both');
  return lane ?? queue;
}

/** The `parseArgs` options of {@link parseLaneOption}. */
export const LANE_OPTIONS = {
  lane: { type: 'string' },
  queue: { type: 'string' },
} as const satisfies Record<string, { readonly type: 'string' }>;

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

/**
 * The selection options, each with its parser: `lane` is `--lane <name>` or `--queue
 * standard|fifo` ({@link parseLaneOption}); `type`, `kind`, `since`, `until` and `ids` are the
 * options of their names.
 */
const SELECTION_PARSERS = {
  lane: parseLaneOption,
  type: (values: Values) => parseType(values.type as string | undefined),
  kind: (values: Values) => parseKind(values.kind as string | undefined),
  since: (values: Values) => parseDate('since', values.since as string | undefined),
  until: (values: Values) => parseDate('until', values.until as string | undefined),
  ids: (values: Values) => parseIds(values.ids as string | undefined),
} as const;

/** One option of a selection. */
export type SelectionOption = keyof typeof SELECTION_PARSERS;

/** The `parseArgs` options of the selection options `names` (all strings; `lane` is `--lane` and `--queue`). */
export function selectionOptions(
  names: readonly SelectionOption[],
): Record<string, { readonly type: 'string' }> {
  return Object.fromEntries(
    names.flatMap((n) => (n === 'lane' ? Object.entries(LANE_OPTIONS) : [[n, { type: 'string' }]])),
  ) as Record<string, { readonly type: 'string' }>;
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
    const parsed = SELECTION_PARSERS[name](values);
    if (parsed !== undefined) out[name] = parsed;
  }
  return out as Pick<ArchiveFilter, K>;
}
