// Publishes the JSON Schemas of the report, checkpoint and configuration from their zod
// schemas (the single source of those types), for users' editors and other tools.
import { writeFileSync } from 'node:fs';
import { publishedSchemas } from '../src/schemas.js';

for (const [file, schema] of Object.entries(publishedSchemas())) {
  writeFileSync(new URL(`../schemas/${file}`, import.meta.url), `${JSON.stringify(schema, null, 2)}\n`);
  console.log(`schemas/${file}`);
}
