#!/usr/bin/env node
// Runs every test file of the workspaces with Node's test runner. TypeScript runs through tsx, and
// the `servicios-source` condition makes @servicios/platform resolve to its sources, so a test
// always exercises the code as it is in the tree. Node 20 has no --test globs: we list the files.
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import path from 'node:path';

// Each workspace's test/ folder, plus the repository-level test/ (delivery checks that span services).
const roots = [
  ...['packages', 'services'].flatMap((dir) => readdirSync(dir).map((name) => path.join(dir, name, 'test'))),
  'test',
];
const only = process.argv.slice(2);
const files = roots
  .filter((dir) => existsSync(dir))
  .flatMap((dir) => readdirSync(dir, { recursive: true }).map((f) => path.join(dir, String(f))))
  .filter((file) => /\.test\.ts$/.test(file))
  .filter((file) => only.length === 0 || only.some((o) => file.includes(o)))
  .sort();

if (files.length === 0) {
  console.error('no test files found');
  process.exit(1);
}

const result = spawnSync(
  process.execPath,
  ['--conditions=servicios-source', '--import', 'tsx', '--test', '--test-reporter=spec', ...files],
  { stdio: 'inherit', env: { ...process.env, NODE_ENV: 'test' } },
);
process.exit(result.status ?? 1);
