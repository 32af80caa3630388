import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { LiveStageList } from '../../src/cli/progress.js';
import { runEventSchema } from '../../src/inspect/run-events.js';
import { urlIn } from '../support/browser.js';
import { fixtureStep, startsOf, traceOf, writePlan } from '../plans/plan-runs.js';
import { STAGE, reportOf, runCli, startCli, tempDir, waitFor } from '../support/cli.js';

const OK = ['--manager-bin', STAGE, '--manager-arg', 'ok', '--executor-bin', STAGE, '--executor-arg', 'ok'];

describe('--json', () => {
  it('writes one JSON object per event to stdout, matching the report, and nothing else there', async () => {
    const dir = tempDir();
    const outcome = await runCli([dir, '--json', ...OK]);
    expect(outcome.exitCode).toBe(0);
    const events = outcome.stdout
      .split('\n')
      .filter(Boolean)
      .map((line) => runEventSchema().parse(JSON.parse(line)));
    const report = reportOf(dir);
    const transitions = events.filter((e) => e.type === 'transition');
    expect(transitions.map((t) => [t.from_stage, t.to_stage, t.event])).toEqual(
      report.transitions.map((t: any) => [t.from_stage, t.to_stage, t.event]),
    );
    expect(events.filter((e) => e.type === 'stage_finished').map((e) => [e.stage, e.status])).toEqual([
      ['planning', 'success'],
      ['policy_ingestion', 'success'],
      ['execution', 'success'],
      ['validation', 'success'],
      ['closure', 'success'],
    ]);
    expect(events.at(-2)).toMatchObject({ type: 'terminal', terminal_state: 'done', run_id: report.run_id });
    expect(events.at(-1)).toMatchObject({ type: 'run_finished', terminal_state: 'done', exit_code: 0, report_path: join(dir, 'orchestrator_run_report.json') });
    expect(outcome.stderr).toBe(`Run report: ${join(dir, 'orchestrator_run_report.json')}\nTerminal state: done\n`);
  });
});

describe('progress off a TTY', () => {
  it('is one stable line per transition on stderr, the same on every run', async () => {
    const args = ['--simulate-blocked', '--manager-bin', STAGE, '--manager-arg', 'ok'];
    const first = await runCli([tempDir(), ...args]);
    const second = await runCli([tempDir(), ...args]);
    expect(first.exitCode).toBe(3);
    expect(first.stderr).toBe(
      [
        'run -> planning',
        'planning (success) -> policy_ingestion',
        'policy_ingestion (success) -> execution',
        'execution (success) -> validation',
        'validation (success) => blocked',
        '',
      ].join('\n'),
    );
    expect(second.stderr).toBe(first.stderr);
  });

  it('names the failed stage and its status', async () => {
    const outcome = await runCli([tempDir(), '--manager-bin', STAGE, '--manager-arg', 'fail']);
    expect(outcome.exitCode).toBe(1);
    expect(outcome.stderr).toBe(
      'run -> planning\nplanning (failed) => failed\nautonomy-orchestrator: stage planning ended failed (step manager): Command exited with code 7\n',
    );
  });
});

