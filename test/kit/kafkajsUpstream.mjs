// kafkajs 2.2.4 as published, beside the patched one the project installs: the files that
// patches/kafkajs+2.2.4.patch changes, taken back out of a copy with `git apply -R`. Plain JS so
// that `node --import` can load it before tsx (see bench/sideBySide/upstreamKafkajs.mjs); test/patches/kafkajs.test.ts compares the two.
import { execFileSync } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createRequire, Module } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const repo = fileURLToPath(new URL('../../', import.meta.url));
const patch = join(repo, 'patches/kafkajs+2.2.4.patch');
const require = createRequire(join(repo, 'package.json'));

/** The upstream text of every file the patch changes, by its path in the repository (node_modules/kafkajs/...). */
export function upstreamSources() {
  const files = [...readFileSync(patch, 'utf8').matchAll(/^diff --git a\/(\S+)/gm)].map((match) => match[1]);
  const dir = mkdtempSync(join(tmpdir(), 'sluice-kafkajs-upstream-'));
  try {
    for (const file of files) {
      mkdirSync(dirname(join(dir, file)), { recursive: true });
      copyFileSync(join(repo, file), join(dir, file));
    }
    execFileSync('git', ['apply', '-R', patch], { cwd: dir });
    return new Map(files.map((file) => [file, readFileSync(join(dir, file), 'utf8')]));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** kafkajs' entry modules: compiling one requires much of kafkajs, patched files included. */
const ENTRY_MODULES = new Set(['node_modules/kafkajs/src/admin/index.js', 'node_modules/kafkajs/src/producer/index.js']);

/**
 * Loads upstream's version of each patched JavaScript file at the installed file's path (so its
 * own requires resolve as usual) and puts it in the module cache, in the patch's order (which is
 * the order they require each other in: grouping, encoder, record, produce request), the entry
 * modules last, so that what they pull in is upstream's already. The types are not modules.
 */
export function useUpstreamKafkajs() {
  const modules = new Map();
  const sources = [...upstreamSources()].filter(([file]) => file.endsWith('.js'));
  const ordered = [...sources.filter(([file]) => !ENTRY_MODULES.has(file)), ...sources.filter(([file]) => ENTRY_MODULES.has(file))];
  for (const [file, source] of ordered) {
    const filename = join(repo, file);
    const module = new Module(filename);
    module.filename = filename;
    module.paths = Module._nodeModulePaths(dirname(filename));
    require.cache[filename] = module;
    module._compile(source, filename);
    module.loaded = true;
    modules.set(file, module);
  }
  return modules;
}

/**
 * A kafkajs module with everything under it loaded afresh, as published (`upstream`) or as
 * installed: the two run side by side in one process. The module cache is left as it was.
 *
 * @example
 * const produce = freshKafkajs('node_modules/kafkajs/src/protocol/requests/produce/v3/request.js', 'upstream');
 */
export function freshKafkajs(file, variant) {
  const root = join(repo, 'node_modules/kafkajs/');
  const saved = Object.entries(require.cache).filter(([path]) => path.startsWith(root));
  const clear = () => Object.keys(require.cache).filter((path) => path.startsWith(root)).forEach((path) => delete require.cache[path]);
  clear();
  try {
    if (variant === 'upstream') useUpstreamKafkajs();
    return require(join(repo, file));
  } finally {
    clear();
    for (const [path, module] of saved) require.cache[path] = module;
  }
}
