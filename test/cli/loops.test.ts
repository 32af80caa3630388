/**
 * Loops and gates from the command line, with V0's later flags: what a user sees (exit codes,
 * report fields, records, programs run) for attempts, validation, remediation, gates and hard
 * gates, and upstream's one-line errors for bad input.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'vitest';
import { ROOT, STAGE, checkpointOf, reportOf, runCli, sideEffects, startCli, tempDir, waitFor } from '../support/cli.js';

const SCRIPTED = join(ROOT, 'test', 'fixtures', 'scripted.sh');
const pairs = (report: any) => report.transitions.map((t: any) => [t.from_stage, t.to_stage]);
const records = (report: any) => report.stage_executions.map((e: any) => [e.stage, e.idempotency_key, e.command, e.status]);

/** A run dir with the scripted fixture's files; `env` for runCli. */
function scene() {
  const dir = tempDir('ao-loops-cli-');
  const out = join(dir, 'out');
  const effects = join(dir, 'effects.txt');
  return { dir, out, effects, env: { SIDE_EFFECTS: effects, CYCLE_FILE: join(dir, 'cycle') }, review: join(dir, 'review.json') };
}

describe.concurrent('execution attempts (--execution-max-iterations)', () => {
  it('retries a non-zero exit with the attempt in env and key, adapts the budget once, then records it exhausted', async ({ expect }) => {
    const s = scene();
    const executor = ['--executor-bin', SCRIPTED, '--executor-arg', 'executor', '--executor-arg', '-'];
    const fails = ['0.1', '0.2', '0.3'].flatMap((k) => ['--executor-arg', `${k}=fail`]);
    const result = await runCli([s.out, ...executor, ...fails, '--execution-max-iterations', '2'], { env: s.env });
    expect(result.exitCode).toBe(1);
    expect(sideEffects(s.effects)).toEqual(['execution 0.1', 'execution 0.2', 'execution 0.3']);
    const report = reportOf(s.out);
    expect(report.terminal_state).toBe('failed');
    expect(records(report)).toEqual([
      ['execution', 'stage:Execution:attempt:1', SCRIPTED, 'failed'],
      ['execution', 'stage:Execution:attempt:2', SCRIPTED, 'failed'],
      ['execution', 'stage:Execution:adaptive_policy', 'execution.policy.adapt', 'success'],
      ['execution', 'stage:Execution:attempt:3', SCRIPTED, 'failed'],
      ['execution', 'stage:Execution:budget', 'execution.iteration_budget', 'failed'],
    ]);
    const budget = report.stage_executions.at(-1);
    expect(budget.args).toEqual(['max_iterations_exhausted', '3']);
    expect(budget.error).toBe('Execution iteration budget exhausted after 3 attempt(s)');
    expect(report.stage_executions[0].env_keys).toContain('ORCHESTRATOR_EXECUTION_ATTEMPT');
    expect(report.adaptive_policy_decisions).toEqual([
      {
        action: 'increase_execution_budget',
        reason_code: 'ADAPTIVE_RETRY_BUDGET_INCREASED',
        trigger_signature: `stage=Execution;status=Failed;command=${SCRIPTED};exit=7`,
        previous_value: 2,
        new_value: 3,
      },
    ]);
    // Attempts do not add transitions: execution was entered once.
    expect(pairs(report)).toEqual([
      [null, 'planning'],
      ['planning', 'policy_ingestion'],
      ['policy_ingestion', 'execution'],
    ]);
  });

  it('passes on the attempt that succeeds, and never retries a timeout', async ({ expect }) => {
    const s = scene();
    const ok = await runCli([s.out, '--executor-bin', SCRIPTED, '--executor-arg', 'executor', '--executor-arg', '-', '--executor-arg', '0.1=fail', '--execution-max-iterations', '3'], { env: s.env });
    expect(ok.exitCode).toBe(0);
    expect(sideEffects(s.effects)).toEqual(['execution 0.1', 'execution 0.2']);
    expect(reportOf(s.out).adaptive_policy_decisions).toEqual([]);

    const t = scene();
    const slow = await runCli([t.out, '--executor-bin', STAGE, '--executor-arg', 'sleep', '--executor-arg', '20', '--timeout-ms', '300', '--execution-max-iterations', '3'], { env: t.env });
    expect(slow.exitCode).toBe(124);
    expect(records(reportOf(t.out))).toEqual([['execution', 'stage:Execution:attempt:1', STAGE, 'timeout']]);
  });
});