describe('progress on a TTY', () => {
  it('redraws a list of the stages in place: waiting, running with elapsed time, done, failed', () => {
    let now = 1_000_000;
    const frames: string[] = [];
    const list = new LiveStageList({ write: (text: string) => frames.push(text), isTTY: true }, () => now);
    list.onEvent({ type: 'transition', run_id: 'r', from_stage: null, to_stage: 'planning', event: 'xstate.init', timestamp_unix_ms: now });
    now += 1500;
    expect(list.lines()).toEqual([
      '  ● planning          running 1.5s',
      '  ○ policy_ingestion  waiting',
      '  ○ execution         waiting',
      '  ○ validation        waiting',
      '  ○ closure           waiting',
    ]);
    list.onEvent({ type: 'stage_finished', run_id: 'r', stage: 'planning', status: 'success', error: null, timestamp_unix_ms: now });
    list.onEvent({ type: 'transition', run_id: 'r', from_stage: 'planning', to_stage: 'policy_ingestion', event: 'e', timestamp_unix_ms: now });
    list.onEvent({ type: 'stage_finished', run_id: 'r', stage: 'policy_ingestion', status: 'timeout', error: 'x', timestamp_unix_ms: now + 200 });
    list.onEvent({ type: 'terminal', run_id: 'r', terminal_state: 'timeout', timestamp_unix_ms: now + 200 });
    list.close();
    expect(list.lines()).toEqual([
      '  ✔ planning          done 1.5s',
      '  ✗ policy_ingestion  failed (timeout) 0.2s',
      '  ○ execution         not run',
      '  ○ validation        not run',
      '  ○ closure           not run',
      '  run ended: timeout',
    ]);
    // Each frame after the first moves the cursor back over the previous one and clears each line.
    const ESC = '\x1b';
    expect(frames[0]?.startsWith(`${ESC}[2K  `)).toBe(true);
    expect(frames[1]?.startsWith(`${ESC}[5F${ESC}[2K  `)).toBe(true);
    expect(frames.at(-1)?.startsWith(`${ESC}[6F`)).toBe(true); // the frame before it had the run-ended line too
  });
});

describe('autonomy-orchestrator report <output_dir>', () => {
  it('prints the stages, statuses, durations, errors and log paths of a run', async () => {
    const dir = tempDir();
    await runCli([dir, '--manager-bin', STAGE, '--manager-arg', 'ok', '--executor-bin', STAGE, '--executor-arg', 'fail', '--executor-arg', '4']);
    const outcome = await runCli(['report', dir]);
    expect(outcome.exitCode).toBe(0);
    expect(outcome.stderr).toBe('');
    const text = outcome.stdout;
    const report = reportOf(dir);
    expect(text).toContain(`Run ${report.run_id}`);
    expect(text).toContain('terminal state: failed');
    expect(text).toMatch(/planning\/manager {11}success {10}exit 0 +\d+\.\d\d s {2}attempt 1/);
    expect(text).toMatch(/execution\/executor {9}failed {11}exit 4 +\d+\.\d\d s {2}attempt 1/);
    expect(text).toMatch(/^ {2}policy_ingestion +no program \(passes through\)$/m);
    expect(text).toMatch(/^ {2}validation +not reached$/m);
    expect(text).toContain(`stderr: ${join(dir, 'logs', 'execution.executor.attempt-1.stderr.log')}`);
    expect(text).toContain('Failure: stage execution ended failed (step executor): Command exited with code 4');
    expect(text).toMatch(/Event log: {2}.*orchestrator_events\.jsonl \(\d+ events\)/);
  });

  it('shows every step a killed run finished, from the records log, though its report was not rewritten since', async () => {
    const dir = tempDir();
    const trace = join(dir, 'trace.jsonl');
    // Three quick steps, then one that waits until the kill.
    const plan = writePlan(dir, {
      stages: { execution: [fixtureStep('a', trace), fixtureStep('b', trace), fixtureStep('c', trace), fixtureStep('wait', trace, { 'sleep-first': 30_000 })] },
    });
    const out = join(dir, 'out');
    const run = startCli([out, '--plan', plan, '--kill-grace-ms', '200']);
    await waitFor(() => startsOf(traceOf(trace), 'wait').length === 1, 10_000, 'the waiting step to start');
    run.child.kill('SIGKILL');
    await run.done;
    // Whether the last rewrite came before or after c depends on the machine's speed: leave the
    // report as a kill right after the stage's first rewrite leaves it, with none of its records.
    const report = reportOf(out);
    expect(report.status).toBe('running');
    writeFileSync(join(out, 'orchestrator_run_report.json'), JSON.stringify({ ...report, stage_executions: [] }, null, 2));
    const stale = reportOf(out);

    const outcome = await runCli(['report', out]);
    expect(outcome.exitCode).toBe(0);
    for (const step of ['a', 'b', 'c']) expect(outcome.stdout).toMatch(new RegExp(`execution/${step} +success +exit 0`));
    expect(outcome.stdout).not.toContain('execution/wait');
    // The report file itself is left as the killed run wrote it.
    expect(reportOf(out)).toEqual(stale);
    // The killed run's waiting step is still running: the next run ends it (the lock names its group)
    // and runs only that step again, whose second attempt does not wait.
    const resumed = await runCli([out, '--plan', plan, '--resume', '--kill-grace-ms', '200']);
    expect(resumed.exitCode).toBe(0);
    expect(startsOf(traceOf(trace)).map((t) => t.step)).toEqual(['a', 'b', 'c', 'wait', 'wait']);
  });

  it('exits 2 with one line for a directory without a report', async () => {
    const outcome = await runCli(['report', join(tempDir(), 'missing')]);
    expect(outcome.exitCode).toBe(2);
    expect(outcome.stderr.trim().split('\n')).toHaveLength(1);
    expect(outcome.stderr).toMatch(/^autonomy-orchestrator: output_dir .*missing is not a directory\n$/);
  });
});

