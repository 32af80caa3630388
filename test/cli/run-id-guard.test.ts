/**
 * Two runs at once with one run id (a hand-written `runId` in a loaded config file): the run that
 * ends first would end the other's steps, found by their ORCHESTRATOR_RUN_ID. A fresh run whose id
 * is given is refused while a process of another run carries that id.
 */
import { spawn } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { CLI, STAGE, processAlive, reportOf, runCli, startCli, tempDir, waitFor } from '../support/cli.js';

const started: number[] = [];

// A step left waiting by a failed test must not outlive it.
afterEach(() => {
  for (const pid of started.splice(0)) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // already gone
    }
  }
});

/** A config file running one step that writes its pid to `pidFile`, then waits for `goFile`. */
function configFile(dir: string, name: string, runId: string, pidFile: string, goFile: string): string {
  const plan = join(dir, `${name}.plan.json`);
  writeFileSync(plan, JSON.stringify({ stages: { execution: [{ id: 'work', bin: STAGE, args: ['started-then-wait', pidFile, goFile] }] } }));
  const config = join(dir, `${name}.json`);
  writeFileSync(config, JSON.stringify({ version: 1, planPath: plan, runId }));
  return config;
}

async function pidWhenStarted(pidFile: string): Promise<number> {
  await waitFor(() => existsSync(pidFile), 20_000, 'the step to start');
  const pid = Number(readFileSync(pidFile, 'utf8').trim());
  started.push(pid);
  return pid;
}

describe('a run id given in a config file', () => {
  it('is refused while another run with that id is running; that run goes on and ends done', async () => {
    const dir = tempDir('ao-runid-');
    const go = join(dir, 'go');
    const nightly = configFile(dir, 'nightly', 'nightly-7', join(dir, 'a.pid'), go);
    const a = startCli([join(dir, 'a'), '--config-load', nightly]);
    const stepOfA = await pidWhenStarted(join(dir, 'a.pid'));

    const b = await runCli([join(dir, 'b'), '--config-load', nightly]);
    expect(b.exitCode).toBe(1);
    expect(b.stderr).toBe(
      `autonomy-orchestrator: run id nightly-7: another run with this id is running (pid ${stepOfA} carries ORCHESTRATOR_RUN_ID=nightly-7); give this run another runId, or wait for that run to end\n`,
    );
    expect(b.stdout).toBe('');
    // Nothing of B ran, and A's step was not ended by B.
    expect(existsSync(join(dir, 'b', 'orchestrator_run_report.json'))).toBe(false);
    expect(processAlive(stepOfA)).toBe(true);

    writeFileSync(go, '');
    const outcomeA = await a.done;
    expect(outcomeA.exitCode).toBe(0);
    const report = reportOf(join(dir, 'a'));
    expect(report.run_id).toBe('nightly-7');
    expect(report.terminal_state).toBe('done');
    expect(report.stage_executions.map((e: any) => [e.step, e.status])).toEqual([['work', 'success']]);

    // Once A has ended, the same id runs.
    const again = await runCli([join(dir, 'b'), '--config-load', configFile(dir, 'again', 'nightly-7', join(dir, 'again.pid'), go)]);
    expect(again.exitCode).toBe(0);
    expect(reportOf(join(dir, 'b')).run_id).toBe('nightly-7');
  });

  it('another id runs alongside, and each run ends done', async () => {
    const dir = tempDir('ao-runid-');
    const goA = join(dir, 'go-a');
    const goB = join(dir, 'go-b');
    const a = startCli([join(dir, 'a'), '--config-load', configFile(dir, 'first', 'nightly-7', join(dir, 'a.pid'), goA)]);
    const stepOfA = await pidWhenStarted(join(dir, 'a.pid'));
    const b = startCli([join(dir, 'b'), '--config-load', configFile(dir, 'second', 'nightly-8', join(dir, 'b.pid'), goB)]);
    const stepOfB = await pidWhenStarted(join(dir, 'b.pid'));
    // B ends first: A's step outlives it.
    writeFileSync(goB, '');
    expect((await b.done).exitCode).toBe(0);
    expect(processAlive(stepOfA)).toBe(true);
    expect(processAlive(stepOfB)).toBe(false);
    writeFileSync(goA, '');
    expect((await a.done).exitCode).toBe(0);
    expect(reportOf(join(dir, 'a')).run_id).toBe('nightly-7');
    expect(reportOf(join(dir, 'b')).run_id).toBe('nightly-8');
  });

  it('is not refused for the shell that started the run carrying it (an ancestor is no other run)', async () => {
    const dir = tempDir('ao-runid-');
    const go = join(dir, 'go');
    writeFileSync(go, '');
    const config = configFile(dir, 'nested', 'nightly-7', join(dir, 'n.pid'), go);
    // The shell waits for the CLI (no exec), so it is a live ancestor whose environment names the id.
    const shell = spawn('sh', ['-c', '"$0" "$@"; exit $?', process.execPath, CLI, join(dir, 'out'), '--config-load', config], {
      env: { ...process.env, ORCHESTRATOR_RUN_ID: 'nightly-7' },
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    let stderr = '';
    shell.stderr.on('data', (chunk) => (stderr += chunk));
    const outcome = await new Promise<{ exitCode: number | null; stderr: string }>((done) => shell.on('close', (exitCode) => done({ exitCode, stderr })));
    expect(outcome.stderr).not.toContain('another run');
    expect(outcome.exitCode).toBe(0);
    expect(reportOf(join(dir, 'out')).run_id).toBe('nightly-7');
  });
});