describe.concurrent('the validation stage', () => {
  it('runs native validations in order with their index, and stops at the first failure', async ({ expect }) => {
    const s = scene();
    const log = join(s.dir, 'validations.txt');
    const note = `echo "$ORCHESTRATOR_VALIDATION_COMMAND_INDEX $CHECK" >> ${log}`;
    const result = await runCli([
      s.out,
      '--validation-bin', 'sh', '--validation-arg', '-c', '--validation-arg', note, '--validation-env', 'CHECK=lint',
      '--validation-bin', 'sh', '--validation-arg', '-c', '--validation-arg', `${note}; exit 3`, '--validation-env', 'CHECK=test',
      '--validation-bin', 'sh', '--validation-arg', '-c', '--validation-arg', note,
    ]);
    expect(result.exitCode).toBe(1);
    expect(readFileSync(log, 'utf8')).toBe('1 lint\n2 test\n');
    const report = reportOf(s.out);
    expect(records(report)).toEqual([
      ['validation', 'stage:Validation:command:1', 'sh', 'success'],
      ['validation', 'stage:Validation:command:2', 'sh', 'failed'],
    ]);
    expect(report.stage_executions[1].env_keys).toEqual(['CHECK', 'ORCHESTRATOR_VALIDATION_COMMAND_INDEX']);
    expect(report.failure).toMatchObject({ stage: 'validation', status: 'failed' });
  });

  it('runs the reviewer instead of native validations when both are given', async ({ expect }) => {
    const s = scene();
    const result = await runCli([s.out, '--reviewer-bin', STAGE, '--reviewer-arg', 'ok', '--validation-bin', STAGE, '--validation-arg', 'fail'], { env: s.env });
    expect(result.exitCode).toBe(0);
    expect(records(reportOf(s.out))).toEqual([['validation', 'stage:Validation', STAGE, 'success']]);
  });
});

