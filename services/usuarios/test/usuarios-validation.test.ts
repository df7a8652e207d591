// CONTRACT §1 "validation errors" and "strings", §2 field rules: every rule has an accepted and a
// refused case, and refusals are 400 with one list of messages per offending field. §5.1: password is
// one more required field, validated with the others and never echoed in an error.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { nuevoUsuario, type Suite, startUsuarios } from './support.ts';

let s: Suite;
before(async () => {
  s = await startUsuarios('usuarios_validation');
});
after(() => s?.close());

const post = (overrides: Record<string, unknown>) => s.api.post('/api/usuarios/', nuevoUsuario(overrides));

/** Asserts a 400 whose only key is `field`, with one non-empty message. */
async function refused(overrides: Record<string, unknown>, field: string) {
  const res = await post(overrides);
  assert.equal(res.status, 400, `${JSON.stringify(overrides)} → ${res.status} ${res.text}`);
  assert.deepEqual(Object.keys(res.body), [field], res.text);
  assert.ok(Array.isArray(res.body[field]) && res.body[field].length === 1 && res.body[field][0], res.text);
  return res.body[field][0] as string;
}

async function accepted(overrides: Record<string, unknown>) {
  const res = await post(overrides);
  assert.equal(res.status, 201, `${JSON.stringify(overrides)} → ${res.text}`);
  return res.body;
}

describe('all offending fields at once', () => {
  test('an empty body reports every required field', async () => {
    const res = await s.api.post('/api/usuarios/', {});
    assert.equal(res.status, 400);
    assert.deepEqual(res.body, {
      email: ['Este campo es requerido.'],
      nombre: ['Este campo es requerido.'],
      apellido: ['Este campo es requerido.'],
      password: ['Este campo es requerido.'],
    });
  });

  test('six bad fields give six keys, and the refused password is not echoed', async () => {
    const password = '1234567';
    const res = await s.api.post('/api/usuarios/', {
      email: 'no-es-un-correo',
      nombre: '  ',
      apellido: 'x'.repeat(151),
      telefono: 'llámame',
      tipo_usuario: 'jefe',
      password,
    });
    assert.equal(res.status, 400);
    assert.deepEqual(Object.keys(res.body).sort(), [
      'apellido',
      'email',
      'nombre',
      'password',
      'telefono',
      'tipo_usuario',
    ]);
    for (const messages of Object.values(res.body)) assert.ok(Array.isArray(messages) && messages.length > 0);
    assert.equal(res.text.includes(password), false);
    const { rows } = await s.db.query(
      `SELECT count(*)::int AS n FROM usuarios_usuario WHERE email = 'no-es-un-correo'`,
    );
    assert.equal(rows[0]!.n, 0);
  });
});

describe('email', () => {
  test('stored trimmed and lower-cased', async () => {
    const u = await accepted({ email: '  Mixed.Case+Tag@Example.ORG\t' });
    assert.equal(u.email, 'mixed.case+tag@example.org');
    const { rows } = await s.db.query('SELECT email FROM usuarios_usuario WHERE id = $1', [u.id]);
    assert.equal(rows[0]!.email, 'mixed.case+tag@example.org');
  });

  test('at most 254 characters', async () => {
    const domain = '@example.com';
    const long = `${'a'.repeat(64)}.${'b'.repeat(254 - 65 - domain.length)}${domain}`;
    assert.equal(long.length, 254);
    assert.equal((await accepted({ email: long })).email, long);
    const message = await refused({ email: `c${long}` }, 'email');
    assert.match(message, /254/);
  });

  test('invalid addresses are refused', async () => {
    for (const email of [
      'plain',
      '@example.com',
      'ana@',
      'ana@example',
      'ana@@example.com',
      'ana maria@example.com',
      'ana@exa mple.com',
      'ana.@example.com',
      '.ana@example.com',
      'ana@-example.com',
      'ana@example..com',
      'ana@example.com.',
    ]) {
      assert.equal(
        await refused({ email }, 'email'),
        'Introduzca una dirección de correo electrónico válida.',
        email,
      );
    }
  });

  test('missing, blank, null and non-string values are refused on email', async () => {
    await refused({ email: undefined }, 'email');
    await refused({ email: '   ' }, 'email');
    await refused({ email: null }, 'email');
    await refused({ email: true }, 'email');
    await refused({ email: ['a@example.com'] }, 'email');
    await refused({ email: { a: 1 } }, 'email');
  });
});

