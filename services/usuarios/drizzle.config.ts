import { defineConfig } from 'drizzle-kit';

export default defineConfig({
  dialect: 'postgresql',
  schema: ['./src/usuarios/schema.ts', './src/tokens/schema.ts'],
  out: './drizzle',
});
