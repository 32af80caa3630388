/**
 * V0's config I/O, JSON only: `--config-save` writes the run's config before the run (no env value:
 * each one becomes a reference to the variable of that name), `--config-load` replaces the command
 * line's config but for its paths, `config-validate` checks a file (exit 0/1/2/3). V0's RON and
 * binary forms parse and are refused, exit 2, in one line.
 */
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'vitest';
import { STAGE, readJson, reportOf, runCli, tempDir } from '../support/cli.js';
import { envFile, filesUnder } from './user-view.js';

const SECRET = 'tok-3f9a7c-never-on-disk';

/** What two runs of one config share: the report less its ids, times and sizes. */
function comparable(report: any) {
  const records = report.stage_executions.map((e: any) => [e.stage, e.step, e.idempotency_key, e.command, e.args, e.env_keys, e.exit_code, e.status, e.error]);
  return {
    terminal_state: report.terminal_state,
    current_stage: report.current_stage,
    stages: report.transitions.map((t: any) => [t.from_stage, t.to_stage]),
    records,
    gate_decisions: report.gate_decisions,
    blocked_reason_codes: report.blocked_reason_codes,
    hard_gate_results: report.hard_gate_results,
  };
}

/** A run with a secret for each of its programs, gates, loops and settings, given as V0's flags. */
function fullCommandLine(dir: string): string[] {
  return [
    '--manager-bin', STAGE, '--manager-arg', 'ok', '--manager-env', `API_TOKEN=${SECRET}`,
    '--executor-bin', STAGE, '--executor-arg', 'env', '--executor-arg', join(dir, 'executor-env.txt'), '--executor-env', `API_TOKEN=${SECRET}`,
    '--validation-bin', STAGE, '--validation-arg', 'ok', '--validation-env', `CHECK_TOKEN=${SECRET}`,
    '--execution-max-iterations', '2',
    '--policy-status', 'allow', '--ci-status', 'success', '--review-status', 'approved',
    '--timeout-ms', '20000',
  ];
}

