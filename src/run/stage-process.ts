/**
 * Runs one program for a stage: arguments verbatim (no shell), the parent's environment plus
 * the configured pairs, stdout and stderr straight into log files (never through this
 * process's memory), its own process group, a timeout and a cancel that end the whole group, and
 * the reaper (reaper.ts), which ends the group if this process dies first.
 */
import { closeSync, openSync, statSync } from 'node:fs';
import { execa } from 'execa';
import { pauseAt } from '../fault/pause-point.js';
import { monotonicMs } from './clock.js';
import { processStartTicks, terminateGroup } from './process-group.js';
import { guardGroup } from './reaper.js';

export interface StageProcessRequest {
  bin: string;
  args: string[];
  /** Pairs over the inherited environment; an undefined value removes that variable. */
  env: Record<string, string | undefined>;
  /**
   * The environment the program inherits, under `env`: a copy of `process.env` taken once (a run's
   * steps get the environment the run started with). Without it, `process.env` is read at each call,
   * which copies every variable through Node's environment accessor (about 60 µs for 35 variables).
   */
  inheritedEnv?: Readonly<Record<string, string | undefined>>;
  timeoutMs: number;
  killGraceMs: number;
  stdoutPath: string;
  stderrPath: string;
  signal: AbortSignal;
  cwd?: string | undefined;
  /** Stalled after this long without output and without a touch of `heartbeatPath`. */
  heartbeatMs?: number | undefined;
  heartbeatPath?: string | undefined;
  /** Told the process group id once the program started (true) and once the group is gone (false). */
  onProcessGroup?: (pgid: number, running: boolean, startTicks: string | null) => void;
  /** Start the reaper with this step, not after 100 ms: nothing else would end the group after a crash (reaper.ts). */
  reaperAtOnce?: boolean;
}

export interface StageProcessOutcome {
  exitCode: number | null;
  signal: string | null;
  spawnError: string | null;
  timedOut: boolean;
  stalled: boolean;
  cancelled: boolean;
  durationMs: number;
}

export async function runStageProcess(request: StageProcessRequest): Promise<StageProcessOutcome> {
  const started = monotonicMs();
  const stdoutFd = openSync(request.stdoutPath, 'w', 0o600);
  const stderrFd = openSync(request.stderrPath, 'w', 0o600);
  let timedOut = false;
  let stalled = false;
  let cancelled = false;
  let ending: Promise<void> | null = null;
  try {
    const child = execa(request.bin, request.args, {
      ...(request.inheritedEnv ? { env: { ...request.inheritedEnv, ...request.env }, extendEnv: false } : { env: request.env, extendEnv: true }),
      detached: true,
      ...(request.cwd !== undefined ? { cwd: request.cwd } : {}),
      cleanup: false,
      reject: false,
      stdin: 'ignore',
      // File descriptors pass straight to the child; execa's types list only 3..9 literally.
      stdout: stdoutFd as 3,
      stderr: stderrFd as 3,
    });
    const pgid = child.pid;
    // When the leader started, read once: the reaper and the lock both tell its group by it.
    const startTicks = pgid === undefined ? null : processStartTicks(pgid);
    const guard = pgid === undefined ? null : guardGroup(pgid, startTicks, request.killGraceMs, { atOnce: request.reaperAtOnce === true });
    pauseAt('spawned');
    if (pgid !== undefined) request.onProcessGroup?.(pgid, true, startTicks);
    const end = () => {
      if (pgid !== undefined && ending === null) ending = terminateGroup(pgid, request.killGraceMs);
    };
    const timer = setTimeout(() => {
      timedOut = true;
      end();
    }, request.timeoutMs);
    const watchdog = request.heartbeatMs
      ? watchActivity(request, request.heartbeatMs, () => {
          stalled = true;
          end();
        })
      : null;
    const onAbort = () => {
      cancelled = true;
      end();
    };
    if (request.signal.aborted) onAbort();
    else request.signal.addEventListener('abort', onAbort, { once: true });

    const result = await child;
    clearTimeout(timer);
    if (watchdog) clearInterval(watchdog);
    request.signal.removeEventListener('abort', onAbort);
    // The leader is gone; whatever it left behind in its group goes too.
    end();
    await ending;
    if (pgid !== undefined) request.onProcessGroup?.(pgid, false, startTicks);
    guard?.release();

    const spawnError = pgid === undefined || (result.exitCode === undefined && result.signal === undefined)
      ? describeSpawnError(result)
      : null;
    return {
      exitCode: result.exitCode ?? null,
      signal: result.signal ?? null,
      spawnError,
      timedOut,
      stalled,
      cancelled,
      durationMs: Math.round(monotonicMs() - started),
    };
  } finally {
    closeSync(stdoutFd);
    closeSync(stderrFd);
  }
}

function describeSpawnError(result: { code?: string; originalMessage?: string; shortMessage?: string }): string {
  return result.originalMessage || result.code || result.shortMessage || 'unknown spawn error';
}

/**
 * The watchdog: output reaches the log files directly (not through this process), so activity
 * is read from their sizes and the heartbeat file's modification time.
 */
function watchActivity(request: StageProcessRequest, heartbeatMs: number, onStall: () => void): NodeJS.Timeout {
  let lastSeen = '';
  let lastChange = Date.now();
  const probe = () => {
    const sizes = [request.stdoutPath, request.stderrPath].map((path) => fileMark(path, 'size'));
    const beat = request.heartbeatPath ? fileMark(request.heartbeatPath, 'mtime') : '';
    const seen = `${sizes.join('/')}|${beat}`;
    const now = Date.now();
    if (seen !== lastSeen) {
      lastSeen = seen;
      lastChange = now;
    } else if (now - lastChange >= heartbeatMs) {
      clearInterval(interval);
      onStall();
    }
  };
  const interval = setInterval(probe, Math.max(10, Math.min(250, Math.floor(heartbeatMs / 4))));
  probe();
  return interval;
}

function fileMark(path: string, what: 'size' | 'mtime'): string {
  try {
    const stat = statSync(path);
    return what === 'size' ? String(stat.size) : String(stat.mtimeMs);
  } catch {
    return '-';
  }
}
