// Every gcloud command that DEPLOY.md and the pipelines run exists, with only flags that gcloud knows:
// checked against the command tree that ships with the installed Cloud SDK (its static completion
// tree), so a misspelt or invented flag fails here instead of in a user's project.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, realpathSync } from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import YAML from 'yaml';
import { ROOT, services } from './support.ts';

interface Node {
  commands: Record<string, Node>;
  flags: Record<string, unknown>;
}

function sdkTree(): Node | undefined {
  let gcloud: string;
  try {
    gcloud = realpathSync(execFileSync('which', ['gcloud']).toString().trim());
  } catch {
    return undefined;
  }
  const file = path.join(path.dirname(gcloud), '..', 'data', 'cli', 'gcloud_completions.py');
  if (!existsSync(file)) return undefined;
  // The tree is a Python literal: Python turns it into JSON.
  const json = execFileSync(
    'python3',
    [
      '-c',
      'import importlib.util,json,sys\n' +
        'spec=importlib.util.spec_from_file_location("t",sys.argv[1]);m=importlib.util.module_from_spec(spec)\n' +
        'spec.loader.exec_module(m);print(json.dumps(m.STATIC_COMPLETION_CLI_TREE))',
      file,
    ],
    { maxBuffer: 64 * 1024 * 1024 },
  );
  return JSON.parse(json.toString()) as Node;
}

/** The gcloud invocations of a shell text: continuation lines joined, one array of words each. */
function invocations(shell: string): string[][] {
  const joined = shell.replace(/\\\n\s*/g, ' ');
  const found: string[][] = [];
  for (const line of joined.split('\n')) {
    for (const part of line.split(/\|\||&&|\||;|\$\(/)) {
      // The end of a $(…) substitution is no part of the command.
      const words = part
        .trim()
        .replace(/^(do|then)\s+/, '')
        .replace(/\)["']?$/, '')
        .split(/\s+/);
      if (words[0] === 'gcloud') found.push(words.slice(1));
    }
  }
  return found;
}

const deployMd = readFileSync(path.join(ROOT, 'DEPLOY.md'), 'utf8');
const bashBlocks = [...deployMd.matchAll(/```bash\n([\s\S]*?)```/g)].map((m) => m[1]!);
const fromDocs = bashBlocks.flatMap(invocations).map((words) => ({ where: 'DEPLOY.md', words }));
const opsScripts = readdirSync(path.join(ROOT, 'ops'))
  .filter((f) => f.endsWith('.sh'))
  .flatMap((f) =>
    invocations(readFileSync(path.join(ROOT, 'ops', f), 'utf8')).map((words) => ({
      where: `ops/${f}`,
      words,
    })),
  );
const fromPipelines = services().flatMap((service) => {
  const doc = YAML.parse(readFileSync(path.join(service.path, 'cloudbuild.yaml'), 'utf8'));
  return (doc.steps as { entrypoint?: string; args: unknown[] }[])
    .filter((step) => step.entrypoint === 'gcloud')
    .map((step) => ({ where: `${service.pkg}/cloudbuild.yaml`, words: step.args.map(String) }));
});

test('DEPLOY.md and the pipelines run gcloud commands that exist, with flags that exist', (t) => {
  const tree = sdkTree();
  if (!tree) {
    t.skip('the Google Cloud SDK is not installed here');
    return;
  }
  assert.ok(fromDocs.length >= 30, `only ${fromDocs.length} gcloud commands found in DEPLOY.md`);
  assert.ok(fromPipelines.length >= 3 * services().length);
  assert.ok(opsScripts.length >= 2, 'ops/aplicar.sh runs gcloud');
  const problems: string[] = [];
  for (const { where, words } of [...fromDocs, ...opsScripts, ...fromPipelines]) {
    let node = tree;
    const command: string[] = [];
    for (const word of words) {
      const next = node.commands[word];
      if (!next) break;
      node = next;
      command.push(word);
    }
    if (Object.keys(node.commands).length > 0 || command.length === 0) {
      problems.push(`${where}: "gcloud ${words.slice(0, 4).join(' ')}" is not a command`);
      continue;
    }
    for (const word of words.slice(command.length)) {
      const name = /^(--[a-z][a-z0-9-]*)/.exec(word)?.[1];
      // The tree lists a boolean flag once; its --no- form is implied.
      const known = (flag: string) => flag in node.flags || flag in tree.flags;
      if (name && !known(name) && !(name.startsWith('--no-') && known(`--${name.slice(5)}`))) {
        problems.push(`${where}: gcloud ${command.join(' ')} has no flag ${name}`);
      }
    }
  }
  assert.deepEqual(problems, []);
});
