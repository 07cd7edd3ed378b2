import { z } from 'zod';
import { EnvelopeV1 } from '../lambda/shared/envelope-schema';
import { CompletionDetailV1 } from '../lambda/shared/events/completion-schema';
import { defaultRegistry } from './example-registry';

/** The JSON Schema documents published under `schemas/`, by file name. */
export function schemaFiles(): Record<string, unknown> {
  const files: Record<string, unknown> = {
    'envelope.v1.schema.json': {
      $id: 'https://github.com/event-pipeline/event-pipeline/schemas/envelope.v1.schema.json',
      ...z.toJSONSchema(EnvelopeV1, { target: 'draft-2020-12' }),
    },
    'completion-event.v1.schema.json': {
      $id: 'https://github.com/event-pipeline/event-pipeline/schemas/completion-event.v1.schema.json',
      ...z.toJSONSchema(CompletionDetailV1, { target: 'draft-2020-12' }),
    },
  };
  for (const type of defaultRegistry.types()) {
    const def = defaultRegistry.get(type);
    files[`payload.${type}.schema.json`] = {
      title: `Payload of "${type}"`,
      description: `${def.description}${def.ordered ? ' (ordered: send with orderingKey)' : ''}`,
      ...z.toJSONSchema(def.schema, { target: 'draft-2020-12', io: 'input' }),
    };
  }
  return files;
}
