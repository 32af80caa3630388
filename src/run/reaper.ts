/**
 * The steps' last guard: if this process dies without ending the steps it runs (kill -9, the OOM
 * killer), their process groups are ended anyway, SIGTERM then SIGKILL after their kill grace, on
 * this machine, with no resume needed.
 *
 * It is one small shell process per orchestrator process, started with the first step. It reads
 * from a pipe the groups that start (`+ <pgid> <start ticks> <grace ms>`) and end (`- <pgid>`); when
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

let reaper: ChildProcess | null | undefined;

function started(): ChildProcess | null {
  if (reaper !== undefined) return reaper;
  reaper = null;
  if (process.env.ORCHESTRATOR_REAPER === 'off' || process.platform === 'win32') return null;
  try {
    // The script travels in the environment, so that `ps` shows one short line for the shell.
    const child = spawn('/bin/sh', ['-c', 'eval "$REAPER_SCRIPT"', 'autonomy-orchestrator-reaper', String(process.pid)], {
      detached: true,
      stdio: ['pipe', 'ignore', 'ignore'],
      env: { PATH: '/usr/bin:/bin', REAPER_SCRIPT: SCRIPT },
    });
    child.on('error', () => {
      reaper = null; // no shell here: the next run's recovery is what is left
    });
    child.stdin?.on('error', () => {
      reaper = null;
    });
    // Neither the shell nor its pipe keeps this process alive.
    child.unref();
    (child.stdin as unknown as { unref?: () => void } | null)?.unref?.();
    reaper = child;
  } catch {
    reaper = null;
  }
  return reaper;
}

/** A step's process group started: end it if this process dies first. */
export function guardGroup(pgid: number, killGraceMs: number): void {
  started()?.stdin?.write(`+ ${pgid} ${processStartTicks(pgid) ?? '-'} ${Math.max(0, Math.round(killGraceMs))}\n`);
}

/** The group is gone: nothing to end any more. */
export function releaseGroup(pgid: number): void {
  reaper?.stdin?.write(`- ${pgid}\n`);
}
