import { defineConfig } from 'drizzle-kit';

export default defineConfig({
  dialect: 'postgresql',
  schema: './src/reservas/schema.ts',
  out: './drizzle',
});
