// Django's four default password validators (AUTH_PASSWORD_VALIDATORS of `startproject`), ported from
// django/contrib/auth/password_validation.py (Django 5) with the messages of its Spanish catalogue.
// Like django.contrib.auth.password_validation.validate_password, every validator runs and all their
// messages are reported at once, in the order of that setting.
// Python's len() and iteration count code points, so lengths and characters here are code points
// (`[...s]`), never UTF-16 units: '🙂' is one character for Django and must be one here.
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';

export interface DatosUsuario {
  email?: string;
  nombre?: string;
  apellido?: string;
}

/** UserAttributeSimilarityValidator's default max_similarity. */
const MAX_SIMILARITY = 0.7;
/** MinimumLengthValidator's default min_length. */
const MIN_LENGTH = 8;
/** The attributes compared, in this order; only the first one the password resembles is reported. */
const ATRIBUTOS = ['email', 'nombre', 'apellido'] as const;
/** Python's `\W+` (re.split(r"\W+", ...)): anything but letters, numbers and the underscore. */
const NO_PALABRA = /[^\p{L}\p{N}_]+/u;

export function validarPassword(password: string, usuario: DatosUsuario): string[] {
  const errores: string[] = [];
  const similar = atributoSimilar(password, usuario);
  if (similar) errores.push(`La contraseña es demasiado similar a la de ${similar}.`);
  // MinimumLengthValidator: len(password) < min_length. Never trimmed: a password is what it is.
  if ([...password].length < MIN_LENGTH)
    errores.push(`Esta contraseña es demasiado corta. Debe contener al menos ${MIN_LENGTH} caracteres.`);
  // CommonPasswordValidator: the only validator that normalizes, with password.lower().strip().
  if (listaComun().has(password.toLowerCase().trim())) errores.push('Esta contraseña es demasiado común.');
  // NumericPasswordValidator: password.isdigit(), which is False for ''.
  if (/^\p{Nd}+$/u.test(password)) errores.push('Esta contraseña es completamente numérica.');
  return errores;
}

/**
 * UserAttributeSimilarityValidator.validate: compares the lower-cased password with each attribute and
 * with each of its `\W+`-separated parts (so an e-mail's local part and domain count on their own), and
 * raises on the first one whose difflib quick_ratio reaches max_similarity.
 */
function atributoSimilar(password: string, usuario: DatosUsuario): (typeof ATRIBUTOS)[number] | undefined {
  const pwd = [...password.toLowerCase()];
  for (const atributo of ATRIBUTOS) {
    const valor: unknown = usuario[atributo];
    // `if not value or not isinstance(value, str): continue`
    if (typeof valor !== 'string' || valor === '') continue;
    const minusculas = valor.toLowerCase();
    // re.split keeps the empty strings around leading or trailing separators, as String.split does.
    for (const parte of [...minusculas.split(NO_PALABRA), minusculas]) {
      const trozo = [...parte];
      if (excedeRazonMaximaDeLongitud(pwd.length, trozo.length)) continue;
      if (quickRatio(pwd, trozo) >= MAX_SIMILARITY) return atributo;
    }
  }
  return undefined;
}

/**
 * Django's exceeds_maximum_length_ratio: a part at most a tenth of the password's length cannot reach
 * max_similarity (quick_ratio <= 2 / 11), so Django skips it to bound the work on huge passwords. The
 * second condition only matters for an empty password, which is then compared with an empty part (and
 * quick_ratio('', '') is 1.0). Same arithmetic, in the same order, as Python's floats.
 */
function excedeRazonMaximaDeLongitud(largoPassword: number, largoParte: number): boolean {
  return largoPassword >= 10 * largoParte && largoParte < (MAX_SIMILARITY / 2) * largoPassword;
}

/**
 * difflib.SequenceMatcher(a, b).quick_ratio(): 2 * M / (len(a) + len(b)), where M is the size of the
 * intersection of the two strings seen as multisets of characters, counted with Python's `avail` loop.
 */
function quickRatio(a: readonly string[], b: readonly string[]): number {
  const fullbcount = new Map<string, number>();
  for (const c of b) fullbcount.set(c, (fullbcount.get(c) ?? 0) + 1);
  const avail = new Map<string, number>();
  let matches = 0;
  for (const c of a) {
    const numb = avail.get(c) ?? fullbcount.get(c) ?? 0;
    avail.set(c, numb - 1);
    if (numb > 0) matches++;
  }
  const largo = a.length + b.length;
  return largo ? (2 * matches) / largo : 1;
}

let comunes: Set<string> | undefined;

/**
 * The common passwords (~49,000, from @zxcvbn-ts/language-common; Django ships its own 20,000), lower-cased
 * and trimmed as Django's CommonPasswordValidator stores them. Read on first use, not at import, so that
 * the service starts as fast as before; readFileSync rather than require() so the array is not kept in
 * require's cache next to the Set.
 */
export function listaComun(): ReadonlySet<string> {
  if (!comunes) {
    // The package has no `exports` map, so its source files can be resolved by path.
    const ruta = createRequire(import.meta.url).resolve('@zxcvbn-ts/language-common/src/passwords.json');
    const lista = JSON.parse(readFileSync(ruta, 'utf8')) as string[];
    comunes = new Set(lista.map((p) => p.toLowerCase().trim()));
  }
  return comunes;
}
