// node scripts/bundle.mjs services/<dir>... : turns a service's compiled build/ (tsc's output) into the
// files that run, dist/server.js, dist/migrate.js and dist/crear-admin.js, one ES module each.
//
// Why: on Node 24 (the images' Node) the ES module loader reads and parses the nearest package.json
// for every module it loads, and drizzle-orm's holds a 178 KB export map: importing it and its pg
// parts took 1.1 s and a 195 MB peak RSS, against 0.35 s on Node 20 (bench/results, 2026-12-01).
// Bundled, the service loads in 0.24 s and peaks at 82 MB. Our own code, the workspace package and
// drizzle-orm go into the file; every other package stays in node_modules (native addons, WASM and
// data files must stay where their package expects them), except a package that the bundle's folder
// would resolve to another copy than its importer does (a nested version), which goes in too.
import { rmSync, statSync } from 'node:fs';
import path from 'node:path';
import { build } from 'esbuild';

const ENTRIES = ['server', 'migrate', 'crear-admin'];
const ALWAYS_BUNDLED = ['drizzle-orm'];

function packageName(specifier) {
  const parts = specifier.split('/');
  return specifier.startsWith('@') ? parts.slice(0, 2).join('/') : parts[0];
}

/** Bare specifiers are external unless listed above, in the workspace, or resolved differently from the service. */
function externals(root) {
  return {
    name: 'externals',
    setup(b) {
      b.onResolve({ filter: /^[^./]/ }, async (args) => {
        if (args.pluginData?.probe || args.path.startsWith('node:')) return undefined;
        const name = packageName(args.path);
        if (ALWAYS_BUNDLED.includes(name) || name.startsWith('@servicios/')) return undefined;
        const probe = { kind: args.kind, pluginData: { probe: true } };
        const fromImporter = await b.resolve(args.path, { ...probe, resolveDir: args.resolveDir });
        const fromService = await b.resolve(args.path, { ...probe, resolveDir: root });
        if (fromImporter.errors.length === 0 && fromImporter.path !== fromService.path) return undefined;
        return { path: args.path, external: true };
      });
    },
  };
}

async function bundle(serviceDir) {
  const root = path.resolve(serviceDir);
  const outdir = path.join(root, 'dist');
  const entries = ENTRIES.map((name) => path.join(root, 'build', `${name}.js`));
  rmSync(outdir, { recursive: true, force: true });
  await build({
    entryPoints: entries.filter((file) => statSync(file, { throwIfNoEntry: false })?.isFile()),
    outdir,
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: 'node20',
    // Resolve as Node does: no "module" condition or field (esbuild's defaults), which Node ignores.
    conditions: [],
    mainFields: ['main'],
    logLevel: 'warning',
    plugins: [externals(root)],
    // A CommonJS package inside the bundle (the nested @opentelemetry/core) requires its externals:
    // an ES module has no require of its own, so give it Node's, resolving from the bundle's folder.
    banner: {
      js: "import { createRequire as __createRequire } from 'node:module'; const require = __createRequire(import.meta.url);",
    },
  });
}

const dirs = process.argv.slice(2);
for (const dir of dirs.length ? dirs : ['.']) await bundle(dir);
