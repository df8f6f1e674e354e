import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, renameSync, statSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, relative, resolve } from 'node:path';
import type ts from 'typescript';

// The compiler is loaded only when a check really runs (not on a cache hit, not with
// --no-typecheck): it takes a second or two to load, longer than many jobs take to start.
const require = createRequire(import.meta.url);
let compiler: typeof ts | undefined;
function typescript(): typeof ts {
  compiler ??= require('typescript') as typeof ts;
  return compiler;
}

/** The compiler options a job file is checked with when its project has no tsconfig.json. */
const defaults = (ts: typeof import('typescript')): ts.CompilerOptions => ({
  target: ts.ScriptTarget.ES2022,
  module: ts.ModuleKind.NodeNext,
  moduleResolution: ts.ModuleResolutionKind.NodeNext,
  strict: true,
  noEmit: true,
  allowImportingTsExtensions: true,
  skipLibCheck: true,
  esModuleInterop: true,
  resolveJsonModule: true,
});

/**
 * Type-checks a job file and the project files it imports (strict TypeScript, the project's
 * tsconfig.json when it has one) and returns the errors as readable lines, `file:line:col
 * message`; none when it is clean. tsx runs job files without checking them, so this is what
 * catches a wrong pipeline before a record flows. Results are cached by the contents of the
 * checked files, so an unchanged job is not checked twice.
 *
 * @example
 * const problems = typecheckJob('jobs/fraud-detection.ts');
 * if (problems.length > 0) console.error(problems.join('\n'));
 */
export function typecheckJob(jobPath: string, cacheDir = '.sluice/typecheck'): string[] {
  const file = resolve(jobPath);
  const cached = readCache(file, cacheDir);
  if (cached !== undefined) return cached;
  const ts = typescript();
  const options = compilerOptions(ts, dirname(file));
  const program = ts.createProgram([file], options);
  // The job's own files: those beside it and below. Sluice and libraries are checked by their
  // makers; asking only for these files' diagnostics keeps a check to a second or two.
  const root = dirname(file);
  const ownFiles = program.getSourceFiles().filter((source) => source.fileName.startsWith(`${root}/`) && !source.fileName.includes('/node_modules/') && !source.isDeclarationFile);
  const diagnostics = [...program.getOptionsDiagnostics(), ...ownFiles.flatMap((source) => [...program.getSyntacticDiagnostics(source), ...program.getSemanticDiagnostics(source)])];
  const problems = diagnostics.map((d) => describe(ts, d));
  writeCache(file, cacheDir, ownFiles.map((source) => source.fileName), problems);
  return problems;
}

/**
 * The check `sluice run` makes before it starts: false, with the errors printed in one block
 * that says how to go on, when the job file does not type-check.
 *
 * @example
 * if (options.typecheck && !typecheckBeforeRun(options.jobPath, (text) => process.stderr.write(text))) return 1;
 */
export function typecheckBeforeRun(jobPath: string, err: (text: string) => void): boolean {
  const problems = typecheckJob(jobPath);
  if (problems.length === 0) return true;
  err(`sluice: ${jobPath} has type errors — fix them, or run with --no-typecheck:\n${problems.map((p) => `  ${p}`).join('\n')}\n`);
  return false;
}

function compilerOptions(ts: typeof import('typescript'), from: string): ts.CompilerOptions {
  const configPath = ts.findConfigFile(from, ts.sys.fileExists, 'tsconfig.json');
  if (configPath === undefined) return defaults(ts);
  const config = ts.readConfigFile(configPath, ts.sys.readFile);
  if (config.error !== undefined) return defaults(ts);
  // The config file's path makes type roots (node_modules/@types) resolve from the project, not the working directory.
  const parsed = ts.parseJsonConfigFileContent(config.config, ts.sys, dirname(configPath), undefined, configPath);
  return { ...parsed.options, noEmit: true };
}

function describe(ts: typeof import('typescript'), diagnostic: ts.Diagnostic): string {
  const message = ts.flattenDiagnosticMessageText(diagnostic.messageText, ' ');
  if (diagnostic.file === undefined || diagnostic.start === undefined) return message;
  const { line, character } = diagnostic.file.getLineAndCharacterOfPosition(diagnostic.start);
  return `${relative(process.cwd(), diagnostic.file.fileName)}:${line + 1}:${character + 1} ${message}`;
}

interface CacheEntry {
  files: Array<{ path: string; hash: string }>;
  problems: string[];
}

function cachePath(file: string, cacheDir: string): string {
  return join(cacheDir, `${createHash('sha256').update(file).digest('hex').slice(0, 16)}.json`);
}

function hashFile(path: string): string | undefined {
  try {
    return createHash('sha256').update(readFileSync(path)).digest('hex');
  } catch {
    return undefined;
  }
}

function readCache(file: string, cacheDir: string): string[] | undefined {
  const path = cachePath(file, cacheDir);
  if (!existsSync(path)) return undefined;
  try {
    const entry = JSON.parse(readFileSync(path, 'utf8')) as CacheEntry;
    if (statSync(file).isFile() && entry.files.every((f) => hashFile(f.path) === f.hash)) return entry.problems;
  } catch {
    // A broken cache entry is checked afresh.
  }
  return undefined;
}

function writeCache(file: string, cacheDir: string, files: string[], problems: string[]): void {
  try {
    mkdirSync(cacheDir, { recursive: true });
    const entry: CacheEntry = { files: files.map((path) => ({ path, hash: hashFile(path) ?? '' })), problems };
    // Write then rename: test runs check the same job from several processes at once.
    const target = cachePath(file, cacheDir);
    const temporary = `${target}.${process.pid}.tmp`;
    writeFileSync(temporary, JSON.stringify(entry));
    renameSync(temporary, target);
  } catch {
    // No cache (a read-only directory): the next run checks again.
  }
}
