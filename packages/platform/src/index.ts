export { type Config, ConfigError, type DatabaseConfig, loadConfig } from './config.js';
export {
  type Database,
  type Db,
  databaseError,
  isDatabaseUnavailable,
  type Migrations,
  migrateDatabase,
  openDatabase,
} from './database.js';
export { DETAIL, HttpError, notFound } from './errors.js';
export { HEALTH_PATHS } from './health.js';
export { hostAllowed } from './hosts.js';
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
export { type BuildOptions, createServiceApp, type ServiceDefinition } from './service.js';
export {
  body,
  bodyErrors,
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
