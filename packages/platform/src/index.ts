export { type Config, ConfigError, type DatabaseConfig, type IdentityConfig, loadConfig } from './config.js';
export {
  type Database,
  type Db,
  databaseError,
  errorSummary,
  isDatabaseUnavailable,
  type Migrations,
  migrateDatabase,
  openDatabase,
} from './database.js';
export { DETAIL, HttpError, notFound } from './errors.js';
export * from './events/index.js';
export { HEALTH_PATHS } from './health.js';
export { hostAllowed } from './hosts.js';
export * from './identity/index.js';
export { traceFields } from './logging.js';
export {
  type PageLoader,
  type PageResult,
  pageParameters,
  pageSchema,
  paginate,
  readPageRequest,
} from './pagination.js';
export { orderBy, pageWhere, record, schemas, splitCount } from './resource.js';
export { runServer } from './server.js';
export {
  type BuildOptions,
  createServiceApp,
  type ServiceContext,
  type ServiceDefinition,
} from './service.js';
export * from './telemetry/index.js';
export {
  body,
  bodyErrors,
  type Field,
  type FieldErrors,
  fields,
  idParams,
  MESSAGES,
  type OrderTerm,
  parseDateTime,
  query,
  ValidationError,
  type Values,
} from './validation.js';