describe('the event log', () => {
  it('keeps one timestamped inspection message per line beside the report, without environment values', async () => {
    const dir = tempDir();
    await runCli([dir, '--manager-bin', STAGE, '--manager-arg', 'ok', '--manager-env', 'API_TOKEN=very-secret-value']);
    const text = readFileSync(join(dir, 'orchestrator_events.jsonl'), 'utf8');
    expect(text).not.toContain('very-secret-value');
    const entries = text.trim().split('\n').map((line) => JSON.parse(line));
    expect(entries.map((e) => e.seq)).toEqual(entries.map((_e, i) => i));
    expect(entries.every((e) => Number.isInteger(e.timestamp_unix_ms))).toBe(true);
    expect(entries[0].message).toMatchObject({ type: '@xstate.actor', name: 'orchestration' });
    const values = entries
      .filter((e) => e.message.type === '@xstate.snapshot' && e.message.sessionId === e.message.rootId)
      .map((e) => e.message.snapshot.value);
    expect([...new Set(values)]).toEqual(['planning', 'policy_ingestion', 'execution', 'validation', 'closure', 'done']);
  });
});

describe('inspector flags', () => {
  it('rejects bad values with one line and exit 2', async () => {
    for (const args of [['--inspect-port', '70000'], ['--inspector-url', 'not a url'], ['inspect'], ['report', 'a', 'b']]) {
      const outcome = await runCli(args);
      expect(outcome.exitCode, args.join(' ')).toBe(2);
      expect(outcome.stderr.split('\n')[0], args.join(' ')).toMatch(/^autonomy-orchestrator: /);
      expect(outcome.stderr, args.join(' ')).not.toMatch(/\n\s+at /);
    }
  });

  it('--inspector-url serves a bridge that hands the stream to that inspector, and --inspect-keep keeps it after the run', async () => {
    const dir = tempDir();
    const run = startCli([dir, '--inspector-url', 'https://stately.ai/inspect', '--inspect-keep', '--manager-bin', STAGE, '--manager-arg', 'ok']);
    let stderr = '';
    run.child.stderr.on('data', (chunk) => (stderr += chunk));
    await waitFor(() => stderr.includes('inspector still at'), 5_000, 'the end of the run');
    const url = urlIn(stderr)!;
    const page = await (await fetch(url)).text();
    expect(page).toContain('<iframe id="inspector" src="https://stately.ai/inspect">');
    expect(await (await fetch(new URL('/bridge.js', url))).text()).toContain('@statelyai.connected');
    run.child.kill('SIGINT');
    const outcome = await run.done;
    expect(outcome.exitCode).toBe(0);
    await expect(fetch(url)).rejects.toThrow();
  });
});
