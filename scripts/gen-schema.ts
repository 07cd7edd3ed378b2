/**
 * Writes the JSON Schema of the message envelope (and of each job type's payload) from the zod
 * schemas the producer and consumers use, so other languages can interoperate.
 * Usage: `npm run schema` (a unit test fails when the committed files are stale).
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { schemaFiles } from '../tools/schemas';

for (const [name, schema] of Object.entries(schemaFiles())) {
  writeFileSync(join(__dirname, '..', 'schemas', name), `${JSON.stringify(schema, null, 2)}\n`);
  console.log(`wrote schemas/${name}`);
}
