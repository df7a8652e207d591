import { loadConfig, migrateDatabase } from '@servicios/platform';
import { servicio } from './app.js';

// The Cloud Run migrations job runs this; the service itself never migrates a real PostgreSQL.
const config = loadConfig(process.env, { service: servicio.name });
await migrateDatabase(config.database, servicio.migrations);
process.stdout.write(
  `${JSON.stringify({ severity: 'INFO', message: `${servicio.name}: migrations applied` })}\n`,
);
