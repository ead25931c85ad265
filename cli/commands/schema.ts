// Writes schemas/environments.schema.json (for editors) and schemas/state-record.schema.json
// (the shape of a state record in S3); `npm run schema`.
import { writeFileSync } from 'node:fs';
import { configJsonSchema } from '#core/config/file';
import { stateRecordJsonSchema } from '#core/records/state-record-schema';

const write = (file: string, schema: unknown) =>
  writeFileSync(new URL(`../../schemas/${file}`, import.meta.url), `${JSON.stringify(schema, null, 2)}\n`);

write('environments.schema.json', configJsonSchema());
write('state-record.schema.json', stateRecordJsonSchema());