describe.concurrent('--config-save and --config-load (JSON)', () => {
  it('saves the run before it runs, with env names and no env value; a run of the loaded file is the same run, its children given the values of the environment', async ({ expect }) => {
    const dir = tempDir('ao-config-');
    const saved = join(dir, 'configs', 'run.json');
    const first = await runCli([join(dir, 'first'), ...fullCommandLine(dir), '--config-save', saved]);
    expect(first.exitCode).toBe(0);
    // The save names the variables a run of the file reads, never their values.
    const warning = `autonomy-orchestrator: warning: --config-save ${saved} keeps API_TOKEN, CHECK_TOKEN as references: a run of it takes their values from its own environment\n`;
    expect(first.stderr.startsWith(warning)).toBe(true);
    const file = readJson(saved);
    expect(file.version).toBe(1);
    expect(file.timeoutMs).toBe(20000);
    expect(file.later).toMatchObject({ executionMaxIterations: 2, policyStatus: 'allow', ciStatus: 'success', reviewStatus: 'approved' });
    expect(file.plan.stages.planning[0].env).toEqual({ API_TOKEN: { fromEnv: true } });
    expect(file.plan.stages.execution[0].env).toEqual({ API_TOKEN: { fromEnv: true } });
    // The orchestrator's own variable of a native validation is no secret: kept as its value.
    expect(file.plan.stages.validation[0].env).toEqual({ CHECK_TOKEN: { fromEnv: true }, ORCHESTRATOR_VALIDATION_COMMAND_INDEX: { value: '1' } });
    // No value given for a child is in any file written: the config, the report, the checkpoint, the logs.
    for (const path of [saved, ...filesUnder(join(dir, 'first'))]) expect(readFileSync(path, 'utf8'), path).not.toContain(SECRET);
    expect(envFile(join(dir, 'executor-env.txt')).get('API_TOKEN')).toBe(SECRET);

    // Loaded with no flag but the output directory: the same programs, settings and gates.
    const env = { API_TOKEN: 'from-the-environment', CHECK_TOKEN: 'check' };
    const second = await runCli([join(dir, 'second'), '--config-load', saved], { env });
    expect(second.exitCode).toBe(first.exitCode);
    expect(second.stderr.replace(/second/g, 'first')).toBe(first.stderr.slice(warning.length));
    expect(comparable(reportOf(join(dir, 'second')))).toEqual(comparable(reportOf(join(dir, 'first'))));
    expect(reportOf(join(dir, 'second')).stage_executions.find((e: any) => e.stage === 'execution').env_keys).toContain('API_TOKEN');
    expect(envFile(join(dir, 'executor-env.txt')).get('API_TOKEN')).toBe('from-the-environment');
    expect(second.stdout.replace(/second/g, 'first')).toBe(first.stdout);
  });

  it('a failing run too: same records, same exit code; saving a loaded config writes the same file', async ({ expect }) => {
    const dir = tempDir('ao-config-');
    const saved = join(dir, 'fail.json');
    const argv = ['--manager-bin', STAGE, '--manager-arg', 'ok', '--executor-bin', STAGE, '--executor-arg', 'fail', '--executor-arg', '9', '--execution-max-iterations', '2'];
    const first = await runCli([join(dir, 'first'), ...argv, '--config-save-json', saved]);
    expect(first.exitCode).toBe(1);
    const again = join(dir, 'again.json');
    const second = await runCli([join(dir, 'second'), '--config-load-json', saved, '--config-save', again]);
    expect(second.exitCode).toBe(1);
    expect(comparable(reportOf(join(dir, 'second')))).toEqual(comparable(reportOf(join(dir, 'first'))));
    expect(comparable(reportOf(join(dir, 'second'))).records.filter((r: any) => r[7] === 'failed')).toHaveLength(4);
    expect(readJson(again)).toEqual(readJson(saved));
  });

  it('the command line keeps output_dir and the checkpoint, cycle-memory and next-actions paths; the flags it replaces are named in a warning', async ({ expect }) => {
    const dir = tempDir('ao-config-');
    const saved = join(dir, 'c.json');
    const sideEffects = join(dir, 'side-effects.txt');
    const save = await runCli([join(dir, 'a'), '--executor-bin', STAGE, '--executor-arg', 'ok', '--policy-status', 'allow', '--cycle-memory-path', join(dir, 'a-memory.json'), '--config-save', saved]);
    expect(save.exitCode).toBe(3);
    // A path that comes from the command line is not in the file.
    expect(Object.keys(readJson(saved).later)).not.toContain('cycleMemoryPath');
    const checkpoint = join(dir, 'elsewhere', 'cp.json');
    const memory = join(dir, 'b-memory.json');
    const nextActions = join(dir, 'next.json');
    const load = await runCli(
      [join(dir, 'b'), '--config-load', saved, '--checkpoint-path', checkpoint, '--cycle-memory-path', memory, '--next-actions-path', nextActions, '--executor-bin', '/nonexistent', '--timeout-ms', '5', '--policy-status', 'deny'],
      { env: { SIDE_EFFECTS: sideEffects } },
    );
    expect(load.exitCode).toBe(3);
    expect(load.stderr.split('\n')[0]).toBe(
      `autonomy-orchestrator: warning: --config-load ${saved} replaces the run's configuration: --timeout-ms, --executor-bin, --policy-status given on the command line are not used`,
    );
    // The loaded executor ran (not /nonexistent), with the loaded gates (allow: blocked by CI and review, not by policy).
    expect(readFileSync(sideEffects, 'utf8')).toBe('execution 1\n');
    expect(reportOf(join(dir, 'b')).blocked_reason_codes).toEqual(['GATE_CI_NOT_SUCCESS', 'GATE_REVIEW_NOT_APPROVED']);
    expect(readJson(checkpoint).run_id).toBe(reportOf(join(dir, 'b')).run_id);
    expect(existsSync(join(dir, 'b', 'orchestrator_checkpoint.json'))).toBe(false);
    expect(existsSync(memory)).toBe(true);
    expect(existsSync(join(dir, 'a-memory.json'))).toBe(true);
    expect(readJson(nextActions).run_id).toBe(reportOf(join(dir, 'b')).run_id);
  });

  it('a plan file the run refuses: exit 2 naming the plan, and no config file written', async ({ expect }) => {
    const dir = tempDir('ao-config-');
    const plan = join(dir, 'plan.json');
    writeFileSync(plan, JSON.stringify({ stages: { execution: [{ id: 'a', bin: STAGE }, { id: 'a', bin: STAGE }] } }));
    const saved = join(dir, 'w.json');
    const result = await runCli([join(dir, 'out'), '--plan', plan, '--config-save', saved]);
    expect(result.exitCode).toBe(2);
    expect(result.stderr).toBe(`autonomy-orchestrator: plan ${plan}: stages.execution[1].id: 'a' is already used by stages.execution[0]\n`);
    expect(existsSync(saved)).toBe(false);
  });

  it('a run from a plan file saves the plan path; a hand-written runId is the id a fresh run takes', async ({ expect }) => {
    const dir = tempDir('ao-config-');
    const plan = join(dir, 'plan.json');
    // The plan's steps have env of their own: the saved file keeps none of it (the plan file has it), and says nothing of references.
    const env = { API_KEY: 'plan-value-1' };
    writeFileSync(plan, JSON.stringify({ stages: { execution: [{ id: 'build', bin: STAGE, args: ['ok'], env }, { id: 'test', bin: STAGE, args: ['ok'], needs: ['build'], env: { API_KEY: 'plan-value-2' } }] } }));
    const saved = join(dir, 'c.json');
    const first = await runCli([join(dir, 'a'), '--plan', plan, '--config-save', saved]);
    expect(first.exitCode).toBe(0);
    expect(first.stderr).not.toContain('API_KEY');
    expect(readJson(saved)).toEqual({ version: 1, simulateBlocked: false, timeoutMs: 30000, killGraceMs: 2000, feePct: 5, burnPct: 2, planPath: plan });
    writeFileSync(saved, JSON.stringify({ ...readJson(saved), runId: 'nightly-7' }));
    expect((await runCli([join(dir, 'b'), '--config-load', saved])).exitCode).toBe(0);
    const report = reportOf(join(dir, 'b'));
    expect(report.run_id).toBe('nightly-7');
    expect(report.stage_executions.map((e: any) => e.step)).toEqual(['build', 'test']);
  });

  it('--resume comes from the command line: a loaded config resumes the run in output_dir, running only what did not complete', async ({ expect }) => {
    const dir = tempDir('ao-config-');
    const saved = join(dir, 'c.json');
    const sideEffects = join(dir, 'side-effects.txt');
    const flag = join(dir, 'fail-once');
    writeFileSync(flag, '');
    // The executor fails while the flag file is there.
    const argv = ['--manager-bin', STAGE, '--manager-arg', 'ok', '--executor-bin', 'sh', '--executor-arg', '-c', '--executor-arg', `test ! -e ${flag}`];
    expect((await runCli([join(dir, 'out'), ...argv, '--config-save', saved], { env: { SIDE_EFFECTS: sideEffects } })).exitCode).toBe(1);
    rmSync(flag);
    const resumed = await runCli([join(dir, 'out'), '--config-load', saved, '--resume'], { env: { SIDE_EFFECTS: sideEffects } });
    expect(resumed.exitCode).toBe(0);
    // The manager ran once (the first run); the resume skipped planning and ran the executor again.
    expect(readFileSync(sideEffects, 'utf8')).toBe('planning 1\n');
    const report = reportOf(join(dir, 'out'));
    expect(report.stage_executions.map((e: any) => [e.stage, e.status])).toEqual([
      ['planning', 'skipped'],
      ['execution', 'success'],
    ]);
  });

  it('a name given different values for two programs: saved once, and the save says the file cannot tell them apart (no value said)', async ({ expect }) => {
    const dir = tempDir('ao-config-');
    const saved = join(dir, 'c.json');
    const result = await runCli([join(dir, 'out'), '--manager-bin', STAGE, '--manager-arg', 'ok', '--manager-env', 'TOKEN=one-value', '--executor-bin', STAGE, '--executor-arg', 'ok', '--executor-env', `TOKEN=${SECRET}`, '--config-save', saved]);
    expect(result.exitCode).toBe(0);
    expect(result.stderr.split('\n')[0]).toBe(
      `autonomy-orchestrator: warning: --config-save ${saved} keeps TOKEN as references: a run of it takes their values from its own environment; TOKEN is given different values for different programs here, and a run of it gives every program the environment's value`,
    );
    expect(result.stderr).not.toContain(SECRET);
    expect(result.stderr).not.toContain('one-value');
  });

  it('a variable a loaded config names and the environment lacks: exit 1, one line naming the file and the variable, nothing run', async ({ expect }) => {
    const dir = tempDir('ao-config-');
    const saved = join(dir, 'c.json');
    expect((await runCli([join(dir, 'a'), '--executor-bin', STAGE, '--executor-arg', 'ok', '--executor-env', `DEPLOY_KEY=${SECRET}`, '--config-save', saved])).exitCode).toBe(0);
    const result = await runCli([join(dir, 'b'), '--config-load', saved]);
    expect(result.exitCode).toBe(1);
    expect(result.stderr).toBe(
      `autonomy-orchestrator: cannot load the run config ${saved}: plan.stages.execution[0].env.DEPLOY_KEY: the environment variable DEPLOY_KEY is not set (the file keeps only its name: set it where the run starts)\n`,
    );
    expect(existsSync(join(dir, 'b'))).toBe(false);
  });
});

