import { send } from '../lib/api';
import type { Command } from '../lib/cli';
import { UsageError } from '../lib/errors';
import { parsePayload, parseType } from '../lib/filters';

/** `send <type> '<payload json>'`: one message through the HTTP API. */
export const sendCommand: Command = {
  name: 'send',
  summary: "send a message through the HTTP API with the stage's API key; prints the 202 body",
  usage: "<type> '<payload json>' [--ordering-key K] [--idempotency-key K]",
  options: { 'ordering-key': { type: 'string' }, 'idempotency-key': { type: 'string' } },
  async run(ctx) {
    const [type, payloadText, extra] = ctx.positionals;
    if (!type)
      throw new UsageError('send: give a type and a JSON payload, e.g. send probe \'{"mode":"succeed"}\'');
    if (extra !== undefined) throw new UsageError('send: too many arguments (quote the payload JSON)');
    const payload = parsePayload(payloadText);
    const orderingKey = ctx.values['ordering-key'] as string | undefined;
    const idempotencyKey = ctx.values['idempotency-key'] as string | undefined;
    const accepted = await send(await ctx.target(), {
      type: parseType(type)!,
      payload,
      ...(orderingKey ? { orderingKey } : {}),
      ...(idempotencyKey ? { idempotencyKey } : {}),
    });
    return { json: accepted, text: JSON.stringify(accepted) };
  },
};
