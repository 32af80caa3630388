/**
 * V0's planning context (`--planning-context-artifact`, `--repo-root`): the native action
 * `planning.repo_context` after planning's programs, the artifact's generic fields, the previous
 * run's feedback, and `--validation-from-planning-context`.
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'vitest';
import { STAGE, readJson, reportOf, runCli, tempDir } from '../support/cli.js';

const records = (report: any) => report.stage_executions.map((e: any) => [e.stage, e.idempotency_key, e.command, e.status]);
const pairs = (report: any) => report.transitions.map((t: any) => [t.from_stage, t.to_stage]);

/** A repository with a Cargo workspace and an npm package whose scripts note that they ran. */
function repository(dir: string): string {
  const repo = join(dir, 'repo');
  mkdirSync(join(repo, 'src'), { recursive: true });
  writeFileSync(join(repo, 'Cargo.toml'), '[package]\nname = "x"\n\n[workspace]\nmembers = [\n  "crates/b",\n  "crates/a", "crates/c",\n]\n');
  writeFileSync(join(repo, 'package.json'), JSON.stringify({ name: 'x', workspaces: ['web'], scripts: { lint: `echo lint >> ${dir}/npm.log`, test: `echo test >> ${dir}/npm.log` } }));
  writeFileSync(join(repo, 'README'), 'hi\n');
  return repo;
}

describe.concurrent('the planning context (--planning-context-artifact)', () => {
  it('is written after the manager, with the repository\'s generic context and no feedback on a first run', async ({ expect }) => {
    const dir = tempDir('ao-context-');
    const repo = repository(dir);
    const out = join(dir, 'out');
    const artifact = join(dir, 'ctx', 'planning_context.json');
    const result = await runCli([out, '--manager-bin', STAGE, '--manager-arg', 'ok', '--planning-context-artifact', artifact, '--repo-root', repo]);
    expect(result.exitCode).toBe(0);
    const report = reportOf(out);
    expect(records(report)).toEqual([
      ['planning', 'stage:Planning', STAGE, 'success'],
      ['planning', 'stage:Planning:repo_context', 'planning.repo_context', 'success'],
    ]);
    expect(report.stage_executions[1].args).toEqual([repo, artifact]);
    // The native action is no stage: the transitions are the seed's.
    expect(pairs(report)).toEqual([[null, 'planning'], ['planning', 'policy_ingestion'], ['policy_ingestion', 'execution'], ['execution', 'validation'], ['validation', 'closure']]);
    const context = readJson(artifact);
    expect(context).toEqual({
      repo_root: repo,
      generated_at_unix_secs: context.generated_at_unix_secs,
      top_level_entries: ['Cargo.toml', 'README', 'package.json', 'src'],
      workspace_members: ['crates/a', 'crates/b', 'crates/c', 'web'],
      ownership_boundaries: [],
      hot_paths: [],
      detected_validation_commands: [
        { command_line: { command: 'cargo', args: ['fmt', '--all', '--', '--check'] } },
        { command_line: { command: 'cargo', args: ['clippy', '--workspace', '--all-targets', '--', '-D', 'warnings'] } },
        { command_line: { command: 'cargo', args: ['test', '--workspace'] } },
        { command_line: { command: 'npm', args: ['run', 'lint'] } },
        { command_line: { command: 'npm', args: ['test'] } },
      ],
      planning_feedback: null,
    });
  });

  it('carries the previous run\'s feedback (its report and next actions) into the next run\'s context', async ({ expect }) => {
    const dir = tempDir('ao-context-');
    const out = join(dir, 'out');
    const artifact = join(dir, 'planning_context.json');
    const flags = ['--validation-bin', STAGE, '--validation-arg', 'fail', '--next-actions-path', join(dir, 'next.json'), '--planning-context-artifact', artifact, '--repo-root', dir];
    expect((await runCli([out, ...flags])).exitCode).toBe(1);
    const first = reportOf(out).run_id;
    expect(readJson(artifact).planning_feedback).toBeNull();
    expect((await runCli([out, ...flags])).exitCode).toBe(1);
    expect(readJson(artifact).planning_feedback).toEqual({
      schema_version: 1,
      source_run_id: first,
      terminal_state: 'failed',
      blocked_reason_codes: [],
      reviewer_next_steps: [],
      recommended_actions: ['Inspect failed stage execution and remediate before rerun'],
      validation_outcomes: [{ command: STAGE, status: 'failed', exit_code: 7 }],
      feedback_signature: `terminal=failed;blocked=;review=;recommended=Inspect failed stage execution and remediate before rerun;validation=${STAGE}:failed:7`,
      truncated: false,
    });
  });

  it('is recorded skipped when --resume finds planning completed', async ({ expect }) => {
    const dir = tempDir('ao-context-');
    const out = join(dir, 'out');
    const flags = ['--manager-bin', STAGE, '--manager-arg', 'ok', '--planning-context-artifact', join(dir, 'ctx.json'), '--repo-root', dir];
    expect((await runCli([out, ...flags, '--executor-bin', STAGE, '--executor-arg', 'fail'])).exitCode).toBe(1);
    expect((await runCli([out, ...flags, '--executor-bin', STAGE, '--executor-arg', 'ok', '--resume'])).exitCode).toBe(0);
    const resumed = reportOf(out).stage_executions.filter((e: any) => e.stage === 'planning');
    expect(resumed.map((e: any) => [e.command, e.status, e.error])).toEqual([
      [STAGE, 'skipped', 'Skipped due to checkpoint resume'],
      ['planning.repo_context', 'skipped', 'Skipped due to checkpoint resume'],
    ]);
  });

  it('cannot be written: planning fails with upstream\'s message', async ({ expect }) => {
    const dir = tempDir('ao-context-');
    const out = join(dir, 'out');
    writeFileSync(join(dir, 'file'), 'x');
    const artifact = join(dir, 'file', 'ctx.json');
    const result = await runCli([out, '--planning-context-artifact', artifact, '--executor-bin', STAGE, '--executor-arg', 'ok']);
    expect(result.exitCode).toBe(1);
    const report = reportOf(out);
    expect(report.failure).toMatchObject({ stage: 'planning', status: 'failed' });
    expect(records(report)).toEqual([['planning', 'stage:Planning:repo_context', 'planning.repo_context', 'failed']]);
    expect(report.stage_executions[0].error).toMatch(new RegExp(`^Failed to write planning repo context artifact '${artifact}': E`));
  });
});

