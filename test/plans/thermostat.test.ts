/**
 * The ROI thermostat through the CLI, with real fixture steps that write their cost and value to
 * $ORCHESTRATOR_COST_FILE: concurrency goes down as the payoff falls, the run halts blocked
 * (ROI_BELOW_FLOOR, exit 3), stays halted on a bare --resume, and goes on with a lower floor.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { checkpointOf, reportOf, runCli, tempDir } from '../support/cli.js';
import { type TraceLine, fixtureStep, recordsOf, startsOf, traceOf, writePlan } from './plan-runs.js';

const THERMOSTAT = { window: 3, target: 0.5, floor: -0.5, minConcurrency: 1, maxConcurrency: 3, cooldownSteps: 1 };
/** Each step costs 10; what it returns falls from 40 to nothing. */
const PAYOFFS = [40, 40, 30, 20, 12, 8, 4, 2, 0, 0, 0, 0, 0, 0];

function setUp(thermostat: Record<string, number> = THERMOSTAT, payoffs = PAYOFFS) {
  const dir = tempDir('ao-thermostat-');
  const out = join(dir, 'out');
  const trace = join(dir, 'trace.jsonl');
  const steps = payoffs.map((value, i) => fixtureStep(`agent${i}`, trace, { sleep: 100, cost: 10, value }));
  const plan = writePlan(dir, { thermostat, stages: { execution: steps, closure: [fixtureStep('announce', trace)] } });
  return {
    dir,
    out,
    run: (flags: string[] = [], env: Record<string, string> = {}) => runCli([out, '--plan', plan, '--kill-grace-ms', '300', ...flags], { env }),
    starts: () => startsOf(traceOf(trace)),
    trace: () => traceOf(trace),
  };
}

/** Steps that started after `atMs` never overlap one another (concurrency 1 from then on). */
function overlapping(trace: TraceLine[], atMs: number): string[] {
  const spans = startsOf(trace)
    .filter((start) => start.at > atMs)
    .map((start) => ({ step: start.step, from: start.at, to: trace.find((t) => t.event === 'end' && t.step === start.step)?.at ?? Infinity }));
  return spans.filter((a) => spans.some((b) => a !== b && a.from < b.to && b.from < a.to)).map((s) => s.step);
}

