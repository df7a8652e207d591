// validarPassword: Django's four default password validators, with their Spanish messages. Every expected
// array below was computed by hand from Django's algorithm (quick_ratio = 2 * M / (len(a) + len(b)), M the
// multiset intersection) and checked against Django 5.2's own validate_password.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { listaComun, validarPassword } from '../src/usuarios/validar-password.ts';

const SIMILAR = (campo: string) => `La contraseña es demasiado similar a la de ${campo}.`;
const CORTA = 'Esta contraseña es demasiado corta. Debe contener al menos 8 caracteres.';
const COMUN = 'Esta contraseña es demasiado común.';
const NUMERICA = 'Esta contraseña es completamente numérica.';

const ANA = { email: 'ana.perez@example.com', nombre: 'Ana', apellido: 'Pérez' };

describe('each validator alone', () => {
  test('similarity: perez1234 vs the e-mail part "perez" is 2*5/(9+5) = 0.714 >= 0.7', () => {
    assert.deepEqual(validarPassword('perez1234', { email: 'ana.perez@example.com' }), [SIMILAR('email')]);
    assert.deepEqual(validarPassword('perez1234', {}), []);
  });

  test('minimum length', () => {
    assert.deepEqual(validarPassword('Xk9#q', {}), [CORTA]);
    assert.deepEqual(validarPassword('Xk9#qLm2', {}), []);
  });

  test('common', () => {
    assert.deepEqual(validarPassword('password', {}), [COMUN]);
  });

  test('numeric', () => {
    assert.deepEqual(validarPassword('90817263545', {}), [NUMERICA]);
    // Any decimal digit counts, as for Python's str.isdigit: Arabic-Indic three.
    assert.deepEqual(validarPassword('٣٣٣٣٣٣٣٣', {}), [NUMERICA]);
  });
});

describe('all messages at once, in the order of Django’s AUTH_PASSWORD_VALIDATORS', () => {
  test('12345: too short, common and numeric', () => {
    assert.deepEqual(validarPassword('12345', {}), [CORTA, COMUN, NUMERICA]);
  });

  test('qwerty: too short and common', () => {
    assert.deepEqual(validarPassword('qwerty', {}), [CORTA, COMUN]);
  });

  test('similarity comes first', () => {
    // 'perez' (5) vs the apellido: 2*5/(5+5) = 1; and 'perez' is in the list.
    assert.deepEqual(validarPassword('perez', { apellido: 'Perez' }), [SIMILAR('apellido'), CORTA, COMUN]);
  });
});

