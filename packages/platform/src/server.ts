import type { FastifyInstance } from 'fastify';
import { type Config, loadConfig } from './config.js';

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

  const app = await build(config);
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