describe.concurrent('the remediation loop (--reviewer-remediation-max-cycles)', () => {
  it('the worked example: a reviewer asks for one fix, the executor gets it, the reviewer approves', async ({ expect }) => {
    const s = scene();
    const o = s.out;
    const result = await runCli([
      o,
      '--manager-bin', 'examples/manager.mjs', '--manager-arg', `${o}/manager`, '--manager-expected-artifact', `${o}/manager/action_plan.json`,
      '--executor-bin', 'examples/executor.mjs', '--executor-arg', `${o}/manager/action_plan.json`, '--executor-arg', `${o}/executor`,
      '--executor-expected-artifact', `${o}/executor/result.json`,
      '--reviewer-bin', 'examples/reviewer.mjs', '--reviewer-arg', `${o}/executor/result.json`, '--reviewer-arg', `${o}/reviewer/review.json`,
      '--reviewer-expected-artifact', `${o}/reviewer/review.json`,
      '--reviewer-remediation-max-cycles', '1',
    ]);
    expect(result.exitCode).toBe(0);
    const report = reportOf(o);
    expect(pairs(report)).toEqual([
      [null, 'planning'],
      ['planning', 'policy_ingestion'],
      ['policy_ingestion', 'execution'],
      ['execution', 'validation'],
      ['validation', 'execution'],
      ['execution', 'validation'],
      ['validation', 'closure'],
    ]);
    expect(report.stage_executions.map((e: any) => [e.idempotency_key, e.status])).toEqual([
      ['stage:Planning', 'success'],
      ['stage:Execution:attempt:1', 'success'],
      ['stage:Validation', 'failed'],
      ['stage:Execution:attempt:1', 'success'],
      ['stage:Validation', 'success'],
    ]);
    expect(report.stage_executions[3].env_keys).toEqual(['ORCHESTRATOR_EXECUTION_ATTEMPT', 'ORCHESTRATOR_REMEDIATION_CYCLE', 'ORCHESTRATOR_REMEDIATION_STEPS']);
    expect(report.reviewer_next_steps).toEqual(['P1 [MISSING_TEST] Add a test for the empty plan']);
    expect(JSON.parse(readFileSync(`${o}/executor/result.json`, 'utf8')).fixes).toEqual(['P1 [MISSING_TEST] Add a test for the empty plan']);
    expect(report.loops).toEqual({ execution_attempt: 1, execution_max_iterations: 1, remediation_cycle: 1, remediation_max_cycles: 1 });

    const shown = await runCli(['report', o]);
    expect(shown.stdout).toContain('  remediation cycle:  1 of 1\n');
    expect(shown.stdout).toContain('  reviewer next step: P1 [MISSING_TEST] Add a test for the empty plan\n');
    // Each cycle's logs are kept apart.
    expect(shown.stdout).toContain('execution.executor.attempt-2.stdout.log');
  });

  it('without the flag a failing reviewer ends the run; with it, the budget adapts once and then is exhausted', async ({ expect }) => {
    const s = scene();
    const args = (out: string) => [out, '--executor-bin', SCRIPTED, '--executor-arg', 'executor', '--executor-arg', '-',
      '--reviewer-bin', SCRIPTED, '--reviewer-arg', 'reviewer', '--reviewer-arg', s.review, '--reviewer-expected-artifact', s.review,
      ...['1', '2', '3'].flatMap((k) => ['--reviewer-arg', `${k}=fail`])];
    const plain = await runCli([...args(s.out), '--ci-status', 'success'], { env: s.env });
    expect(plain.exitCode).toBe(1);
    expect(sideEffects(s.effects)).toEqual(['execution 0.1', 'validation 1']);

    const t = scene();
    const looped = await runCli([...args(t.out).map((a) => (a === s.review ? t.review : a)), '--reviewer-remediation-max-cycles', '1'], { env: t.env });
    expect(looped.exitCode).toBe(1);
    expect(sideEffects(t.effects)).toEqual(['execution 0.1', 'validation 1', 'execution 1.1', 'validation 2', 'execution 2.1', 'validation 3']);
    const report = reportOf(t.out);
    const budget = report.stage_executions.at(-1);
    expect([budget.idempotency_key, budget.command, budget.args, budget.status, budget.error]).toEqual([
      'stage:Validation:remediation_budget',
      'remediation.cycle_budget',
      ['max_cycles_exhausted', '2'],
      'failed',
      'Remediation cycle budget exhausted after 2 cycle(s)',
    ]);
    expect(report.adaptive_policy_decisions.map((d: any) => [d.action, d.reason_code, d.previous_value, d.new_value])).toEqual([
      ['increase_remediation_cycles', 'ADAPTIVE_REMEDIATION_CYCLES_INCREASED', 1, 2],
    ]);
    expect(report.reviewer_next_steps).toEqual(['P1 [FIX] fix run 3']);
  });

  it('a run killed (SIGKILL) in cycle 2 resumes in cycle 2 and runs no finished program again', async ({ expect }) => {
    const s = scene();
    const started = join(s.dir, 'started');
    // The executor of cycle 2 announces itself, then hangs until killed.
    const hang = join(s.dir, 'hang.sh');
    writeFileSync(hang, `#!/bin/sh\n[ "$ORCHESTRATOR_REMEDIATION_CYCLE" = 2 ] && [ ! -e ${started}.done ] && { touch ${started}; touch ${started}.done; sleep 300; }\nexec ${SCRIPTED} "$@"\n`, { mode: 0o755 });
    const args = [s.out, '--executor-bin', hang, '--executor-arg', 'executor', '--executor-arg', '-',
      '--reviewer-bin', SCRIPTED, '--reviewer-arg', 'reviewer', '--reviewer-arg', s.review, '--reviewer-expected-artifact', s.review,
      '--reviewer-arg', '1=fail', '--reviewer-arg', '2=fail', '--reviewer-remediation-max-cycles', '2'];
    const first = startCli(args, { env: s.env });
    await waitFor(() => sideEffects(s.effects).length === 4 && readFileOr(started) !== null, 30_000, 'the executor of cycle 2');
    first.child.kill('SIGKILL');
    await first.done;
    expect(checkpointOf(s.out).snapshot.context.loops.remediationCycle).toBe(2);

    const resumed = await runCli([...args, '--resume'], { env: s.env });
    expect(resumed.exitCode).toBe(0);
    expect(sideEffects(s.effects)).toEqual(['execution 0.1', 'validation 1', 'execution 1.1', 'validation 2', 'execution 2.1', 'validation 3']);
    expect(reportOf(s.out).loops.remediation_cycle).toBe(2);
  });
});

