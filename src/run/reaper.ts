/**
 * The steps' last guard: if this process dies without ending the steps it runs (kill -9, the OOM
 * killer), their process groups are ended anyway, SIGTERM then SIGKILL after their kill grace, on
 * this machine, with no resume needed.
 *
 * It is one small shell process per orchestrator process. It reads from a pipe the groups that
 * start (`+ <pgid> <start ticks> <grace ms>`) and end (`- <pgid> <start ticks>`); when the pipe
 * closes (this process has gone, however it went) it ends the groups still listed. On Linux, a
 * group whose leader is alive is ended only if the leader started when its line said (a pid reused
 * since is left alone); where there is no /proc, the group is ended.
 *
 * When it starts: a run whose lock notes its groups for the next run's recovery (the file store's)
 * starts it once one of its steps has run for 100 ms, so that runs of quick steps never pay for a
 * shell; a kill within those 100 ms is left to that recovery. A run whose lock does not (Postgres,
 * Redis: workers) starts it with its first step. The shell sits in a session of its own, so a
 * Ctrl-C to the terminal or a kill of the orchestrator's group does not reach it; its environment
 * holds PATH and its script only; `ps` shows it as `autonomy-orchestrator-reaper <pid of the
 * orchestrator>`. `ORCHESTRATOR_REAPER=off` does without it.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { monotonicMs } from './clock.js';

// POSIX sh: `read`, `kill` and `case` are built in; `sleep` takes fractions on Linux, BSD and busybox.
// (A template literal: `\${` below is the shell's `${`.)
const SCRIPT = `
groups=''
while read -r op pg start grace; do
  case $op in
    +) groups="$groups $pg:$start:$grace" ;;
    -) kept=''; for g in $groups; do [ "\${g%:*}" = "$pg:$start" ] || kept="$kept $g"; done; groups=$kept ;;
  esac
done
[ -z "$groups" ] && exit 0
ours() {
  [ "$2" = - ] && return 0
  [ -r "/proc/$1/stat" ] || return 0
  read -r line < "/proc/$1/stat" || return 0
  set -- "$2" \${line##*) }
  [ "$1" = "\${21}" ]
}
each() {
  for g in $groups; do
    pg=\${g%%:*}; rest=\${g#*:}; start=\${rest%%:*}
    ours "$pg" "$start" && kill -s "$1" -- "-$pg" 2>/dev/null
  done
}
each TERM
wait_ms=0
for g in $groups; do grace=\${g##*:}; [ "$grace" -gt "$wait_ms" ] && wait_ms=$grace; done
sleep "$((wait_ms / 1000)).$(printf %03d $((wait_ms % 1000)))"
each KILL
`;

/** A step still running after this long starts the reaper (in a run whose lock recovers groups). */
export const REAPER_AFTER_MS = 100;

/** undefined: not started yet; null: off, or no shell here. */
let reaper: ChildProcess | null | undefined = process.env.ORCHESTRATOR_REAPER === 'off' || process.platform === 'win32' ? null : undefined;
/** The groups running now, as the reaper is told of them, with when each started. */
const live = new Map<string, { line: string; since: number }>();
let pending: NodeJS.Timeout | null = null;

function start(): void {
  if (pending) clearTimeout(pending);
  pending = null;
  try {
    // The script travels in the environment, so that `ps` shows one short line for the shell.
    const child = spawn('/bin/sh', ['-c', 'eval "$REAPER_SCRIPT"', 'autonomy-orchestrator-reaper', String(process.pid)], {
      detached: true,
      stdio: ['pipe', 'ignore', 'ignore'],
      env: { PATH: process.env.PATH ?? '/usr/bin:/bin', REAPER_SCRIPT: SCRIPT },
    });
    const lost = () => {
      reaper = null; // no shell here, or it died: the next run's recovery is what is left
    };
    child.on('error', lost);
    child.stdin?.on('error', lost);
    // Neither the shell nor its pipe keeps this process alive.
    child.unref();
    (child.stdin as unknown as { unref?: () => void } | null)?.unref?.();
    reaper = child;
    for (const { line } of live.values()) child.stdin?.write(line);
  } catch {
    reaper = null;
  }
}

/** Starts the reaper once the oldest group running has run REAPER_AFTER_MS; checks again if that group ended first. */
function startLater(): void {
  if (pending || reaper !== undefined) return;
  let oldest = Number.POSITIVE_INFINITY;
  for (const { since } of live.values()) oldest = Math.min(oldest, since);
  if (oldest === Number.POSITIVE_INFINITY) return;
  pending = setTimeout(() => {
    pending = null;
    if (reaper !== undefined) return;
    const now = monotonicMs();
    for (const { since } of live.values()) {
      if (now - since >= REAPER_AFTER_MS - 1) return start();
    }
    startLater();
  }, Math.max(1, oldest + REAPER_AFTER_MS - monotonicMs())).unref();
}

export interface GroupGuard {
  /** The group is gone: nothing to end any more. */
  release(): void;
}

/**
 * A step's process group started (its leader at `startTicks`, null where /proc cannot tell): end
 * it if this process dies first. `atOnce`: nothing else would end it (the run's lock does not note
 * groups for recovery), so the reaper starts now.
 */
export function guardGroup(pgid: number, startTicks: string | null, killGraceMs: number, { atOnce = false } = {}): GroupGuard {
  if (reaper === null) return { release: () => {} };
  const key = `${pgid} ${startTicks ?? '-'}`;
  const line = `+ ${key} ${Math.max(0, Math.round(killGraceMs))}\n`;
  const entry = { line, since: monotonicMs() };
  live.set(key, entry);
  if (reaper) reaper.stdin?.write(line);
  else if (atOnce) start();
  else startLater();
  return {
    release: () => {
      if (live.get(key) !== entry) return;
      live.delete(key);
      reaper?.stdin?.write(`- ${key}\n`);
      if (live.size === 0 && pending) {
        clearTimeout(pending);
        pending = null;
      }
    },
  };
}
