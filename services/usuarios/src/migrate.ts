import { errorSummary, loadConfig } from '@servicios/platform';
import { servicio } from './app.js';
import { migrar } from './bootstrap.js';
import { AdministradorInvalido } from './usuarios/administrador.js';

// The Cloud Run migrations job runs this; the service itself never migrates a real PostgreSQL.
const log = (severity: string, message: string, extra: object = {}) =>
  process.stdout.write(`${JSON.stringify({ severity, message, ...extra })}\n`);
try {
  const config = loadConfig(process.env, { service: servicio.name });
  const { administrador } = await migrar(config);
  log('INFO', `${servicio.name}: migrations applied`);
  if (administrador) {
    log(
      'INFO',
      `administrador ${administrador === 'creado' ? 'created' : 'already present, left as it is'}`,
      {
        email: config.identity.admin?.email,
      },
    );
  }
} catch (err) {
  // The validators' messages, or the database's own message without the statement's parameters (a
  // password hash among them): never the password.
  const detalle =
    err instanceof AdministradorInvalido
      ? `ADMIN_EMAIL/ADMIN_PASSWORD: ${err.message}`
      : errorSummary(err).message;
  log('CRITICAL', `${servicio.name}: migration failed: ${detalle}`);
  process.exit(1);
}