function readFileOr(path: string): string | null {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return null;
  }
}

describe.concurrent('gates (--policy-status, --ci-status, --review-status)', () => {
  const executor = ['--executor-bin', STAGE, '--executor-arg', 'ok'];

  it('block after validation, before closure, with every decision and the failing codes; missing ones are fail-closed', async ({ expect }) => {
    const s = scene();
    const result = await runCli([s.out, ...executor, '--policy-status', 'allow'], { env: s.env });
    expect(result.exitCode).toBe(3);
    const report = reportOf(s.out);
    expect(report.terminal_state).toBe('blocked');
    expect(report.current_stage).toBe('validation');
    expect(pairs(report).map((p: string[]) => p[1])).not.toContain('closure');
    expect(report.gate_decisions).toEqual([
      { gate: 'policy', status: 'allow', passed: true, reason_code: null },
      { gate: 'ci', status: 'missing', passed: false, reason_code: 'GATE_CI_NOT_SUCCESS' },
      { gate: 'review', status: 'missing', passed: false, reason_code: 'GATE_REVIEW_NOT_APPROVED' },
    ]);
    expect(report.blocked_reason_codes).toEqual(['GATE_CI_NOT_SUCCESS', 'GATE_REVIEW_NOT_APPROVED']);
    expect(report.blocked).toEqual({ reason: 'gates', stage: 'validation', gate: null });
    expect(checkpointOf(s.out).terminal_state).toBe('blocked');

    // Resumed with the gates passing: closure, done, and the executor does not run again.
    const resumed = await runCli([s.out, ...executor, '--resume', '--policy-status', 'allow', '--ci-status', 'success', '--review-status', 'approved'], { env: s.env });
    expect(resumed.exitCode).toBe(0);
    expect(reportOf(s.out).terminal_state).toBe('done');
    expect(sideEffects(s.effects)).toEqual(['execution 1']);
  });

  it('pass into closure; --simulate-blocked then blocks after them', async ({ expect }) => {
    const pass = ['--policy-status', 'allow', '--ci-status', 'success', '--review-status', 'approved'];
    const s = scene();
    expect((await runCli([s.out, ...executor, ...pass])).exitCode).toBe(0);
    expect(reportOf(s.out).blocked_reason_codes).toEqual([]);
    const t = scene();
    expect((await runCli([t.out, ...executor, ...pass, '--simulate-blocked'])).exitCode).toBe(3);
    expect(reportOf(t.out).blocked).toEqual({ reason: 'simulated', stage: 'validation', gate: null });
  });
});