describe.concurrent('a loaded config saved again', () => {
  it('keeps a hand-written {"value": …} env entry as that value, and a {"fromEnv": true} one as a reference', async ({ expect }) => {
    const dir = tempDir('ao-config-');
    const loaded = join(dir, 'hand.json');
    const envOut = join(dir, 'env.txt');
    const steps = [{ id: 'deploy', bin: STAGE, args: ['env', envOut], env: { REGION: { value: 'eu-west-1' }, API_TOKEN: { fromEnv: true } } }];
    writeFileSync(loaded, JSON.stringify({ version: 1, plan: { stages: { execution: steps } } }));
    const again = join(dir, 'again.json');
    const result = await runCli([join(dir, 'out'), '--config-load', loaded, '--config-save', again], { env: { API_TOKEN: SECRET } });
    expect(result.exitCode).toBe(0);
    expect(envFile(envOut).get('REGION')).toBe('eu-west-1');
    expect(readJson(again).plan.stages.execution[0].env).toEqual({ REGION: { value: 'eu-west-1' }, API_TOKEN: { fromEnv: true } });
    expect(readFileSync(again, 'utf8')).not.toContain(SECRET);
    expect(result.stderr.split('\n')[0]).toBe(`autonomy-orchestrator: warning: --config-save ${again} keeps API_TOKEN as references: a run of it takes their values from its own environment`);
  });
});