describe('nombre and apellido', () => {
  for (const field of ['nombre', 'apellido']) {
    test(`${field}: required, trimmed, 1–150 characters`, async () => {
      assert.equal((await accepted({ [field]: 'x' }))[field], 'x');
      assert.equal((await accepted({ [field]: '  con espacios  ' }))[field], 'con espacios');
      assert.equal((await accepted({ [field]: 'ñ'.repeat(150) }))[field], 'ñ'.repeat(150));
      assert.match(await refused({ [field]: 'ñ'.repeat(151) }, field), /150/);
      assert.equal(await refused({ [field]: '' }, field), 'Este campo no puede estar en blanco.');
      assert.equal(await refused({ [field]: ' \t\n ' }, field), 'Este campo no puede estar en blanco.');
      assert.equal(await refused({ [field]: undefined }, field), 'Este campo es requerido.');
      await refused({ [field]: null }, field);
      await refused({ [field]: false }, field);
      await refused({ [field]: ['Ana'] }, field);
    });
  }

  test('lengths count characters, not bytes nor UTF-16 units: 150 emoji fit, 151 do not', async () => {
    const emoji = '😀'.repeat(150); // 600 bytes, 300 UTF-16 units
    const u = await accepted({ nombre: emoji, apellido: '漢'.repeat(150) });
    assert.equal(u.nombre, emoji);
    const { rows } = await s.db.query('SELECT char_length(nombre) AS n FROM usuarios_usuario WHERE id = $1', [
      u.id,
    ]);
    assert.equal(rows[0]!.n, 150);
    await refused({ nombre: '😀'.repeat(151) }, 'nombre');
  });
});

describe('telefono', () => {
  test('optional, default ""; digits, spaces, + - ( ) up to 20 characters', async () => {
    assert.equal((await accepted({})).telefono, '');
    assert.equal((await accepted({ telefono: '' })).telefono, '');
    assert.equal((await accepted({ telefono: '   ' })).telefono, '');
    assert.equal((await accepted({ telefono: '+34 (91) 555-01-01' })).telefono, '+34 (91) 555-01-01');
    assert.equal((await accepted({ telefono: ' 600123123 ' })).telefono, '600123123');
    assert.equal((await accepted({ telefono: '1'.repeat(20) })).telefono, '1'.repeat(20));
  });

  test('other characters or more than 20 are refused', async () => {
    for (const telefono of ['1'.repeat(21), '600-abc', '600.123.123', '600/123', '+34#1', '६००१२३', null]) {
      await refused({ telefono }, 'telefono');
    }
  });
});

describe('tipo_usuario', () => {
  test('cliente by default; each choice accepted', async () => {
    assert.equal((await accepted({})).tipo_usuario, 'cliente');
    for (const tipo of ['cliente', 'empleado', 'administrador']) {
      assert.equal((await accepted({ tipo_usuario: tipo })).tipo_usuario, tipo);
    }
  });

  test('anything else is refused', async () => {
    for (const tipo of ['Cliente', 'ADMINISTRADOR', 'admin', '', null, 1, ['cliente']]) {
      await refused({ tipo_usuario: tipo }, 'tipo_usuario');
    }
    assert.equal(
      await refused({ tipo_usuario: 'jefe' }, 'tipo_usuario'),
      '"jefe" no es una elección válida.',
    );
  });
});

describe('exact storage of any Unicode and of SQL-looking text', () => {
  const cases: Record<string, string> = {
    emoji: '👩‍👩‍👧‍👦 🇪🇸 🙂',
    cjk: '山田 太郎 김민준 北京',
    rtl: 'مرحبا שלום',
    combining: 'José Zoë Ångström', // decomposed: e + U+0301, e + U+0308, A + U+030A
    sql: "Robert'); DROP TABLE usuarios_usuario;--",
    quotes: `O'Brien "el" \\ \`x\` $1 %s`,
    control: 'tab\there\nnewline',
  };
  for (const [name, text] of Object.entries(cases)) {
    test(`${name} round-trips unchanged through the API and the table`, async () => {
      const u = await accepted({ nombre: text, apellido: `${text}!` });
      assert.equal(u.nombre, text);
      assert.equal(u.nombre_completo, `${text} ${text}!`);
      const read = await s.api.get(`/api/usuarios/${u.id}/`);
      assert.equal(read.body.nombre, text);
      const { rows } = await s.db.query('SELECT nombre, apellido FROM usuarios_usuario WHERE id = $1', [
        u.id,
      ]);
      assert.equal(rows[0]!.nombre, text);
      assert.equal(rows[0]!.apellido, `${text}!`);
    });
  }

  test('combining marks are not normalized (NFD stays NFD)', async () => {
    const nfd = 'Jose\u0301';
    const u = await accepted({ nombre: nfd });
    assert.equal(u.nombre, nfd);
    assert.notEqual(u.nombre, nfd.normalize('NFC'));
  });

  test('an SQL-looking e-mail is stored as text and the table survives', async () => {
    const email = "o'brien--1=1@example.com";
    const u = await accepted({ email, apellido: "' OR '1'='1" });
    assert.equal(u.email, email);
    const { rows } = await s.db.query('SELECT email, apellido FROM usuarios_usuario WHERE id = $1', [u.id]);
    assert.deepEqual(rows[0], { email, apellido: "' OR '1'='1" });
    assert.equal((await s.api.get('/api/usuarios/')).status, 200);
  });

  test('a NUL character is a 400 on its field, not a 500', async () => {
    await refused({ nombre: 'a\u0000b' }, 'nombre');
  });
});
