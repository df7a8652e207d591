// The load generator, run by bench/harness.ts in its own process (pinned to the other core):
//   node bench/load.mjs '<json>'   →   one JSON line on stdout with the autocannon figures.
// Each scenario is a request factory: every request draws its own id, page, term or body, so
// that the service and the database see a realistic spread instead of one cached row. Requests
// carry the access tokens that the harness obtained once at the start of the run (fixtures file):
// reads and confirmar as the empleado, POST usuario as the administrador, POST reserva as a random
// cliente creating for itself. With `auth: false` (the baseline build, before authentication) none.
import { readFileSync } from 'node:fs';
import net from 'node:net';

const config = JSON.parse(process.argv[2] ?? '{}');
const data = config.data;
const fixtures = config.fixturesFile ? JSON.parse(readFileSync(config.fixturesFile, 'utf8')) : {};
const pool = fixtures.pool ?? { confirmar: [], mix: [] };
const tokens = config.auth === false ? undefined : fixtures.tokens;
const runTag = `${process.pid.toString(36)}${Date.now().toString(36)}`;
let sequence = 0;
let exhausted = 0;
const cursors = { confirmar: 0, mix: 0 };

const int = (max) => 1 + Math.floor(Math.random() * max);
const pick = (list) => list[Math.floor(Math.random() * list.length)];
const day = (offsetDays) => new Date(Date.now() + offsetDays * 86_400_000).toISOString().slice(0, 10);
const as = (token) => (tokens && token ? { authorization: `Bearer ${token}` } : {});
const json = (method, path, body, headers = {}) => ({
  method,
  path,
  body: JSON.stringify(body),
  headers: { 'content-type': 'application/json', ...headers },
});
const get = (path, token = tokens?.empleado) => ({ method: 'GET', path, headers: as(token) });
// A client address per request (X-Forwarded-For, honoured with TRUSTED_PROXY_HOPS=1 as on Cloud Run):
// many clients logging in, not one address hitting the per-address throttle.
const clientAddress = () => `${int(223)}.${int(254)}.${int(254)}.${int(254)}`;
// A password that passes the service's validation (length, not common, not like the e-mail or names).
const PASSWORD = 'Mesa-junto-a-la-ventana-7';

const requests = {
  // Calibration: the service without the database.
  healthz: () => get('/healthz', null),
  usuarios_get: () => get(`/api/usuarios/${int(data.usuarios)}/`),
  usuarios_list: () => get('/api/usuarios/'),
  usuarios_deep: () => get(`/api/usuarios/?page=${data.deepPage}`),
  usuarios_search: () =>
    get(`/api/usuarios/?search=${encodeURIComponent(`${pick(data.nombres)} ${pick(data.apellidos)}`)}`),
  usuarios_post: () =>
    json(
      'POST',
      '/api/usuarios/',
      {
        email: `bench-${runTag}-${++sequence}@example.com`,
        nombre: pick(data.nombres),
        apellido: pick(data.apellidos),
        telefono: '+34 600 000 000',
        password: PASSWORD,
      },
      as(tokens?.administrador),
    ),
  // A write that is not a registration (which is bound by its password hash): for the mix.
  usuarios_patch: () =>
    json(
      'PATCH',
      `/api/usuarios/${int(data.usuarios)}/`,
      { telefono: `+34 6${int(99_999_999)}` },
      as(tokens?.administrador),
    ),
  usuarios_login: () =>
    json(
      'POST',
      '/api/token/',
      { email: pick(fixtures.logins), password: fixtures.password },
      { 'x-forwarded-for': clientAddress() },
    ),
  reservas_get: () => get(`/api/reservas/${int(data.reservas)}/`),
  reservas_list: () => get('/api/reservas/'),
  reservas_usuario: () => get(`/api/reservas/?usuario_id=${int(data.usuarios)}`),
  reservas_estado_fecha: () => get(`/api/reservas/?estado=pendiente&fecha_desde=${day(int(30))}`),
  // A cliente books for itself (usuario_id omitted): no call to servicio-usuarios.
  reservas_post: () =>
    json(
      'POST',
      '/api/reservas/',
      {
        fecha_reserva: new Date(Date.now() + int(365) * 86_400_000).toISOString(),
        numero_personas: int(8),
      },
      as(pick(tokens?.clientes ?? [undefined])),
    ),
  // confirmar succeeds once per pending reservation: each request takes the next one of the pool.
  reservas_confirmar: () => {
    if (cursors.confirmar >= pool.confirmar.length) {
      exhausted++;
      return requests.reservas_get();
    }
    return json(
      'POST',
      `/api/reservas/${pool.confirmar[cursors.confirmar++]}/confirmar/`,
      {},
      as(tokens?.empleado),
    );
  },
};

/** 90 % reads, 10 % writes, as a busy front end would mix them. */
const mixes = {
  usuarios_mix: [
    [60, requests.usuarios_get],
    [20, requests.usuarios_list],
    [10, requests.usuarios_search],
    // Registrations are measured on their own (hash-bound); the mix's writes are edits.
    [10, requests.usuarios_patch],
  ],
  reservas_mix: [
    [50, requests.reservas_get],
    [20, requests.reservas_usuario],
    [10, requests.reservas_list],
    [10, requests.reservas_estado_fecha],
    [5, requests.reservas_post],
    [
      5,
      () => {
        if (cursors.mix < pool.mix.length) {
          return json(
            'POST',
            `/api/reservas/${pool.mix[cursors.mix++]}/confirmar/`,
            {},
            as(tokens?.empleado),
          );
        }
        exhausted++;
        return requests.reservas_get();
      },
    ],
  ],
};
for (const [name, parts] of Object.entries(mixes)) {
  const total = parts.reduce((sum, [weight]) => sum + weight, 0);
  requests[name] = () => {
    let r = Math.random() * total;
    for (const [weight, make] of parts) {
      r -= weight;
      if (r < 0) return make();
    }
    return parts[0][1]();
  };
}

