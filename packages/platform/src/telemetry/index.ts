// How a service shows what it does (issue 11): traces and metrics with OpenTelemetry, in one place.
export { tracedFetch } from './client.js';
export { instrumentPool } from './database.js';
export { registerRequestTelemetry } from './http.js';
export {
  activeTraceparent,
  createTelemetry,
  inSpan,
  type Telemetry,
  type TelemetryOverrides,
  untraced,
} from './setup.js';
