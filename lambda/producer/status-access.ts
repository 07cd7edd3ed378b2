import type { StoredStatus } from '../shared/status/types';

/**
 * True when `tenant` may read status row `row` (`GET /v1/messages/{id}`): its owner only, the
 * tenant whose request the API accepted. A row without an owner is visible to nobody through the
 * API: one written before tenants existed, one a consumer wrote for a message that entered a
 * queue without the API, or one whose producer `accepted` write was lost (consumers never set the
 * owner). The API answers a row the caller may not read exactly as it answers an unknown id.
 */
export function readableBy(row: StoredStatus, tenant: string): boolean {
  return row.owner !== undefined && row.owner === tenant;
}
