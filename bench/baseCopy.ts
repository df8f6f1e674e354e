import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, symlinkSync } from 'node:fs';

/**
 * A copy of `commit`'s tree (`git archive`) in /tmp, sharing this checkout's node_modules, so a
 * bench can run an older commit's job beside this tree's in one process tree.
 *
 * @example
 * const dir = baseCopy(repo, '981e479'); // /tmp/sbs-base-981e479
 */
export function baseCopy(repo: string, commit: string): string {
  const sha = execFileSync('git', ['rev-parse', '--short', commit], { cwd: repo, encoding: 'utf8' }).trim();
  const dir = `/tmp/sbs-base-${sha}`;
  if (!existsSync(dir)) {
    mkdirSync(dir, { recursive: true });
    execFileSync('sh', ['-c', `git archive ${sha} | tar -x -C ${dir}`], { cwd: repo });
    symlinkSync(`${repo.replace(/\/$/, '')}/node_modules`, `${dir}/node_modules`);
  }
  return dir;
}