describe('the ROI thermostat', () => {
  it('lowers the concurrency as the payoff falls, halts blocked below the floor, and --resume with a lower floor goes on', async () => {
    const run = setUp();
    const first = await run.run(['--json']);
    expect(first.exitCode).toBe(3);
    expect(first.stderr).toContain('ROI_BELOW_FLOOR');
    expect(first.stderr.trim().split('\n')).toHaveLength(3); // two result lines, then the reason
    let report = reportOf(run.out);
    expect(report.terminal_state).toBe('blocked');
    expect(report.blocked).toEqual({ reason: 'roi_below_floor', stage: 'execution', gate: null });

    // Every execution records what its step reported.
    const executed = report.stage_executions.filter((e: any) => e.stage === 'execution');
    for (const record of executed) expect([record.cost, record.value]).toEqual([10, PAYOFFS[Number(record.step.slice(5))]]);

    // The decisions: down a step at a time to the minimum, then the halt.
    const { decisions } = report.thermostat;
    const moves = decisions.map((d: any) => [d.from, d.to, d.reason]);
    expect(moves).toEqual([
      [3, 2, 'below_target'],
      [2, 1, 'below_target'],
      [1, 1, 'below_floor'],
    ]);
    expect(decisions.map((d: any) => d.seq)).toEqual([1, 2, 3]);
    for (const d of decisions) {
      expect(d.why.length).toBeGreaterThan(0);
      expect(d.at_unix_ms).toBeGreaterThanOrEqual(report.started_at_unix_ms);
    }
    const halt = decisions.at(-1);
    expect(halt.state).toBe('halted');
    expect(halt.roi).toBeLessThan(-0.5);
    expect(report.thermostat).toMatchObject({ state: 'halted', concurrency: 1, spent: executed.length * 10 });

    // The same decisions went out on --json as they were made.
    const events = first.stdout.trim().split('\n').map((line) => JSON.parse(line));
    expect(events.filter((e) => e.type === 'thermostat').map((e) => e.decision)).toEqual(decisions);

    // At concurrency 1, the steps started afterwards ran one at a time; the later steps never ran.
    expect(overlapping(run.trace(), decisions[1].at_unix_ms)).toEqual([]);
    const ran = run.starts().length;
    expect(ran).toBe(executed.length);
    expect(ran).toBeLessThan(PAYOFFS.length);

    // The checkpoint holds the halt and the thermostat (its window and concurrency).
    const checkpoint = checkpointOf(run.out);
    expect(checkpoint.terminal_state).toBe('blocked');
    expect(checkpoint.snapshot.value).toBe('roi_below_floor');
    expect(checkpoint.snapshot.context.thermostat).toMatchObject({ state: 'halted', context: { concurrency: 1 } });
    expect(checkpoint.snapshot.context.thermostat.context.samples).toHaveLength(3);

    // Nothing changed: it halts again at once and runs nothing.
    const again = await run.run(['--resume']);
    expect(again.exitCode).toBe(3);
    expect(reportOf(run.out).blocked).toEqual({ reason: 'roi_below_floor', stage: 'execution', gate: null });
    expect(run.starts()).toHaveLength(ran);

    // A lower floor (from the settings, over the plan's): the run goes on where it was, at concurrency 1.
    const resumed = await run.run(['--resume'], { ORCHESTRATOR_THERMOSTAT: '{"floor": -2}' });
    expect(resumed.exitCode).toBe(0);
    report = reportOf(run.out);
    expect(report.terminal_state).toBe('done');
    expect(report.blocked).toBeNull();
    expect(report.thermostat.settings.floor).toBe(-2);
    expect(report.thermostat.decisions.slice(0, 3)).toEqual(decisions);
    expect(report.thermostat.decisions.at(-1)).toMatchObject({ reason: 'resumed', from: 1, to: 1, state: 'steady' });
    expect(run.starts()).toHaveLength(PAYOFFS.length + 1);
    expect(overlapping(run.trace(), decisions[1].at_unix_ms)).toEqual([]);
    expect(recordsOf(report, 'announce')).toHaveLength(1);
  });

  it('takes fee and burn from the settings: net ROI keeps what they leave', async () => {
    const thermostat = { window: 3, target: 0, floor: -1, minConcurrency: 1, maxConcurrency: 1, cooldownSteps: 0 };
    const run = setUp(thermostat, [20, 20, 20]);
    expect((await run.run()).exitCode).toBe(0);
    let shown = reportOf(run.out).thermostat;
    expect(shown.settings).toMatchObject({ feePct: 5, burnPct: 2 });
    expect(shown.roi).toBeCloseTo((60 * 0.93 - 30) / 30, 10);
    expect([shown.spent, shown.value]).toEqual([30, 60]);

    writeFileSync(join(run.dir, 'autonomy-orchestrator.config.json'), JSON.stringify({ feePct: 30 }));
    const again = setUp(thermostat, [20, 20, 20]);
    expect((await runCli([again.out, '--plan', join(again.dir, 'plan.json'), '--config', join(run.dir, 'autonomy-orchestrator.config.json')], { env: { ORCHESTRATOR_BURN_PCT: '20' } })).exitCode).toBe(0);
    shown = reportOf(again.out).thermostat;
    expect(shown.settings).toMatchObject({ feePct: 30, burnPct: 20 });
    expect(shown.roi).toBeCloseTo((60 * 0.5 - 30) / 30, 10);
  });

  it('status shows spent, value, ROI and concurrency', async () => {
    const run = setUp();
    const store = `file:${join(run.dir, 'state')}`;
    expect((await run.run(['--store', store, '--run-id', 'roi_run'])).exitCode).toBe(3);
    const json = await runCli(['status', '--store', store, '--json']);
    expect(json.exitCode).toBe(0);
    const [row] = json.stdout.trim().split('\n').map((line) => JSON.parse(line));
    const report = reportOf(run.out);
    expect(row).toMatchObject({ run_id: 'roi_run', spent: report.cost.spent, value: report.thermostat.value, concurrency: 1 });
    expect(row.roi).toBeCloseTo(report.thermostat.roi, 3);
    const table = await runCli(['status', '--store', store]);
    expect(table.stdout).toMatch(/^run_id\s+state\s+stage\s+started\s+duration_s\s+attempts\s+worker\s+spent\s+value\s+roi\s+concurrency\n/);
    expect(table.stdout).toMatch(new RegExp(`roi_run\\s+blocked\\s+execution\\s.*\\s${report.cost.spent}\\s+${report.thermostat.value}\\s+-?[\\d.]+\\s+1\\n`));
  });

  it('report prints the thermostat and its decisions', async () => {
    const run = setUp();
    await run.run();
    const printed = await runCli(['report', run.out]);
    expect(printed.exitCode).toBe(0);
    expect(printed.stdout).toContain('Blocked: roi_below_floor in execution');
    expect(printed.stdout).toMatch(/Thermostat:\n {2}settings: {4}window 3, target 0.5, floor -0.5, concurrency 1..3/);
    expect(printed.stdout).toMatch(/ 3 -> 2 {2}cooling .*below the target/);
    expect(printed.stdout).toMatch(/ 1 -> 1 {2}halted .*ROI_BELOW_FLOOR/);
  });
});

