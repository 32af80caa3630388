/**
 * V0's next actions (`--next-actions-path`), as JSON: written after every run with the flag and
 * never without it; upstream's recommended actions; the versioning delta of the repository at
 * `--repo-root` (null outside git); a write error fails the run in one line naming the file.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'vitest';
import { STAGE, readJson, reportOf, runCli, tempDir } from '../support/cli.js';

/** A git repository with one commit; returns its path and HEAD. */
function gitRepo(): { repo: string; head: string } {
  const repo = tempDir('ao-next-repo-');
  const git = (...args: string[]) => execFileSync('git', ['-C', repo, '-c', 'user.email=t@example.com', '-c', 'user.name=t', ...args], { encoding: 'utf8' });
  git('init', '-q');
  writeFileSync(join(repo, 'README'), 'hello\n');
  git('add', 'README');
  git('commit', '-q', '-m', 'first');
  return { repo, head: git('rev-parse', 'HEAD').trim() };
}

describe.concurrent('next actions (--next-actions-path)', () => {
  it('a failed run: its outcome, the one action for a failure, and what the run changed in the repository', async ({ expect }) => {
    const { repo, head } = gitRepo();
    const dir = tempDir('ao-next-');
    const out = join(dir, 'out');
    const path = join(dir, 'next_actions.json');
    const executor = ['--executor-bin', STAGE, '--executor-arg', 'artifact', '--executor-arg', join(repo, 'made.json')];
    const validation = ['--validation-bin', STAGE, '--validation-arg', 'fail'];
    const result = await runCli([out, ...executor, ...validation, '--next-actions-path', path, '--repo-root', repo]);
    expect(result.exitCode).toBe(1);
    const actions = readJson(path);
    expect(Object.keys(actions).sort()).toEqual(
      ['blocked_reason_codes', 'generated_at_unix_secs', 'recommended_actions', 'reviewer_next_steps', 'run_id', 'terminal_state', 'versioning_delta'].sort(),
    );
    expect(actions.run_id).toBe(reportOf(out).run_id);
    expect(actions.terminal_state).toBe('failed');
    expect(actions.blocked_reason_codes).toEqual([]);
    expect(actions.reviewer_next_steps).toEqual([]);
    expect(actions.recommended_actions).toEqual(['Inspect failed stage execution and remediate before rerun']);
    expect(actions.versioning_delta).toEqual({ before_head_commit: head, after_head_commit: head, touched_files: ['made.json'], worktree_changed: true });
    expect(Math.abs(actions.generated_at_unix_secs - Date.now() / 1000)).toBeLessThan(600);
  });

  it('a blocked run: one action per gate code, in upstream\'s words; outside git the delta is null', async ({ expect }) => {
    const dir = tempDir('ao-next-');
    const path = join(dir, 'next.json');
    const result = await runCli([join(dir, 'out'), '--policy-status', 'deny', '--next-actions-path', path, '--repo-root', dir]);
    expect(result.exitCode).toBe(3);
    const actions = readJson(path);
    expect(actions.terminal_state).toBe('blocked');
    expect(actions.blocked_reason_codes).toEqual(['GATE_POLICY_DENIED_OR_UNKNOWN', 'GATE_CI_NOT_SUCCESS', 'GATE_REVIEW_NOT_APPROVED']);
    expect(actions.recommended_actions).toEqual([
      'Resolve policy gate: enforce allow signal before rerun',
      'Resolve CI gate: ensure CI status is success',
      'Resolve review gate: obtain approved review status',
    ]);
    expect(actions.versioning_delta).toBeNull();
  });

  it('a hard gate: its action; the reviewer\'s next steps, when there are some, are the actions as they are', async ({ expect }) => {
    const dir = tempDir('ao-next-');
    const path = join(dir, 'next.json');
    const hard = await runCli([join(dir, 'out'), '--executor-bin', STAGE, '--executor-arg', 'ok', '--executor-arg', 'drop-database', '--hard-gates-file', join(dir, 'none.json'), '--next-actions-path', path, '--repo-root', dir]);
    expect(hard.exitCode).toBe(3);
    expect(readJson(path).recommended_actions).toEqual([
      'Remove destructive infrastructure operation from invocation before rerun',
      'Resolve blocked reason: HARD_GATE_EXTERNAL_RULES_LOAD_FAILED',
    ]);

    const review = join(dir, 'review.json');
    const reviewer = join(dir, 'reviewer.sh');
    writeFileSync(reviewer, `#!/bin/sh\nprintf '{"next_step_plan":[{"action":"Add a test","priority":1,"code":"T"},{"action":"Rename x"}]}' > ${review}\nexit 1\n`, { mode: 0o755 });
    const again = join(dir, 'next2.json');
    const reviewed = await runCli([join(dir, 'out2'), '--reviewer-bin', reviewer, '--reviewer-expected-artifact', review, '--next-actions-path', again]);
    expect(reviewed.exitCode).toBe(1);
    expect(readJson(again).reviewer_next_steps).toEqual(['P1 [T] Add a test', 'Rename x']);
    expect(readJson(again).recommended_actions).toEqual(['P1 [T] Add a test', 'Rename x']);
  });

  it('is written for a done run too (also when --resume finds it done), and a run without the flag writes none', async ({ expect }) => {
    const dir = tempDir('ao-next-');
    const out = join(dir, 'out');
    const path = join(dir, 'next.json');
    expect((await runCli([out, '--executor-bin', STAGE, '--executor-arg', 'ok', '--next-actions-path', path])).exitCode).toBe(0);
    expect(readJson(path)).toMatchObject({ terminal_state: 'done', recommended_actions: [] });
    const again = join(dir, 'again.json');
    expect((await runCli([out, '--resume', '--next-actions-path', again])).exitCode).toBe(0);
    expect(readJson(again)).toMatchObject({ terminal_state: 'done', run_id: readJson(path).run_id });

    const seed = join(dir, 'seed');
    expect((await runCli([seed, '--executor-bin', STAGE, '--executor-arg', 'ok'])).exitCode).toBe(0);
    expect(readdirSync(seed).filter((name) => /next|actions|memory|\.bin$/.test(name))).toEqual([]);
  });

  it('cannot be written: exit 1 and one line naming the file', async ({ expect }) => {
    const dir = tempDir('ao-next-');
    const path = join(dir, 'missing-dir', 'next.json');
    const result = await runCli([join(dir, 'out'), '--next-actions-path', path]);
    expect(result.exitCode).toBe(1);
    expect(result.stderr.split('\n').filter((line) => line.startsWith('autonomy-orchestrator:'))).toEqual([`autonomy-orchestrator: Failed to write next actions artifact ${path}: ENOENT`]);
    expect(existsSync(path)).toBe(false);
  });
});
