import { defineConfig } from 'drizzle-kit';

/**
 * drizzle-kit's settings, for `npm run db:generate` (run from the package root): the schema in,
 * SQL migrations out, checked in beside it. db.ts applies them at start, from src/ or dist/.
 */
export default defineConfig({
  dialect: 'postgresql',
  schema: './src/server/store/schema.ts',
  out: './src/server/store/migrations',
  casing: 'snake_case',
});