describe.concurrent('hard gates', () => {
  it('with a gate flag, block before planning on the built-in deny list: no transitions, nothing run', async ({ expect }) => {
    const s = scene();
    const result = await runCli([s.out, '--executor-bin', STAGE, '--executor-arg', 'ok', '--executor-arg', 'x-drop-database', '--ci-status', 'success'], { env: s.env });
    expect(result.exitCode).toBe(3);
    const report = reportOf(s.out);
    expect(report.transitions).toEqual([]);
    expect(report.current_stage).toBeNull();
    expect(report.hard_gate_results).toHaveLength(8);
    expect(report.hard_gate_results.filter((r: any) => !r.passed)).toEqual([
      { id: 'builtin-infra-2', passed: false, reason_code: 'HARD_GATE_INFRA_DESTRUCTIVE_OPERATION' },
    ]);
    expect(report.blocked_reason_codes).toEqual(['HARD_GATE_INFRA_DESTRUCTIVE_OPERATION']);
    expect(sideEffects(s.effects)).toEqual([]);
    expect(checkpointOf(s.out).terminal_state).toBe('blocked');
  });

  it('--hard-gates-file adds rules; an unreadable or invalid file blocks with HARD_GATE_EXTERNAL_RULES_LOAD_FAILED', async ({ expect }) => {
    const s = scene();
    const rules = join(s.dir, 'rules.json');
    writeFileSync(rules, JSON.stringify([{ id: 'no-prod', category: 'infra_destructive', pattern: 'PROD', mode: 'match_any_invocation_arg' }]));
    const blocked = await runCli([s.out, '--executor-bin', STAGE, '--executor-arg', 'ok', '--executor-arg', 'deploy-prod', '--hard-gates-file', rules], { env: s.env });
    expect(blocked.exitCode).toBe(3);
    expect(reportOf(s.out).hard_gate_results.at(-1)).toEqual({ id: 'no-prod', passed: false, reason_code: 'HARD_GATE_INFRA_DESTRUCTIVE_OPERATION' });

    const t = scene();
    writeFileSync(rules, JSON.stringify([{ id: '', category: 'auth', pattern: 'x' }]));
    const bad = await runCli([t.out, '--executor-bin', STAGE, '--executor-arg', 'ok', '--hard-gates-file', rules], { env: t.env });
    expect(bad.exitCode).toBe(3);
    expect(reportOf(t.out).blocked_reason_codes).toEqual(['HARD_GATE_EXTERNAL_RULES_LOAD_FAILED']);
    expect(sideEffects(t.effects)).toEqual([]);
  });

  it('are not evaluated without a later gate flag (the seed run is unchanged)', async ({ expect }) => {
    const s = scene();
    const result = await runCli([s.out, '--executor-bin', STAGE, '--executor-arg', 'ok', '--executor-arg', 'drop-database'], { env: s.env });
    expect(result.exitCode).toBe(0);
    const report = reportOf(s.out);
    for (const field of ['gate_decisions', 'hard_gate_results', 'blocked_reason_codes', 'loops']) expect(report).not.toHaveProperty(field);
    expect(checkpointOf(s.out).snapshot.context).not.toHaveProperty('loops');
  });
});

describe.concurrent('the report once any later flag is given', () => {
  it('carries every later field, empty or null where unused', async ({ expect }) => {
    const s = scene();
    expect((await runCli([s.out, '--execution-max-iterations', '1'])).exitCode).toBe(0);
    const report = reportOf(s.out);
    const lists = [
      'gate_decisions', 'hard_gate_results', 'blocked_reason_codes', 'reviewer_next_steps', 'reviewer_verdicts', 'decision_rationale_codes',
      'decision_contributions', 'decision_reliability_factors', 'decision_reliability_updates', 'adaptive_policy_decisions', 'auto_fix_attempts',
      'provenance_records', 'escalation_cases', 'rollout_steps', 'risk_signals',
    ];
    const nulls = ['review_ensemble_result', 'final_decision', 'decision_confidence', 'decision_threshold', 'rollback_decision', 'pr_risk_breakdown', 'planner_path_record', 'risk_tier'];
    for (const field of lists) expect(report[field], field).toEqual([]);
    for (const field of nulls) expect(report[field], field).toBeNull();
    expect(report.provenance_schema_version).toBe('1');
  });
});

describe.concurrent('bad input: exit 2, upstream\'s one line, no stack trace', () => {
  const cases: [string[], string][] = [
    [['--execution-max-iterations', '0'], 'Invalid --execution-max-iterations value: must be >= 1'],
    [['--validation-arg', 'x'], '--validation-arg requires a preceding --validation-bin'],
    [['--validation-env', 'A=1'], '--validation-env requires a preceding --validation-bin'],
    [['--validation-bin'], '--validation-bin requires a value'],
    [['--validation-bin', 'true', '--validation-env', 'NOEQUALS'], "Invalid env pair 'NOEQUALS', expected KEY=VALUE"],
    [['--reviewer-env', 'NOEQUALS'], "Invalid env pair 'NOEQUALS', expected KEY=VALUE"],
  ];
  for (const [args, message] of cases) {
    it(args.join(' '), async ({ expect }) => {
      const dir = tempDir('ao-loops-bad-');
      const result = await runCli([join(dir, 'out'), ...args]);
      expect(result.exitCode).toBe(2);
      expect(result.stderr.split('\n')[0]).toBe(`autonomy-orchestrator: ${message}`);
      expect(result.stderr).not.toMatch(/\n\s+at /);
    });
  }

  it('never echoes the value of a bad env pair', async ({ expect }) => {
    const result = await runCli([join(tempDir('ao-loops-bad-'), 'out'), '--reviewer-env', '=s3cret-value']);
    expect(result.exitCode).toBe(2);
    expect(result.stderr).not.toContain('s3cret-value');
  });
});

