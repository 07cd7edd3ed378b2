import { describe, expect, it } from 'vitest';
import { laneFor } from '../../lambda/producer/routing';

describe('lane routing (laneFor)', () => {
  it('sends a type of the default lanes to the standard lane without an orderingKey', () => {
    expect(laneFor('email.send', { ordered: false }, undefined)).toEqual({
      ok: true,
      lane: 'standard',
      fifo: false,
    });
  });

  it('sends a type of the default lanes to the FIFO lane with an orderingKey', () => {
    expect(laneFor('email.send', { ordered: false }, 'user-1')).toEqual({
      ok: true,
      lane: 'fifo',
      fifo: true,
    });
  });

  it('refuses an ordered type without an orderingKey, naming the field', () => {
    expect(laneFor('activity.recorded', { ordered: true }, undefined)).toEqual({
      ok: false,
      field: 'orderingKey',
      message: 'required: "activity.recorded" is an ordered type',
    });
  });

  it('sends a type of a custom standard lane there, and refuses an orderingKey for it', () => {
    const facts = { ordered: false, lane: 'thumbnails', laneFifo: false };

    expect(laneFor('thumbnail.create', facts, undefined)).toEqual({
      ok: true,
      lane: 'thumbnails',
      fifo: false,
    });
    expect(laneFor('thumbnail.create', facts, 'k')).toMatchObject({
      ok: false,
      field: 'orderingKey',
      message: expect.stringContaining('standard lane "thumbnails"'),
    });
  });

  it('sends a type of a custom FIFO lane there only with an orderingKey', () => {
    const facts = { ordered: false, lane: 'ledger', laneFifo: true };

    expect(laneFor('ledger.post', facts, 'acct-1')).toEqual({ ok: true, lane: 'ledger', fifo: true });
    expect(laneFor('ledger.post', facts, undefined)).toMatchObject({
      ok: false,
      field: 'orderingKey',
      message: 'required: "ledger.post" runs in the FIFO lane "ledger"',
    });
  });
});
