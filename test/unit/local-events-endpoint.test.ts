import { describe, expect, it } from 'vitest';
import { answerLocalRequest, type LocalEndpoints } from '../../local/control/endpoints';
import { Journal } from '../../local/control/journal';

// GET /_local/events: the local events log (every event the stage's buses accepted).
const asked: unknown[] = [];
const local: LocalEndpoints = {
  health: () => ({}),
  alarms: () => [],
  triggerSchedule: () => undefined,
  events: (filter) => {
    asked.push(filter);
    return [{ bus: 'b', timestamp: 1, event: { id: 'e1' }, logGroups: [] }];
  },
};
const get = (query: string, endpoints: LocalEndpoints = local) =>
  answerLocalRequest('GET', '/_local/events', new Journal(1), endpoints, new URLSearchParams(query));

describe('GET /_local/events', () => {
  it('passes ?id= and ?limit= to the events log and answers its entries', async () => {
    asked.length = 0;
    const answer = await get('id=env-1&limit=5');
    await get('');

    expect(answer.statusCode).toBe(200);
    expect(JSON.parse(String(answer.body))).toEqual([
      { bus: 'b', timestamp: 1, event: { id: 'e1' }, logGroups: [] },
    ]);
    expect(asked).toEqual([{ id: 'env-1', limit: 5 }, {}]);
  });

  it('answers 400 naming limit when it is not a whole number from 1', async () => {
    const answer = await get('limit=0');
    expect(answer.statusCode).toBe(400);
    expect(JSON.parse(String(answer.body))).toEqual({
      error: { code: 'BadRequest', message: 'limit must be a whole number from 1 to 999999', field: 'limit' },
    });
  });

  it('is 404 when the stage has no event bus', async () => {
    const { events: _events, ...without } = local;
    expect((await get('', without)).statusCode).toBe(404);
  });
});
