// CONTRACT §4 ALLOWED_HOSTS as Django's validate_host reads it.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { hostAllowed } from '../src/hosts.ts';

test('"*" accepts any host, even a missing one', () => {
  assert.equal(hostAllowed(['*'], 'anything.example'), true);
  assert.equal(hostAllowed(['api.test', '*'], undefined), true);
});

test('an exact name matches itself only, case-insensitively and with any port', () => {
  const allowed = ['api.test'];
  for (const host of ['api.test', 'API.Test', 'api.test:8080', 'api.test.'])
    assert.equal(hostAllowed(allowed, host), true, host);
  for (const host of ['x.api.test', 'api.test.evil', 'apixtest', 'api.tes', '', undefined]) {
    assert.equal(hostAllowed(allowed, host), false, String(host));
  }
});

test('a leading dot matches the domain and every subdomain, and nothing else', () => {
  const allowed = ['.run.app'];
  for (const host of ['run.app', 'svc-abc.a.run.app', 'x.y.z.run.app:443', 'SVC.RUN.APP']) {
    assert.equal(hostAllowed(allowed, host), true, host);
  }
  for (const host of ['evilrun.app', 'run.app.evil.com', 'run.apps', 'app']) {
    assert.equal(hostAllowed(allowed, host), false, host);
  }
});

test('several entries: any one may match', () => {
  const allowed = ['.example.com', 'api.test', '127.0.0.1'];
  assert.equal(hostAllowed(allowed, 'www.example.com'), true);
  assert.equal(hostAllowed(allowed, '127.0.0.1:8080'), true);
  assert.equal(hostAllowed(allowed, '127.0.0.2'), false);
});

test('IPv6 literals are written with brackets, as in Django (`[::1]`)', () => {
  assert.equal(hostAllowed(['[::1]'], '[::1]'), true);
  assert.equal(hostAllowed(['[::1]'], '[::1]:8000'), true);
  assert.equal(hostAllowed(['[::1]'], '[::2]'), false);
});
