// The interactive API reference used as a person would: in Debian's Chromium (driven by
// playwright-core, never a downloaded browser), log in through POST /api/token/ on /api/docs/, give
// the access token to "Authorize", and call a protected route from the page. `.ci/run` installs
// chromium when it is missing (apt-get install -y chromium).
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { after, before, test } from 'node:test';
import { type Browser, chromium, type Page } from 'playwright-core';
import { type Suite, startUsuarios, type Usuario } from './support.ts';

const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';

let suite: Suite;
let browser: Browser;
let cliente: Usuario;

before(async () => {
  assert.ok(existsSync(CHROMIUM), `${CHROMIUM} is missing: apt-get install -y chromium (as .ci/run does)`);
  suite = await startUsuarios('docs_browser');
  cliente = await suite.usuario('cliente', { nombre: 'Lucía', apellido: 'Navegador' });
  browser = await chromium.launch({
    executablePath: CHROMIUM,
    args: ['--headless', '--no-sandbox', '--disable-gpu'],
  });
});

after(async () => {
  await browser?.close();
  await suite?.close();
});

/** Opens an operation of the page, switches it to "Try it out", optionally fills its JSON body, executes it. */
async function execute(page: Page, method: string, path: string, body?: unknown) {
  const operation = page
    .locator(`.opblock-${method}`)
    .filter({ has: page.locator('.opblock-summary-path', { hasText: new RegExp(`^${path}$`) }) })
    .first();
  if (!(await operation.locator('.opblock-body').isVisible()))
    await operation.locator('.opblock-summary').click();
  const tryOut = operation.locator('button.try-out__btn', { hasText: 'Try it out' });
  if (await tryOut.isVisible()) await tryOut.click();
  if (body !== undefined) await operation.locator('textarea.body-param__text').fill(JSON.stringify(body));
  // The answer of an earlier execution must not be read as this one's.
  const clear = operation.locator('button.btn-clear');
  if (await clear.isVisible()) await clear.click();
  await operation.locator('.live-responses-table').waitFor({ state: 'detached' });
  await operation.locator('button.execute').click();
  const status = operation.locator('.live-responses-table .response .response-col_status').first();
  await status.waitFor();
  const text = await operation
    .locator('.live-responses-table .response-col_description pre')
    .first()
    .textContent();
  return { status: Number((await status.textContent())?.trim()), body: JSON.parse(text ?? '') };
}

test('a person logs in on /api/docs/, authorizes with the token and calls a protected route', async () => {
  const page = await browser.newPage();
  try {
    const errors: string[] = [];
    page.on('pageerror', (err) => errors.push(err.message));
    await page.goto(`${suite.url}/api/docs/`);
    await page.locator('.opblock-summary-path', { hasText: '/api/usuarios/me/' }).first().waitFor();

    // Before authorizing, the protected route answers the page with the 401 of CONTRACT §5.3.
    const anonimo = await execute(page, 'get', '/api/usuarios/me/');
    assert.equal(anonimo.status, 401);
    assert.deepEqual(anonimo.body, { detail: 'Las credenciales de autenticación no se proveyeron.' });

    const login = await execute(page, 'post', '/api/token/', {
      email: cliente.email,
      password: cliente.password,
    });
    assert.equal(login.status, 200, JSON.stringify(login.body));
    assert.equal(typeof login.body.access, 'string');

    await page.locator('button.authorize').first().click();
    const dialog = page.locator('.dialog-ux .modal-ux');
    await dialog.locator('input').first().fill(login.body.access);
    await dialog.locator('button.authorize').click();
    await dialog.locator('button.btn-done').click();

    const yo = await execute(page, 'get', '/api/usuarios/me/');
    assert.equal(yo.status, 200, JSON.stringify(yo.body));
    assert.equal(yo.body.id, cliente.id);
    assert.equal(yo.body.email, cliente.email);
    assert.equal(yo.body.nombre, 'Lucía');
    assert.equal(yo.body.password, undefined);
    assert.deepEqual(errors, []);
  } finally {
    await page.close();
  }
});