describe.concurrent('a plan declares the same loops and gates', () => {
  it('attempts, a reviewer step and its cycles, gates; a later flag given on the command line wins', async ({ expect }) => {
    const s = scene();
    const plan = join(s.dir, 'plan.json');
    writeFileSync(
      plan,
      JSON.stringify({
        loops: { executionMaxIterations: 2, adaptive: false, reviewerStep: 'review', reviewerRemediationMaxCycles: 1, policyStatus: 'allow', ciStatus: 'success', reviewStatus: 'approved' },
        stages: {
          execution: [{ id: 'build', bin: SCRIPTED, args: ['executor', '-', '0.1=fail'], env: s.env }],
          validation: [{ id: 'review', bin: SCRIPTED, args: ['reviewer', s.review, '1=fail'], env: s.env, expectedArtifacts: [s.review] }],
        },
      }),
    );
    const result = await runCli([s.out, '--plan', plan]);
    expect(result.exitCode).toBe(0);
    expect(sideEffects(s.effects)).toEqual(['execution 0.1', 'execution 0.2', 'validation 1', 'execution 1.1', 'validation 2']);
    expect(reportOf(s.out).adaptive_policy_decisions).toEqual([]);

    const blocked = await runCli([s.out, '--plan', plan, '--ci-status', 'failure']);
    expect(blocked.exitCode).toBe(3);
    expect(reportOf(s.out).blocked_reason_codes).toEqual(['GATE_CI_NOT_SUCCESS']);
  });
});

describe.concurrent("the planner output in the manager's JSON artifacts", () => {
  const manager = (artifact: string, json: string) => ['--manager-bin', 'sh', '--manager-arg', '-c', '--manager-arg', `printf '%s' '${json}' > ${artifact}`, '--manager-expected-artifact', artifact];
  const executor = ['--executor-bin', SCRIPTED, '--executor-arg', 'executor', '--executor-arg', '-', '--executor-arg', '0.1=fail'];

  it('sets the budgets of later stages (with any later flag)', async ({ expect }) => {
    const s = scene();
    const plan = join(s.dir, 'plan.json');
    const result = await runCli([s.out, ...manager(plan, '{"planner_output":{"execution_max_iterations":2}}'), ...executor, '--reviewer-remediation-max-cycles', '0'], { env: s.env });
    expect(result.exitCode).toBe(0);
    expect(sideEffects(s.effects)).toEqual(['execution 0.1', 'execution 0.2']);
    const report = reportOf(s.out);
    expect(records(report).slice(0, 2)).toEqual([
      ['planning', 'stage:Planning', 'sh', 'success'],
      ['planning', 'stage:Planning:planner_output', 'planning.planner_output.apply', 'success'],
    ]);
    expect(report.stage_executions[1].args).toEqual([plan]);
    expect(report.loops.execution_max_iterations).toBe(2);

    // Without a later flag the artifact is only an artifact: one attempt, the run fails.
    const t = scene();
    const plain = await runCli([t.out, ...manager(join(t.dir, 'plan.json'), '{"execution_max_iterations":2}'), '--executor-bin', STAGE, '--executor-arg', 'fail'], { env: t.env });
    expect(plain.exitCode).toBe(1);
    expect(sideEffects(t.effects)).toEqual(['execution 1']);
    expect(reportOf(t.out)).not.toHaveProperty('loops');
  });

  it("fails planning with upstream's message for a bad value", async ({ expect }) => {
    for (const [json, error] of [
      ['{"execution_max_iterations":0}', 'Planner output execution_max_iterations must be >= 1 when provided'],
      ['{"remediation_steps":"fix it"}', "Invalid planner output artifact '%s': remediation_steps must be an array"],
      ['{"validation_commands":[{"args":[]}]}', "Invalid planner output artifact '%s': validation_commands[].command must be a string"],
      ['{"planner_output":{"validation_commands":[{"command":"true","args":"-x"}]}}', "Invalid planner output artifact '%s': validation_commands[].args must be an array"],
    ]) {
      const s = scene();
      const plan = join(s.dir, 'plan.json');
      const result = await runCli([s.out, ...manager(plan, json!), ...executor, '--ci-status', 'success'], { env: s.env });
      expect(result.exitCode).toBe(1);
      const last = reportOf(s.out).stage_executions.at(-1);
      expect([last.command, last.status]).toEqual(['planning.planner_output.apply', 'failed']);
      expect(last.error).toBe(error!.replace('%s', plan));
      expect(sideEffects(s.effects)).toEqual([]);
    }
  });
});

