// Writes config/environments.schema.json (for editors; `npm run schema`).
import { writeFileSync } from 'node:fs';
import { configJsonSchema } from '#core/config-file';

writeFileSync(
  new URL('../config/environments.schema.json', import.meta.url),
  `${JSON.stringify(configJsonSchema(), null, 2)}\n`,
);
