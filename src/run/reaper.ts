/**
 * The steps' last guard: if this process dies without ending the steps it runs (kill -9, the OOM
 * killer), their process groups are ended anyway, SIGTERM then SIGKILL after their kill grace, on
 * this machine, with no resume needed.
 *
 * It is one small shell process per orchestrator process, started once a step has run for 100 ms
 * (steps that all end sooner never pay for it; a kill within those first 100 ms is left to the
 * next run's recovery). It reads from a pipe the groups that start (`+ <pgid> <start ticks> <grace ms>`) and end (`- <pgid>`); when
 * the pipe closes (this process has gone, however it went) it ends the groups still listed. A group
 * whose leader is alive is ended only if the leader started when its line said (a pid reused since
 * is left alone). The shell sits in a session of its own, so a Ctrl-C to the terminal does not
 * reach it, and its environment holds PATH and its script only; `ps` shows it as
 * `autonomy-orchestrator-reaper <pid of the orchestrator>`. `ORCHESTRATOR_REAPER=off` does without
 * it: such groups are then ended only when a later run recovers the lock on the same machine.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { processStartTicks } from './process-group.js';

// POSIX sh: `read`, `kill` and `case` are built in; `sleep` takes fractions on Linux, BSD and busybox.
// (A template literal: `\${` below is the shell's `${`.)
const SCRIPT = `
groups=''
while read -r op pg start grace; do
  case $op in
    +) groups="$groups $pg:$start:$grace" ;;
    -) kept=''; for g in $groups; do [ "\${g%%:*}" = "$pg" ] || kept="$kept $g"; done; groups=$kept ;;
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

/** A step still running after this long starts the reaper: a process whose steps all end sooner never pays for a shell. */
export const REAPER_AFTER_MS = 100;

/** undefined: not started yet; null: off, or no shell here. */
let reaper: ChildProcess | null | undefined = process.env.ORCHESTRATOR_REAPER === 'off' || process.platform === 'win32' ? null : undefined;
/** The groups running now, as the reaper is told of them. */
const live = new Map<number, string>();
let pending: NodeJS.Timeout | null = null;

function start(): void {
  try {
    // The script travels in the environment, so that `ps` shows one short line for the shell.
    const child = spawn('/bin/sh', ['-c', 'eval "$REAPER_SCRIPT"', 'autonomy-orchestrator-reaper', String(process.pid)], {
      detached: true,
      stdio: ['pipe', 'ignore', 'ignore'],
      env: { PATH: '/usr/bin:/bin', REAPER_SCRIPT: SCRIPT },
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
    for (const line of live.values()) child.stdin?.write(line);
  } catch {
    reaper = null;
  }
}

/** A step's process group started: end it if this process dies first. */
export function guardGroup(pgid: number, killGraceMs: number): void {
  if (reaper === null) return;
  const line = `+ ${pgid} ${processStartTicks(pgid) ?? '-'} ${Math.max(0, Math.round(killGraceMs))}\n`;
  live.set(pgid, line);
  if (reaper) {
    reaper.stdin?.write(line);
    return;
  }
  pending ??= setTimeout(() => {
    pending = null;
    if (reaper === undefined && live.size > 0) start();
  }, REAPER_AFTER_MS).unref();
}

/** The group is gone: nothing to end any more. */
export function releaseGroup(pgid: number): void {
  if (live.delete(pgid)) reaper?.stdin?.write(`- ${pgid}\n`);
}
