import { runServer } from '@servicios/platform';
import { buildApp } from './app.js';

await runServer('servicio-reservas', (config) => buildApp({ config }));