describe.concurrent("the planner's validation_commands", () => {
  /** A manager that copies `json` (written here) to its artifact. */
  function planner(s: ReturnType<typeof scene>, json: unknown) {
    const source = join(s.dir, 'planner-source.json');
    const artifact = join(s.dir, 'planner.json');
    writeFileSync(source, JSON.stringify(json));
    return { artifact, args: ['--manager-bin', 'sh', '--manager-arg', '-c', '--manager-arg', `cp ${source} ${artifact}`, '--manager-expected-artifact', artifact] };
  }

  it("run after the command line's native validations, numbered on, a duplicate left out; a failed run resumes past the ones that passed", async ({ expect }) => {
    const s = scene();
    const log = join(s.dir, 'validations.txt');
    const flag = join(s.dir, 'fixed');
    const note = (name: string) => `echo "$ORCHESTRATOR_VALIDATION_COMMAND_INDEX ${name}" >> ${log}`;
    const cli = ['sh', '-c', note('lint')];
    const { args } = planner(s, {
      planner_output: {
        validation_commands: [
          { command: 'sh', args: ['-c', note('lint')] }, // the command line's: left out
          { command: 'sh', args: ['-c', `${note('test')}; test -f ${flag}`] },
          { command: 'sh', args: ['-c', note('docs')] },
        ],
      },
    });
    const argv = [s.out, ...args, '--validation-bin', cli[0]!, '--validation-arg', cli[1]!, '--validation-arg', cli[2]!];
    const failed = await runCli(argv);
    expect(failed.exitCode).toBe(1);
    expect(readFileSync(log, 'utf8')).toBe('1 lint\n2 test\n');
    const report = reportOf(s.out);
    expect(records(report).slice(1)).toEqual([
      ['planning', 'stage:Planning:planner_output', 'planning.planner_output.apply', 'success'],
      ['validation', 'stage:Validation:command:1', 'sh', 'success'],
      ['validation', 'stage:Validation:command:2', 'sh', 'failed'],
    ]);
    expect(report.stage_executions[3].env_keys).toEqual(['ORCHESTRATOR_VALIDATION_COMMAND_INDEX']);

    // Fixed, resumed: the manager and the passed validation do not run again; the planner's commands are kept in the checkpoint.
    writeFileSync(flag, '');
    const resumed = await runCli([...argv, '--resume']);
    expect(resumed.exitCode).toBe(0);
    expect(readFileSync(log, 'utf8')).toBe('1 lint\n2 test\n2 test\n3 docs\n');
    expect(records(reportOf(s.out)).filter((r: string[]) => r[0] === 'planning' || r[3] !== 'skipped')).toEqual([
      ['planning', 'stage:Planning', 'sh', 'skipped'],
      ['validation', 'stage:Validation:command:2', 'sh', 'success'],
      ['validation', 'stage:Validation:command:3', 'sh', 'success'],
    ]);
  });

  it('are not run when a reviewer validates (the reviewer takes precedence, as over the command line\'s)', async ({ expect }) => {
    const s = scene();
    const { args } = planner(s, { validation_commands: [{ command: STAGE, args: ['fail'] }] });
    const result = await runCli([s.out, ...args, '--reviewer-bin', STAGE, '--reviewer-arg', 'ok'], { env: s.env });
    expect(result.exitCode).toBe(0);
    expect(records(reportOf(s.out)).filter((r: string[]) => r[0] === 'validation')).toEqual([['validation', 'stage:Validation', STAGE, 'success']]);
  });
});
