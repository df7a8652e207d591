import type { FastifyInstance } from 'fastify';
import { type Config, ConfigError, loadConfig } from './config.js';

/**
 * All interfaces: '::' takes IPv6 and IPv4 alike; where the kernel has no IPv6 (some containers),
 * fall back to every IPv4 interface.
 */
async function listen(app: FastifyInstance, config: Readonly<Config>): Promise<void> {
  if (config.host) {
    await app.listen({ port: config.port, host: config.host });
    return;
  }
  try {
    await app.listen({ port: config.port, host: '::' });
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EAFNOSUPPORT') throw err;
    await app.listen({ port: config.port, host: '0.0.0.0' });
  }
}

/** Cloud Run sends SIGKILL 10 s after SIGTERM; give up a little before that, loudly. */
const SHUTDOWN_DEADLINE_MS = 8000;

/**
 * The process around an app: read the configuration, listen on PORT, and on SIGTERM stop
 * accepting, let in-flight requests finish, close the pool and exit 0.
 */
export async function runServer(
  service: string,
  build: (config: Readonly<Config>) => Promise<FastifyInstance>,
): Promise<void> {
  let config: Readonly<Config>;
  try {
    config = loadConfig(process.env, { service });
  } catch (err) {
    process.stderr.write(`${JSON.stringify({ severity: 'CRITICAL', message: (err as Error).message })}\n`);
    process.exit(1);
  }

  let app: FastifyInstance;
  try {
    app = await build(config);
  } catch (err) {
    // A setting that only the service can judge (a missing signing key, a key of the wrong curve)
    // fails the start the same way as any other bad setting: one line that names the variable.
    if (!(err instanceof ConfigError)) throw err;
    process.stderr.write(`${JSON.stringify({ severity: 'CRITICAL', message: err.message })}\n`);
    process.exit(1);
  }
  // A library's background promise that fails with nobody awaiting it (the Pub/Sub client when its
  // credentials cannot be loaded) is logged for Error Reporting, not allowed to kill the instance: the
  // work it belonged to is retried by whoever owns it (the outbox relay).
  process.on('unhandledRejection', (reason) => {
    const err = reason instanceof Error ? reason : new Error(String(reason));
    app.log.error({ err: { message: err.message }, stack_trace: err.stack }, 'unhandled rejection');
  });
  await listen(app, config);
  app.log.info({ database: config.database.description }, `${service} listening on port ${config.port}`);

  let stopping = false;
  const stop = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    app.log.info({ signal }, 'shutting down: draining in-flight requests');
    const deadline = setTimeout(() => {
      app.log.error('shutdown deadline passed; exiting with requests still open');
      process.exit(1);
    }, SHUTDOWN_DEADLINE_MS);
    deadline.unref();
    try {
      await app.close();
      app.log.info('shutdown complete');
      process.exit(0);
    } catch (err) {
      app.log.error({ err }, 'shutdown failed');
      process.exit(1);
    }
  };
  process.once('SIGTERM', () => void stop('SIGTERM'));
  process.once('SIGINT', () => void stop('SIGINT'));
}