describe.concurrent('relative paths in a saved config', () => {
  it("are saved absolute, as the run that saved them reads them: README's --executor-bin ./deploy.sh runs when the file is loaded from another directory", async ({ expect }) => {
    const dir = tempDir('ao-config-');
    const project = join(dir, 'project');
    const elsewhere = join(dir, 'elsewhere');
    mkdirSync(join(project, 'sub'), { recursive: true });
    mkdirSync(elsewhere);
    writeFileSync(join(project, 'deploy.sh'), '#!/bin/sh\necho "$PWD" > "$1"\n', { mode: 0o755 });
    writeFileSync(join(project, 'rules.json'), JSON.stringify([{ id: 'no-prod', category: 'infra_destructive', pattern: 'PROD', mode: 'match_any_invocation_arg' }]));
    const deployed = join(project, 'deployed.txt');
    const argv = ['--executor-bin', './deploy.sh', '--executor-arg', deployed, '--executor-expected-artifact', 'deployed.txt', '--hard-gates-file', 'rules.json', '--repo-root', '.'];
    const saved = join(dir, 'c.json');
    expect((await runCli([join(dir, 'a'), ...argv, '--config-save', saved], { cwd: project })).exitCode).toBe(0);
    const file = readJson(saved);
    expect(file.plan.stages.execution[0]).toMatchObject({ bin: join(project, 'deploy.sh'), expectedArtifacts: [deployed] });
    expect(file.later).toMatchObject({ hardGatesFile: join(project, 'rules.json'), repoRoot: project });
    rmSync(deployed);
    const load = await runCli([join(dir, 'b'), '--config-load', saved], { cwd: elsewhere });
    expect(load.exitCode).toBe(0);
    expect(readFileSync(deployed, 'utf8')).toBe(`${elsewhere}\n`);
    expect(reportOf(join(dir, 'b')).hard_gate_results.map((r: any) => [r.id, r.passed])).toContainEqual(['no-prod', true]);
  });

  it("a step's cwd, and a program given by a path, which runs from that cwd", async ({ expect }) => {
    const dir = tempDir('ao-config-');
    const project = join(dir, 'project');
    mkdirSync(join(project, 'sub'), { recursive: true });
    writeFileSync(join(project, 'sub', 'tool.sh'), '#!/bin/sh\npwd > ran.txt\n', { mode: 0o755 });
    const hand = join(project, 'hand.json');
    writeFileSync(hand, JSON.stringify({ version: 1, plan: { stages: { execution: [{ id: 'tool', bin: './tool.sh', cwd: 'sub' }, { id: 'shell', bin: 'sh', args: ['-c', 'true'] }] } } }));
    const saved = join(dir, 'c.json');
    expect((await runCli([join(dir, 'a'), '--config-load', hand, '--config-save', saved], { cwd: project })).exitCode).toBe(0);
    const [tool, shell] = readJson(saved).plan.stages.execution;
    expect([tool.bin, tool.cwd]).toEqual([join(project, 'sub', 'tool.sh'), join(project, 'sub')]);
    // A program named without a "/" is looked up on PATH: kept as given.
    expect(shell.bin).toBe('sh');
    rmSync(join(project, 'sub', 'ran.txt'));
    expect((await runCli([join(dir, 'b'), '--config-load', saved], { cwd: dir })).exitCode).toBe(0);
    expect(readFileSync(join(project, 'sub', 'ran.txt'), 'utf8')).toBe(`${join(project, 'sub')}\n`);
  });
});

