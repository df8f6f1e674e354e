import { cp, mkdir, readdir, readFile, writeFile } from 'node:fs/promises';
import { basename, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describeError, InvalidOptionError, SluiceError } from '../core/errors.ts';

const SLUICE_ROOT = fileURLToPath(new URL('..', import.meta.url));
const TEMPLATE = fileURLToPath(new URL('./init/template', import.meta.url));

/**
 * `sluice init <dir>`: a project of the user's own — package.json depending on Sluice, a strict
 * tsconfig, an example job (`jobs/example.ts`) and its test on the test driver. Then `npm
 * install`, `npx sluice run jobs/example.ts`, `npm test`.
 *
 * @example
 * process.exitCode = await initCommand({ directory: 'my-jobs' });
 */
export async function initCommand(options: { directory: string }, err: (text: string) => void = (text) => process.stderr.write(text)): Promise<number> {
  try {
    const target = resolve(options.directory);
    const existing = await readdir(target).catch(() => undefined);
    if (existing !== undefined && existing.length > 0) throw new InvalidOptionError(`${options.directory} exists and is not empty: choose a new directory`);
    await mkdir(target, { recursive: true });
    await cp(TEMPLATE, target, { recursive: true });
    const sluice = JSON.parse(await readFile(join(SLUICE_ROOT, 'package.json'), 'utf8')) as { version: string; dependencies: Record<string, string>; devDependencies?: Record<string, string> };
    // Installed from the registry, depend on the version; run from a checkout, on the checkout.
    const sluiceSpec = SLUICE_ROOT.includes('/node_modules/') ? `^${sluice.version}` : `file:${SLUICE_ROOT.replace(/\/$/, '')}`;
    const name = basename(target).toLowerCase().replace(/[^a-z0-9._-]/g, '-');
    const packageJson = {
      name,
      version: '0.1.0',
      private: true,
      type: 'module',
      scripts: {
        start: 'sluice run jobs/example.ts',
        check: 'sluice check jobs/example.ts',
        test: 'tsx --test test/*.test.ts',
      },
      dependencies: { sluice: sluiceSpec, zod: sluice.dependencies.zod },
      devDependencies: {
        '@types/node': sluice.devDependencies?.['@types/node'] ?? '^20.0.0',
        tsx: sluice.dependencies.tsx,
        typescript: sluice.dependencies.typescript,
      },
    };
    await writeFile(join(target, 'package.json'), `${JSON.stringify(packageJson, null, 2)}\n`);
    await writeFile(join(target, 'tsconfig.json'), `${JSON.stringify(TSCONFIG, null, 2)}\n`);
    await writeFile(join(target, '.gitignore'), 'node_modules/\nout/\n.sluice/\n');
    await writeFile(join(target, 'README.md'), readme(name));
    err(`created ${options.directory}: jobs/example.ts and test/example.test.ts\n\n  cd ${options.directory}\n  npm install\n  npx sluice run jobs/example.ts\n  npm test\n`);
    return 0;
  } catch (error) {
    err(`sluice: ${error instanceof SluiceError ? error.message : `could not create ${options.directory}: ${describeError(error)}`}\n`);
    return 1;
  }
}

const TSCONFIG = {
  compilerOptions: {
    target: 'ES2022',
    module: 'NodeNext',
    moduleResolution: 'NodeNext',
    strict: true,
    noEmit: true,
    allowImportingTsExtensions: true,
    skipLibCheck: true,
    types: ['node'],
  },
  include: ['jobs', 'test'],
};

function readme(name: string): string {
  return `# ${name}

Stream jobs on [Sluice](https://www.npmjs.com/package/sluice).

\`\`\`sh
npm install
npx sluice run jobs/example.ts          # generated payments → out/big-spenders.jsonl
npm test                                # the job on Sluice's test driver: no Kafka, no sleeps
npx sluice run jobs/example.ts --brokers localhost:9092   # the same job on Kafka
\`\`\`
`;
}
