import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { schemaFiles } from '../../tools/schemas';

describe('published JSON Schemas', () => {
  it.each(Object.keys(schemaFiles()))('schemas/%s matches the zod schema (run npm run schema)', (name) => {
    const committed = JSON.parse(readFileSync(join(__dirname, '..', '..', 'schemas', name), 'utf8'));
    expect(committed).toEqual(JSON.parse(JSON.stringify(schemaFiles()[name])));
  });

  it('requires every envelope field and forbids others', () => {
    const envelope = schemaFiles()['envelope.v1.schema.json'] as {
      required: string[];
      additionalProperties: boolean;
    };
    expect(envelope.required.sort()).toEqual(['correlationId', 'createdAt', 'id', 'payload', 'type', 'v']);
    expect(envelope.additionalProperties).toBe(false);
  });
});
