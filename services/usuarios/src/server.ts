import { runServer } from '@servicios/platform';
import { buildApp } from './app.js';

await runServer('servicio-usuarios', (config) => buildApp({ config }));