const make = requests[config.scenario];
if (!make) {
  process.stderr.write(`unknown scenario ${config.scenario}\n`);
  process.exit(2);
}

async function run(options) {
  // Imported only here: the paced runs do without it, and a smoke run starts this process ~30 times.
  const { default: autocannon } = await import('autocannon');
  return new Promise((resolve, reject) => {
    const instance = autocannon(
      {
        url: config.url,
        connections: config.connections,
        pipelining: 1,
        timeout: 10,
        requests: [{ setupRequest: (request) => ({ ...request, ...make() }) }],
        // autocannon checks for the end of a run once per sample: sub-second runs need shorter samples.
        sampleInt: Math.min(1000, options.duration * 1000),
        ...options,
      },
      (err, result) => (err ? reject(err) : resolve(result)),
    );
    instance.on('error', reject);
  });
}

/**
 * Open-loop load at a fixed rate, for p99 at half the peak. autocannon's own rate limit sends each
 * second's quota in a burst and then waits, which measures queueing at full speed, not at half rate.
 * Here request i is due at start + i / rate whether or not earlier ones have answered, and its
 * latency counts from that due time (no coordinated omission). A minimal keep-alive HTTP/1.1 client
 * (node:http's Agent cannot keep up with a few thousand requests per second on one core).
 */
function paced(rate, duration) {
  const base = new URL(config.url);
  const latencies = [];
  const statusCodeStats = {};
  let non2xx = 0;
  let errors = 0;
  let sent = 0;
  let answered = 0;
  // At least one request: a slow scenario's half rate times a smoke test's fraction of a second may be < 1.
  const total = Math.max(1, Math.floor(rate * duration));
  const queue = [];
  const idle = [];
  const started = performance.now();
  return new Promise((resolve) => {
    const finish = () => {
      if (answered < total) return;
      clearInterval(timer);
      for (const c of connections) c.socket.destroy();
      latencies.sort((a, b) => a - b);
      const at = (q) => latencies[Math.min(latencies.length - 1, Math.floor(q * latencies.length))] ?? 0;
      resolve({
        requests: { total: latencies.length },
        duration: (performance.now() - started) / 1000,
        latency: { p50: at(0.5), p90: at(0.9), p99: at(0.99), max: latencies.at(-1) ?? 0 },
        non2xx,
        errors,
        timeouts: 0,
        statusCodeStats,
      });
    };
    const send = (connection, job) => {
      connection.job = job;
      const r = job.request;
      const body = r.body ?? '';
      let head = `${r.method} ${r.path} HTTP/1.1\r\nHost: ${base.host}\r\nConnection: keep-alive\r\n`;
      for (const [k, v] of Object.entries(r.headers ?? {})) head += `${k}: ${v}\r\n`;
      if (body || r.method !== 'GET') head += `Content-Length: ${Buffer.byteLength(body)}\r\n`;
      connection.socket.write(`${head}\r\n${body}`);
    };
    const connections = Array.from({ length: config.connections }, () => {
      const connection = { socket: net.connect(Number(base.port), base.hostname), buffer: '', job: null };
      connection.socket.setNoDelay(true);
      connection.socket.setEncoding('latin1');
      connection.socket.on('error', () => {
        if (connection.job) {
          errors++;
          answered++;
          connection.job = null;
          finish();
        }
      });
      connection.socket.on('data', (chunk) => {
        connection.buffer += chunk;
        for (;;) {
          const end = connection.buffer.indexOf('\r\n\r\n');
          if (end < 0) return;
          const head = connection.buffer.slice(0, end);
          const length = Number(/\r\ncontent-length:\s*(\d+)/i.exec(head)?.[1] ?? 0);
          if (connection.buffer.length < end + 4 + length) return;
          connection.buffer = connection.buffer.slice(end + 4 + length);
          // An answer to no request: the server giving up on an idle connection (408) before it closes it.
          if (!connection.job) continue;
          const status = Number(head.slice(9, 12));
          const code = String(status);
          statusCodeStats[code] = { count: (statusCodeStats[code]?.count ?? 0) + 1 };
          if (status < 200 || status >= 300) non2xx++;
          latencies.push(Math.round((performance.now() - connection.job.due) * 100) / 100);
          answered++;
          const next = queue.shift();
          if (next) send(connection, next);
          else {
            connection.job = null;
            idle.push(connection);
          }
          finish();
        }
      });
      idle.push(connection);
      return connection;
    });
    const timer = setInterval(() => {
      const now = performance.now();
      while (sent < total && started + (sent * 1000) / rate <= now) {
        const job = { due: started + (sent * 1000) / rate, request: make() };
        sent++;
        const connection = idle.pop();
        if (connection) send(connection, job);
        else queue.push(job);
      }
    }, 1);
  });
}

if (config.warmup > 0) await run({ duration: config.warmup });
const result = config.rate
  ? await paced(config.rate, config.duration)
  : await run({ duration: config.duration });
const seconds = result.duration;
const errors = result.non2xx + result.errors + result.timeouts;
process.stdout.write(
  `${JSON.stringify({
    requests: result.requests.total,
    seconds,
    rps: result.requests.total / seconds,
    p50: result.latency.p50,
    p90: result.latency.p90,
    p99: result.latency.p99,
    max: result.latency.max,
    errors,
    non2xx: result.non2xx,
    socketErrors: result.errors,
    timeouts: result.timeouts,
    statusCodes: result.statusCodeStats,
    // Requests that found the pool of pending reservations used up and were sent as GETs instead.
    poolExhausted: exhausted,
  })}\n`,
);
