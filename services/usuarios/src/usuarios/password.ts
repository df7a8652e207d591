import { HttpError, type Telemetry } from '@servicios/platform';

/**
 * argon2id with OWASP's first recommended setting (19 MiB, 2 passes, 1 lane): about 22 ms per hash
 * on the benchmark machine's core (README, "Passwords"). scrypt at OWASP's N=2^17 took 520 ms there
 * and 128 MiB per hash. The parameters travel inside each hash, so raising them later only affects
 * new hashes.
 */
// algorithm 2 is Argon2id (a const enum of @node-rs/argon2, which verbatimModuleSyntax cannot import).
const OPCIONES = { algorithm: 2, memoryCost: 19_456, timeCost: 2, parallelism: 1 } as const;

/**
 * A hash of a random string nobody knows, with the same parameters: a login for an unknown e-mail
 * verifies against it, so that it costs what a wrong password costs and the time tells nothing.
 */
const HASH_SENUELO =
  '$argon2id$v=19$m=19456,t=2,p=1$fekdG3tSJuZF4maPXWYKeA$5wAl0y8lvAzp8lOFWZSHm/l2+rQFtjYJdapuEpArqYc';

const ESPERA_MAXIMA_MS = 2000;

/** The native argon2 module, loaded at the first hash rather than at start (cold start). */
let argon2: Promise<typeof import('@node-rs/argon2')> | undefined;
const cargar = () => {
  argon2 ??= import('@node-rs/argon2');
  return argon2;
};
const OCUPADO = 'Demasiadas solicitudes de autenticación en curso. Intente de nuevo en unos segundos.';

/**
 * Password hashing bounded per process: each hash holds 19 MiB and a core for ~22 ms, so a burst of
 * 80 logins on a 512 MiB instance must queue, not run at once. At most `concurrencia` hashes run;
 * up to `cola` more wait at most 2 s; anything beyond gets 503 with Retry-After.
 */
export function contrasenas(opciones: { concurrencia: number; cola: number }) {
  let enCurso = 0;
  const esperando: (() => void)[] = [];

  async function turno<T>(trabajo: () => Promise<T>): Promise<T> {
    if (enCurso >= opciones.concurrencia) {
      if (esperando.length >= opciones.cola) throw ocupado();
      await new Promise<void>((resolve, reject) => {
        const despertar = () => {
          clearTimeout(plazo);
          resolve();
        };
        const plazo = setTimeout(() => {
          esperando.splice(esperando.indexOf(despertar), 1);
          reject(ocupado());
        }, ESPERA_MAXIMA_MS);
        esperando.push(despertar);
      });
    } else {
      enCurso++;
    }
    try {
      return await trabajo();
    } finally {
      // The turn passes straight to the next waiter: enCurso stays the same.
      const siguiente = esperando.shift();
      if (siguiente) siguiente();
      else enCurso--;
    }
  }

  return {
    /** The encoded hash (PHC string) of a new password. */
    cifrar: (password: string) => turno(async () => (await cargar()).hash(password, OPCIONES)),
    /**
     * Whether `password` matches the stored hash; without one (unknown user, or a row from before
     * passwords existed) it still spends a hash, and answers false.
     */
    async coincide(password: string, almacenado: string | undefined): Promise<boolean> {
      const usable = almacenado?.startsWith('$argon2') === true;
      const ok = await turno(async () =>
        (await cargar()).verify(usable ? almacenado : HASH_SENUELO, password).catch(() => false),
      );
      return usable && ok;
    },
    /** Hashes running and waiting: the pressure on this instance (metrics). */
    estado: () => ({ enCurso, esperando: esperando.length }),
  };
}

export type Contrasenas = ReturnType<typeof contrasenas>;

function ocupado(): HttpError {
  return new HttpError(503, OCUPADO, { 'Retry-After': '2' });
}

/** The pressure on hashing, for alerts: hashes running and waiting on this instance. */
export function registrarMetricas(telemetry: Telemetry, hashes: Contrasenas): void {
  const activos = telemetry.meter.createObservableGauge('servicios.password_hash.active', {
    description: 'Password hashes running on this instance.',
  });
  const enCola = telemetry.meter.createObservableGauge('servicios.password_hash.queued', {
    description: 'Password hashes waiting for a turn on this instance.',
  });
  telemetry.meter.addBatchObservableCallback(
    (result) => {
      const { enCurso, esperando } = hashes.estado();
      result.observe(activos, enCurso);
      result.observe(enCola, esperando);
    },
    [activos, enCola],
  );
}