describe.concurrent('a save of a run that names no program', () => {
  it('--resume of a --plan run without program flags: exit 2, one line, no file, the run not touched', async ({ expect }) => {
    const dir = tempDir('ao-config-');
    const plan = join(dir, 'plan.json');
    writeFileSync(plan, JSON.stringify({ stages: { execution: [{ id: 'build', bin: STAGE, args: ['fail', '4'] }] } }));
    const out = join(dir, 'out');
    expect((await runCli([out, '--plan', plan])).exitCode).toBe(1);
    const before = readFileSync(join(out, 'orchestrator_checkpoint.json'), 'utf8');
    const saved = join(dir, 'resume.json');
    const result = await runCli([out, '--resume', '--config-save', saved]);
    expect(result.exitCode).toBe(2);
    expect(result.stderr).toBe(
      `autonomy-orchestrator: --config-save ${saved}: this resume names no program (its programs come from its checkpoint), so the file would run nothing; give the programs (--manager-bin/--executor-bin) or --plan\n`,
    );
    expect(existsSync(saved)).toBe(false);
    expect(readFileSync(join(out, 'orchestrator_checkpoint.json'), 'utf8')).toBe(before);
    // With --plan, the resume saves the plan's path.
    expect((await runCli([out, '--resume', '--plan', plan, '--config-save', saved])).exitCode).toBe(1);
    expect(readJson(saved).planPath).toBe(plan);
  });

  it('a fresh run with no program: exit 2, no file (a load would refuse it)', async ({ expect }) => {
    const dir = tempDir('ao-config-');
    const saved = join(dir, 'c.json');
    const result = await runCli([join(dir, 'out'), '--config-save', saved]);
    expect(result.exitCode).toBe(2);
    expect(result.stderr).toBe(`autonomy-orchestrator: --config-save ${saved}: the run names no program, so the file would run nothing; give the programs (--manager-bin/--executor-bin) or --plan\n`);
    expect(filesUnder(dir)).toEqual([]);
  });
});

