/**
 * A plan's notification hooks, run once a run reaches a terminal state: an HTTP POST of the report
 * summary, or a command that gets the summary on stdin. Each hook has a timeout and retries; what
 * happened is recorded in the report (`notifications`), and a hook that fails never changes the
 * run's outcome or exit code.
 *
 * A hook is named in the report by its place in the plan (`notify[0]`) and its kind, never by its
 * URL or arguments, which may carry a token.
 */
import { execa } from 'execa';
import type { TerminalState } from '../../machines/stages.js';
import type { NotifyHook } from '../plan/schema.js';
import type { Notification, RunReport } from '../report/schema.js';

export interface RunSummary {
  run_id: string;
  terminal_state: TerminalState;
  failure: RunReport['failure'];
  blocked: RunReport['blocked'];
  started_at_unix_ms: number;
  ended_at_unix_ms: number;
  cost: RunReport['cost'];
  /** `<stage>/<step>` → attempts that succeeded and that failed in this invocation. */
  steps: Record<string, { success: number; failure: number }>;
  report_path: string;
}

export function summaryOf(report: RunReport, terminal: TerminalState, reportPath: string): RunSummary {
  const steps: RunSummary['steps'] = {};
  for (const record of report.stage_executions) {
    if (record.status === 'skipped' || record.interrupted) continue;
    const key = `${record.stage}/${record.step || record.stage}`;
    const counts = (steps[key] ??= { success: 0, failure: 0 });
    if (record.status === 'success') counts.success += 1;
    else counts.failure += 1;
  }
  return {
    run_id: report.run_id,
    terminal_state: terminal,
    failure: report.failure,
    blocked: report.blocked,
    started_at_unix_ms: report.started_at_unix_ms,
    ended_at_unix_ms: Date.now(),
    cost: report.cost,
    steps,
    report_path: reportPath,
  };
}

/** Runs every hook whose `on` names `terminal`, one after another; never throws. */
export async function notify(hooks: NotifyHook[], summary: RunSummary): Promise<Notification[]> {
  const out: Notification[] = [];
  for (const [index, hook] of hooks.entries()) {
    if (!hook.on.includes(summary.terminal_state)) continue;
    out.push(await runHook(`notify[${index}]`, hook, summary));
  }
  return out;
}

async function runHook(name: string, hook: NotifyHook, summary: RunSummary): Promise<Notification> {
  const spec = 'http' in hook ? hook.http : hook.command;
  const kind = 'http' in hook ? 'http' : 'command';
  const started = Date.now();
  let error: string | null = null;
  let attempts = 0;
  for (let attempt = 1; attempt <= spec.retries + 1; attempt++) {
    attempts = attempt;
    if (attempt > 1) await new Promise((resolve) => setTimeout(resolve, spec.backoffMs * 2 ** (attempt - 2)));
    error = 'http' in hook ? await post(hook.http, summary) : await command(hook.command, summary);
    if (error === null) break;
  }
  return { hook: name, kind, on: summary.terminal_state, ok: error === null, attempts, error, duration_ms: Date.now() - started };
}

/** null when the server answered 2xx; else why not, without the URL. */
async function post(http: Extract<NotifyHook, { http: unknown }>['http'], summary: RunSummary): Promise<string | null> {
  try {
    const response = await fetch(http.url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'user-agent': 'autonomy-orchestrator' },
      body: JSON.stringify(summary),
      signal: AbortSignal.timeout(http.timeoutMs),
      redirect: 'manual',
    });
    await response.body?.cancel().catch(() => {});
    return response.ok ? null : `HTTP ${response.status}`;
  } catch (error) {
    const name = (error as Error).name;
    if (name === 'TimeoutError' || name === 'AbortError') return `no answer within ${http.timeoutMs} ms`;
    const cause = (error as { cause?: { code?: string } }).cause?.code;
    return cause ? `cannot connect: ${cause}` : `cannot POST: ${(error as Error).message}`;
  }
}

/** The summary goes to the program's stdin; its output is not kept. */
async function command(spec: Extract<NotifyHook, { command: unknown }>['command'], summary: RunSummary): Promise<string | null> {
  const result = await execa(spec.bin, spec.args, {
    input: JSON.stringify(summary),
    stdout: 'ignore',
    stderr: 'ignore',
    timeout: spec.timeoutMs,
    killSignal: 'SIGKILL',
    reject: false,
    env: { ORCHESTRATOR_RUN_ID: summary.run_id, ORCHESTRATOR_TERMINAL_STATE: summary.terminal_state, ORCHESTRATOR_REPORT_PATH: summary.report_path },
  });
  if (result.timedOut) return `no exit within ${spec.timeoutMs} ms`;
  if (result.failed && result.exitCode === undefined) return `cannot start ${spec.bin}: ${result.code ?? (result.shortMessage ?? 'failed').split('\n')[0]}`;
  if (result.exitCode !== 0) return `exit code ${result.exitCode}`;
  return null;
}
