/**
 * V0's versioning delta: the repository's `git status` and HEAD before and after a run. Null when
 * the folder is not in a git work tree (or git is missing): the next actions then say so with null.
 */
import { execFileSync } from 'node:child_process';

export interface RepoSnapshot {
  headCommit: string | null;
  porcelain: string;
  changedFiles: string[];
}

export interface VersioningDelta {
  before_head_commit: string | null;
  after_head_commit: string | null;
  touched_files: string[];
  worktree_changed: boolean;
}

function git(repoRoot: string, args: string[]): string | null {
  try {
    return execFileSync('git', ['-C', repoRoot, ...args], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'], maxBuffer: 64 * 1024 * 1024 });
  } catch {
    return null;
  }
}

export function captureRepoSnapshot(repoRoot: string): RepoSnapshot | null {
  const porcelain = git(repoRoot, ['status', '--porcelain', '--untracked-files=all']);
  if (porcelain === null) return null;
  const head = git(repoRoot, ['rev-parse', 'HEAD'])?.trim() ?? '';
  return { headCommit: head === '' ? null : head, porcelain, changedFiles: changedFilesOf(porcelain) };
}

/** As V0: the files are those changed after the run; the worktree changed if the status text did. */
export function repoDelta(before: RepoSnapshot | null, after: RepoSnapshot | null): VersioningDelta | null {
  if (after === null) return null;
  return {
    before_head_commit: before?.headCommit ?? null,
    after_head_commit: after.headCommit,
    touched_files: after.changedFiles,
    worktree_changed: before ? before.porcelain !== after.porcelain : after.porcelain !== '',
  };
}

/** `XY path` or `XY old -> new` lines: the path (the new one of a rename), sorted, unique. */
function changedFilesOf(porcelain: string): string[] {
  const files = new Set<string>();
  for (const line of porcelain.split('\n')) {
    if (line.length < 4) continue;
    const path = line.slice(3).trim();
    if (path === '') continue;
    const arrow = path.indexOf(' -> ');
    files.add(arrow >= 0 ? path.slice(arrow + 4).trim() : path);
  }
  return [...files].sort();
}