describe.concurrent('config files that cannot be loaded or saved: exit 1, one line naming the file (and the field)', () => {
  const cases: [string, string | null, string][] = [
    ['not JSON', '{"version": 1,', 'it is not valid JSON'],
    ['missing', null, 'cannot read it (ENOENT)'],
    ['a field of the wrong type', '{"version": 1, "timeoutMs": "fast"}', 'timeoutMs: Invalid input: expected number, received string'],
    ['a field deep in a step', '{"version": 1, "plan": {"stages": {"execution": [{"id": "x", "bin": "b", "env": {"K": "v"}}]}}}', 'plan.stages.execution[0].env.K: expected {"fromEnv": true} (the variable of that name where the file is loaded) or {"value": "..."}'],
    // A value pasted where a name goes: the key is not printed, the step is named.
    [
      'an env key with "=" in it',
      `{"version": 1, "plan": {"stages": {"execution": [{"id": "deploy", "bin": "b", "env": {"TOK=${SECRET}": {"fromEnv": true}}}]}}}`,
      'plan.stages.execution[0].env (step "deploy"): a key contains "="; a key is the variable\'s name (not printed here: it may hold a value)',
    ],
    // A key of two lines (a secret pasted before the name): not printed either, so the error stays one line.
    [
      'an env key with a line break in it',
      `{"version": 1, "plan": {"stages": {"execution": [{"id": "deploy", "bin": "b", "env": {"${SECRET}\\nTOKEN": {"fromEnv": true}}}]}}}`,
      'plan.stages.execution[0].env (step "deploy"): a key is empty or contains a space or a control character; a key is the variable\'s name (not printed here: it may hold a value)',
    ],
    ['another version', '{"version": 2}', 'version: expected 1'],
    ['a path the command line gives', '{"version": 1, "checkpointPath": "cp.json"}', '(document): checkpointPath is not kept in a config file: it comes from the command line (--checkpoint-path)'],
    ['a plan and a plan path', '{"version": 1, "planPath": "/p.json", "plan": {}}', 'planPath: cannot be combined with plan: give the steps in one or the other'],
    // The checks a --plan file gets, before any variable it names is read: duplicate ids, needs, cycles, the thermostat.
    [
      'a step id used twice',
      '{"version": 1, "plan": {"stages": {"execution": [{"id": "a", "bin": "true", "env": {"UNSET_IN_TESTS_7": {"fromEnv": true}}}, {"id": "a", "bin": "true"}]}}}',
      "plan.stages.execution[1].id: 'a' is already used by stages.execution[0]",
    ],
    ['a need of no step', '{"version": 1, "plan": {"stages": {"execution": [{"id": "a", "bin": "true", "needs": ["b"]}]}}}', "plan.stages.execution[0].needs[0]: no step 'b' in stage execution"],
    [
      'steps that need each other',
      '{"version": 1, "plan": {"stages": {"execution": [{"id": "a", "bin": "true", "needs": ["b"]}, {"id": "b", "bin": "true", "needs": ["a"]}]}}}',
      'plan.stages.execution: steps depend on each other in a cycle: a -> b -> a',
    ],
    [
      "a plan's thermostat min above max",
      '{"version": 1, "plan": {"thermostat": {"minConcurrency": 5, "maxConcurrency": 2}, "stages": {"execution": [{"id": "a", "bin": "true"}]}}}',
      'plan.thermostat.minConcurrency: 5 is above maxConcurrency 2',
    ],
    [
      "the settings' thermostat over the plan's",
      '{"version": 1, "thermostat": {"floor": 0.9}, "plan": {"thermostat": {"target": 0.5}, "stages": {"execution": [{"id": "a", "bin": "true"}]}}}',
      'thermostat.floor: 0.9 is above target 0.5',
    ],
    // A run of it would run nothing and report done.
    ['no program', '{"version": 1, "timeoutMs": 5000, "plan": {"stages": {"execution": []}}}', 'plan: it names no program (no step in plan.stages, no planPath), so a run of it would run nothing'],
  ];
  for (const [what, content, problem] of cases) {
    it(what, async ({ expect }) => {
      const dir = tempDir('ao-config-');
      const path = join(dir, 'c.json');
      if (content !== null) writeFileSync(path, content);
      const result = await runCli([join(dir, 'out'), '--config-load', path]);
      expect(result.exitCode).toBe(1);
      expect(result.stderr).toBe(`autonomy-orchestrator: cannot load the run config ${path}: ${problem}\n`);
      expect(existsSync(join(dir, 'out'))).toBe(false);
      const validate = await runCli(['config-validate', path]);
      expect(validate.exitCode).toBe(1);
      expect(validate.stderr).toBe(result.stderr);
    });
  }

  it('a save that cannot be written', async ({ expect }) => {
    const dir = tempDir('ao-config-');
    writeFileSync(join(dir, 'file'), '');
    const path = join(dir, 'file', 'c.json');
    const result = await runCli([join(dir, 'out'), '--executor-bin', STAGE, '--executor-arg', 'ok', '--config-save', path]);
    expect(result.exitCode).toBe(1);
    expect(result.stderr).toBe(`autonomy-orchestrator: cannot write the run config ${path}: its folder cannot be made (EEXIST)\n`);
    expect(existsSync(join(dir, 'out'))).toBe(false);
  });
});

