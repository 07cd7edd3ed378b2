import type { CatalogType } from './catalog';

/** The default lanes' names (the same as `lib/config/lanes.ts`). */
export const DEFAULT_LANES = { standard: 'standard', fifo: 'fifo' } as const;

/** Where a message goes, or why it cannot go anywhere (the field and the reason, for a 400). */
export type Route =
  | { readonly ok: true; readonly lane: string; readonly fifo: boolean }
  | { readonly ok: false; readonly field: 'orderingKey'; readonly message: string };

/**
 * The lane of a message. A type in a custom lane always goes there: a FIFO lane needs an
 * `orderingKey`, a standard lane keeps no order and refuses one. A type of the default lanes goes
 * to the FIFO lane when it has an `orderingKey` (required for ordered types), else to the
 * standard lane, as before lanes existed.
 */
export function laneFor(type: string, facts: CatalogType, orderingKey: string | undefined): Route {
  const keyed = orderingKey !== undefined;
  if (facts.lane !== undefined) {
    const fifo = facts.laneFifo ?? false;
    if (fifo && !keyed)
      return {
        ok: false,
        field: 'orderingKey',
        message: `required: "${type}" runs in the FIFO lane "${facts.lane}"`,
      };
    if (!fifo && keyed)
      return {
        ok: false,
        field: 'orderingKey',
        message: `not accepted: "${type}" runs in the standard lane "${facts.lane}", which keeps no order`,
      };
    return { ok: true, lane: facts.lane, fifo };
  }
  if (facts.ordered && !keyed)
    return { ok: false, field: 'orderingKey', message: `required: "${type}" is an ordered type` };
  return keyed
    ? { ok: true, lane: DEFAULT_LANES.fifo, fifo: true }
    : { ok: true, lane: DEFAULT_LANES.standard, fifo: false };
}
