import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { after, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { checkCommand } from '../../runtime/checkCommand.ts';
import { cliReference } from '../../runtime/cliReference.ts';
import { typecheckJob } from '../../runtime/typecheck.ts';

const repo = fileURLToPath(new URL('../../', import.meta.url));
/** Guides whose TypeScript blocks run here. A block that starts with `// path/file.ts` is written there. */
const DOCS = ['README.md', 'docs/jobs.md'];

interface Block {
  doc: string;
  path: string;
  code: string;
}

function blocks(doc: string): Block[] {
  const text = readFileSync(join(repo, doc), 'utf8');
  return [...text.matchAll(/```ts\n([\s\S]*?)```/g)].map((match, i) => {
    const code = match[1]!;
    const named = /^\/\/ ((?:jobs|test)\/[\w.-]+\.ts)\n/.exec(code);
    return { doc, path: named?.[1] ?? `blocks/block-${i}.ts`, code };
  });
}

/** Runs `node --import tsx --test` on files; resolves with its exit code and output. */
function runTests(files: string[], cwd: string): Promise<{ code: number | null; out: string }> {
  return new Promise((resolve) => {
    const { NODE_TEST_CONTEXT: _parent, ...env } = process.env;
    const child = spawn(process.execPath, ['--import', 'tsx', '--test', '--test-force-exit', ...files], { cwd, env, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (chunk: Buffer) => (out += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (out += chunk.toString()));
    child.on('exit', (code) => resolve({ code, out }));
  });
}

describe('the examples in the docs', () => {
  // Inside the repository, so `import ... from 'sluice'` resolves to this checkout (package self-reference).
  const root = join(repo, '.sluice', 'doc-examples');
  after(() => rmSync(root, { recursive: true, force: true }));

  for (const doc of DOCS) {
    it(`${doc}: every job and test block type-checks, every job builds, every test passes`, async () => {
      const dir = join(root, doc.replace(/[/.]/g, '-'));
      rmSync(dir, { recursive: true, force: true });
      const found = blocks(doc);
      assert.ok(found.length > 0, `${doc} has TypeScript examples`);
      for (const block of found) {
        mkdirSync(dirname(join(dir, block.path)), { recursive: true });
        writeFileSync(join(dir, block.path), block.code);
      }
      for (const block of found) {
        const problems = typecheckJob(join(dir, block.path), join(dir, '.typecheck'));
        assert.deepEqual(problems, [], `${doc}: ${block.path} type-checks`);
      }
      for (const block of found.filter((b) => b.code.includes('export default defineJob('))) {
        let said = '';
        const code = await checkCommand({ jobPath: join(dir, block.path), settings: {} }, (text) => (said += text));
        assert.equal(code, 0, `${doc}: ${block.path}: ${said}`);
      }
      const tests = found.filter((b) => b.path.endsWith('.test.ts')).map((b) => b.path);
      if (tests.length > 0) {
        const result = await runTests(tests, dir);
        assert.equal(result.code, 0, `${doc}: the example tests pass:\n${result.out}`);
        assert.doesNotMatch(result.out, /# pass 0\n/, 'the example tests ran');
      }
    });
  }

  it('docs/cli.md is the reference generated from the CLI (npm run docs:cli)', () => {
    assert.equal(readFileSync(join(repo, 'docs/cli.md'), 'utf8'), cliReference(), 'run `npm run docs:cli` and commit docs/cli.md');
  });
});