describe.concurrent("V0's config flags that mix, repeat, or name a format other than JSON: exit 2, one line, nothing run or written", () => {
  const cases: [string, string[], string][] = [
    ['--config-save with an explicit form', ['--config-save', 'a.json', '--config-save-json', 'b.json'], 'When --config-save is used, do not combine it with --config-save-ron/--config-save-bin/--config-save-json'],
    ['two load modes', ['--config-load', 'a.json', '--config-load-json', 'b.json'], 'Only one config load mode is allowed: choose exactly one of --config-load, --config-load-ron, --config-load-bin, --config-load-json'],
    ['a flag twice', ['--config-save-json', 'a.json', '--config-save-json', 'b.json'], '--config-save-json was given more than once; give it once'],
    ['--config-save-ron', ['--config-save-ron', 'a.ron'], "--config-save-ron a.ron: only JSON config files are supported (V0's RON and binary config formats are not); use --config-save-json"],
    ['--config-load-bin', ['--config-load-bin', 'a.bin'], "--config-load-bin a.bin: only JSON config files are supported (V0's RON and binary config formats are not); use --config-load-json"],
    ['--config-save to .bin', ['--config-save', 'a.bin'], "--config-save a.bin: the extension picks the format, and this path's is V0's binary format (.bin, no extension or any other than .json); only JSON config files are supported: give a path ending in .json"],
    ['--config-save with no extension', ['--config-save', 'conf'], "--config-save conf: the extension picks the format, and this path's is V0's binary format (.bin, no extension or any other than .json); only JSON config files are supported: give a path ending in .json"],
    ['--config-load of .ron', ['--config-load', 'a.ron'], "--config-load a.ron: the extension picks the format, and this path's is V0's RON format; only JSON config files are supported: give a path ending in .json"],
    ['binary-only mode', ['--config-save-json', 'a.json', '--ai-config-only-binary'], "--ai-config-only-binary forbids the non-binary config path a.json, and only JSON config files are supported here (not V0's binary format)"],
  ];
  for (const [what, flags, message] of cases) {
    it(what, async ({ expect }) => {
      const dir = tempDir('ao-config-');
      const result = await runCli([join(dir, 'out'), ...flags], { cwd: dir });
      expect(result.exitCode).toBe(2);
      expect(result.stderr.split('\n')[0]).toBe(`autonomy-orchestrator: ${message}`);
      expect(filesUnder(dir)).toEqual([]);
    });
  }

  it('--ai-config-only-binary with no config path changes nothing (V0 runs)', async ({ expect }) => {
    const dir = join(tempDir('ao-config-'), 'out');
    expect((await runCli([dir, '--ai-config-only-binary'])).exitCode).toBe(0);
    expect(reportOf(dir).terminal_state).toBe('done');
  });
});