describe('thermostat settings', () => {
  it('config shows fee, burn and thermostat with their sources', async () => {
    const dir = tempDir();
    writeFileSync(join(dir, 'autonomy-orchestrator.config.json'), JSON.stringify({ burnPct: 3, thermostat: { floor: -0.2 } }));
    const result = await runCli(['config', '--json'], { cwd: dir, env: { ORCHESTRATOR_FEE_PCT: '7.5' } });
    expect(result.exitCode).toBe(0);
    const settings = JSON.parse(result.stdout);
    expect(settings.feePct).toEqual({ value: 7.5, source: 'environment ORCHESTRATOR_FEE_PCT' });
    expect(settings.burnPct).toEqual({ value: 3, source: `config file ${join(dir, 'autonomy-orchestrator.config.json')}` });
    expect(settings.thermostat).toEqual({ value: '{"floor":-0.2}', source: `config file ${join(dir, 'autonomy-orchestrator.config.json')}` });
    const defaults = JSON.parse((await runCli(['config', '--json'], { cwd: tempDir() })).stdout);
    expect(defaults.feePct).toEqual({ value: 5, source: 'default' });
    expect(defaults.burnPct).toEqual({ value: 2, source: 'default' });
  });

  it('refuses a percentage outside [0, 100] or a bad thermostat with one line and exit 2', async () => {
    const cases: [Record<string, string>, RegExp][] = [
      [{ ORCHESTRATOR_FEE_PCT: '101' }, /^autonomy-orchestrator: environment ORCHESTRATOR_FEE_PCT: expected a percentage from 0 to 100\n$/],
      [{ ORCHESTRATOR_BURN_PCT: '-1' }, /^autonomy-orchestrator: environment ORCHESTRATOR_BURN_PCT: expected a percentage from 0 to 100\n$/],
      [{ ORCHESTRATOR_THERMOSTAT: '{"window": 0}' }, /^autonomy-orchestrator: environment ORCHESTRATOR_THERMOSTAT: window: expected 1 or more\n$/],
      [{ ORCHESTRATOR_THERMOSTAT: 'floor=1' }, /^autonomy-orchestrator: environment ORCHESTRATOR_THERMOSTAT: expected a JSON object of thermostat fields\n$/],
    ];
    for (const [env, message] of cases) {
      const result = await runCli(['config'], { env, cwd: tempDir() });
      expect(result.exitCode).toBe(2);
      expect(result.stderr).toMatch(message);
    }
  });

  it('refuses a plan whose thermostat cannot work, naming the field', async () => {
    const dir = tempDir();
    const plan = writePlan(dir, { thermostat: { minConcurrency: 5, maxConcurrency: 2 }, stages: {} });
    const result = await runCli([join(dir, 'out'), '--plan', plan]);
    expect(result.exitCode).toBe(2);
    expect(result.stderr).toBe(`autonomy-orchestrator: plan ${plan}: thermostat.minConcurrency: 5 is above maxConcurrency 2\n`);
    const lowFloor = await runCli([join(dir, 'out'), '--plan', writePlan(dir, { stages: {} }, 'empty.json')], {
      env: { ORCHESTRATOR_THERMOSTAT: '{"floor": 2, "target": 1}' },
    });
    expect(lowFloor.exitCode).toBe(2);
    expect(lowFloor.stderr).toBe('autonomy-orchestrator: thermostat: floor: 2 is above target 1\n');
  });

  it('a run without a thermostat keeps the report it had: no thermostat, no value on records that report none', async () => {
    const dir = tempDir();
    const trace = join(dir, 'trace.jsonl');
    const plan = writePlan(dir, { stages: { execution: [fixtureStep('plain', trace, { cost: 3 }), fixtureStep('paid', trace, { cost: 2, value: 9 })] } });
    expect((await runCli([join(dir, 'out'), '--plan', plan])).exitCode).toBe(0);
    const report = reportOf(join(dir, 'out'));
    expect('thermostat' in report).toBe(false);
    expect('value' in recordsOf(report, 'plain')[0]).toBe(false);
    expect(recordsOf(report, 'paid')[0]).toMatchObject({ cost: 2, value: 9 });
    expect('thermostat' in checkpointOf(join(dir, 'out')).snapshot.context).toBe(false);
  });
});

describe('the example plan (examples/plans/roi-thermostat.json)', () => {
  it('slows down as the agents pay less, halts below the floor, and finishes when resumed with a new floor', async () => {
    const out = join(tempDir('ao-roi-example-'), 'out');
    const plan = 'examples/plans/roi-thermostat.json';
    const env = { EXAMPLE_AGENT_MS: '100' };
    const first = await runCli([out, '--plan', plan], { env });
    expect(first.exitCode).toBe(3);
    let report = reportOf(out);
    expect(report.blocked.reason).toBe('roi_below_floor');
    const down = report.thermostat.decisions.filter((d: any) => d.reason === 'below_target');
    expect(down.length).toBeGreaterThan(0);
    for (const d of down) expect(d.to).toBe(d.from - 1);
    expect(report.thermostat.decisions.at(-1).reason).toBe('below_floor');
    expect(report.stage_executions.filter((e: any) => e.stage === 'execution').length).toBeLessThan(16);

    const resumed = await runCli([out, '--plan', plan, '--resume'], { env: { ...env, ORCHESTRATOR_THERMOSTAT: '{"floor": -1}' } });
    expect(resumed.exitCode).toBe(0);
    report = reportOf(out);
    expect(report.terminal_state).toBe('done');
    const executed = [...report.earlier_stage_executions, ...report.stage_executions].filter((e: any) => e.stage === 'execution' && e.status === 'success');
    expect(executed.map((e: any) => e.step).sort()).toEqual(Array.from({ length: 16 }, (_, i) => `task${i + 1}`).sort());
  });
});