describe.concurrent('--validation-from-planning-context', () => {
  it('validation runs the artifact\'s detected commands after the flags\', each once, with V0\'s keys', async ({ expect }) => {
    const dir = tempDir('ao-context-');
    const repo = join(dir, 'repo');
    mkdirSync(repo);
    writeFileSync(join(repo, 'package.json'), JSON.stringify({ name: 'x', scripts: { lint: `echo lint >> ${dir}/npm.log`, test: `echo test >> ${dir}/npm.log` } }));
    const out = join(dir, 'out');
    const flags = ['--planning-context-artifact', join(dir, 'ctx.json'), '--repo-root', repo, '--validation-from-planning-context'];
    const result = await runCli([out, ...flags, '--validation-bin', 'npm', '--validation-arg', 'test', '--validation-bin', 'true'], { cwd: repo });
    expect(result.exitCode).toBe(0);
    const validation = reportOf(out).stage_executions.filter((e: any) => e.stage === 'validation');
    expect(validation.map((e: any) => [e.idempotency_key, e.command, e.args, e.status])).toEqual([
      ['stage:Validation:command:1', 'npm', ['test'], 'success'],
      ['stage:Validation:command:2', 'true', [], 'success'],
      ['stage:Validation:command:3', 'npm', ['run', 'lint'], 'success'],
    ]);
    expect(readFileSync(join(dir, 'npm.log'), 'utf8')).toBe('test\nlint\n');
  });

  it('an artifact that cannot be read at validation time: a failed validation.resolve_commands record', async ({ expect }) => {
    const dir = tempDir('ao-context-');
    const out = join(dir, 'out');
    const artifact = join(dir, 'ctx.json');
    // The executor spoils the artifact after planning wrote it.
    const result = await runCli([out, '--planning-context-artifact', artifact, '--repo-root', dir, '--validation-from-planning-context', '--executor-bin', STAGE, '--executor-arg', 'malformed', '--executor-arg', artifact]);
    expect(result.exitCode).toBe(1);
    const report = reportOf(out);
    expect(records(report).at(-1)).toEqual(['validation', 'stage:Validation:commands', 'validation.resolve_commands', 'failed']);
    expect(report.stage_executions.at(-1).error).toMatch(new RegExp(`^Failed to parse planning context artifact '${artifact}': `));
    expect(report.failure).toMatchObject({ stage: 'validation', status: 'failed' });
  });
});