describe.concurrent('config-validate <path>', () => {
  it('exit 0 and one line on stdout for a file a save wrote', async ({ expect }) => {
    const dir = tempDir('ao-config-');
    const saved = join(dir, 'c.json');
    expect((await runCli([join(dir, 'out'), '--executor-bin', STAGE, '--executor-arg', 'ok', '--executor-env', `K=${SECRET}`, '--config-save', saved])).exitCode).toBe(0);
    // No variable is needed to validate: the file is checked, not run.
    const result = await runCli(['config-validate', saved]);
    expect([result.exitCode, result.stdout, result.stderr]).toEqual([0, `Config validation: OK (${saved})\n`, '']);
  });

  it('exit 3 with each diagnostic on its own line: settings that do nothing together, from the flags that saved them', async ({ expect }) => {
    const dir = tempDir('ao-config-');
    const saved = join(dir, 'c.json');
    const save = await runCli([join(dir, 'out'), '--executor-bin', STAGE, '--executor-arg', 'ok', '--delivery-pr-enabled', '--validation-from-planning-context', '--autofix-enabled', '--config-save', saved]);
    expect(save.exitCode).toBe(0);
    const result = await runCli(['config-validate', saved]);
    expect(result.exitCode).toBe(3);
    expect(result.stdout).toBe('');
    expect(result.stderr.split('\n')).toEqual([
      `Config validation failed for '${saved}':`,
      '- later.delivery.prEnabled=true requires later.delivery.enabled=true: without it no PR step is recorded (fix: add --delivery-enabled)',
      '- later.validationFromPlanningContext=true requires later.planningContextArtifact: there are no detected commands to run (fix: set --planning-context-artifact <path>)',
      '- later.autofixEnabled=true requires later.autofixBin: there is no fixer to run (fix: set --autofix-bin <bin>)',
      '',
    ]);
    // The same settings with what they need: valid.
    writeFileSync(saved, JSON.stringify({ ...readJson(saved), later: { delivery: { enabled: true, dryRun: true, prEnabled: true }, validationFromPlanningContext: true, planningContextArtifact: 'ctx.json' } }));
    expect((await runCli(['config-validate', saved])).exitCode).toBe(0);
  });

  it("exit 2 for V0's binary forms: a path that is not .json, binary-only mode, config-canonicalize", async ({ expect }) => {
    const dir = tempDir('ao-config-');
    const json = join(dir, 'c.json');
    writeFileSync(json, '{"version": 1}');
    const bin = await runCli(['config-validate', join(dir, 'c.bin')]);
    expect(bin.exitCode).toBe(2);
    expect(bin.stderr.split('\n')[0]).toContain(`config-validate ${join(dir, 'c.bin')}: the extension picks the format`);
    const only = await runCli(['config-validate', json, '--ai-config-only-binary']);
    expect(only.exitCode).toBe(2);
    expect(only.stderr.split('\n')[0]).toBe(`autonomy-orchestrator: --ai-config-only-binary forbids the non-binary config path ${json}, and only JSON config files are supported here (not V0's binary format)`);
    const canonicalize = await runCli(['config-canonicalize', json, join(dir, 'out.bin')]);
    expect(canonicalize.exitCode).toBe(2);
    expect(canonicalize.stderr.split('\n')[0]).toMatch(/^autonomy-orchestrator: config-canonicalize is not supported: it writes V0's binary config format/);
    expect(existsSync(join(dir, 'out.bin'))).toBe(false);
  });
});