describe('similarity to the user’s attributes', () => {
  const email = { email: 'ana.perez@example.com' };

  test('e-mail: its parts (ana, perez, example, com) and the whole address are compared', () => {
    // Best part: 'perez'. anaperez: 2*5/(8+5) = 0.769; anaperez1: 2*5/(9+5) = 0.714.
    assert.deepEqual(validarPassword('anaperez', email), [SIMILAR('email')]);
    assert.deepEqual(validarPassword('anaperez1', email), [SIMILAR('email')]);
    // anaperez12: 'perez' 2*5/15 = 0.667, 'ana' 2*3/13 = 0.46, 'example' (a, p, e, e) 2*4/17 = 0.47, the
    // whole address (a, n, a, p, e, r, e, z) 2*8/31 = 0.516: none reaches 0.7.
    assert.deepEqual(validarPassword('anaperez12', email), []);
  });

  test('nombre: valentina99 vs valentina is 2*9/(11+9) = 0.9', () => {
    assert.deepEqual(validarPassword('valentina99', { nombre: 'Valentina' }), [SIMILAR('nombre')]);
  });

  test('apellido, lower-cased: fernandez! vs fernández shares 8 (not the á): 2*8/(10+9) = 0.842', () => {
    assert.deepEqual(validarPassword('FERNANDEZ!', { apellido: 'Fernández' }), [SIMILAR('apellido')]);
  });

  test('accents are distinct characters: perez123 vs pérez shares p, e, r, z: 2*4/(8+5) = 0.615', () => {
    assert.deepEqual(validarPassword('perez123', { apellido: 'Pérez' }), []);
    // ...while the e-mail's unaccented 'perez' gives 2*5/13 = 0.769.
    assert.deepEqual(validarPassword('perez123', { ...email, apellido: 'Pérez' }), [SIMILAR('email')]);
  });

  test('accented, upper-case name: maríajosé vs "maría josé" is 2*9/(9+10) = 0.947', () => {
    assert.deepEqual(validarPassword('MARÍAJOSÉ', { nombre: 'María José' }), [SIMILAR('nombre')]);
  });

  test('only the first resembling attribute is reported, in the order email, nombre, apellido', () => {
    // perez2026 vs 'perez': 2*5/(9+5) = 0.714 for each of the three.
    const todos = { email: 'perez@example.com', nombre: 'Perez', apellido: 'Perez' };
    assert.deepEqual(validarPassword('perez2026', todos), [SIMILAR('email')]);
    assert.deepEqual(validarPassword('perez2026', { nombre: 'Perez', apellido: 'Perez' }), [
      SIMILAR('nombre'),
    ]);
    assert.deepEqual(validarPassword('perez2026', { apellido: 'Perez' }), [SIMILAR('apellido')]);
    assert.deepEqual(validarPassword('perez2026', { email: '', nombre: '', apellido: 'Perez' }), [
      SIMILAR('apellido'),
    ]);
  });

  test('a part a tenth of the password or shorter is skipped (exceeds_maximum_length_ratio)', () => {
    // 40 >= 10 * 3 and 3 < 0.35 * 40: 'ana' is not even compared. (Compared, it would give at most
    // 2*3/43 = 0.14: Django's skip only saves work, it never changes the verdict.)
    const larga = 'q7Zt2mXw9Lanak4Rv8Yp3Ns6Bd1Hf5Jc0Gx2Vu7E';
    assert.equal([...larga].length, 40);
    assert.deepEqual(validarPassword(larga, { nombre: 'Ana' }), []);
  });

  test('an empty part (trailing separator) flags an empty password, as in Django', () => {
    // 'ana ' splits into ['ana', '']; the length-ratio skip does not apply to 0 vs 0, and
    // quick_ratio('', '') is 1.0.
    assert.deepEqual(validarPassword('', { nombre: 'Ana ' }), [SIMILAR('nombre'), CORTA]);
    assert.deepEqual(validarPassword('', { nombre: 'Ana' }), [CORTA]);
  });
});

describe('Unicode: code points, not UTF-16 units', () => {
  test('8 emoji are 8 characters, 7 are too short (though 14 UTF-16 units)', () => {
    assert.deepEqual(validarPassword('🙂'.repeat(8), {}), []);
    assert.deepEqual(validarPassword('🙂'.repeat(7), {}), [CORTA]);
  });
});

describe('passwords are never trimmed', () => {
  test('8 spaces are 8 characters, not common and not numeric', () => {
    assert.deepEqual(validarPassword('        ', {}), []);
  });

  test('" 1234567 ": long enough, not numeric (spaces), but common once trimmed for the list lookup', () => {
    assert.deepEqual(validarPassword(' 1234567 ', {}), [COMUN]);
    assert.deepEqual(validarPassword('1234567', {}), [CORTA, COMUN, NUMERICA]);
  });
});

describe('common passwords', () => {
  test('the list is loaded, with at least 10,000 entries', () => {
    const lista = listaComun();
    assert.ok(lista.size >= 10_000, `${lista.size}`);
    assert.ok(lista.has('password'));
    assert.ok(lista.has('qwerty'));
    assert.equal(listaComun(), lista, 'loaded once');
  });

  test('case-insensitive', () => {
    assert.deepEqual(validarPassword('PassWord', {}), [COMUN]);
  });
});

test('a strong password passes', () => {
  assert.deepEqual(validarPassword('Reserva-2026-ventana', ANA), []);
  assert.deepEqual(validarPassword('Reserva-2026-ventana', { nombre: 'Ana', apellido: 'Pérez' }), []);
});
