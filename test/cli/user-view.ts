/** What a user of the CLI looks at besides the report: the flags they type, files left, processes left. */
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { STAGE, readJson } from '../support/cli.js';

export const REPORT = 'orchestrator_run_report.json';
export const CHECKPOINT = 'orchestrator_checkpoint.json';
export const LOCK = `${CHECKPOINT}.lock`;

/** `--manager-bin stage.sh --manager-arg MODE --manager-arg ARG...` */
export function manager(...args: string[]): string[] {
  return ['--manager-bin', STAGE, ...args.flatMap((arg) => ['--manager-arg', arg])];
}

/** `--executor-bin stage.sh --executor-arg MODE --executor-arg ARG...` */
export function executor(...args: string[]): string[] {
  return ['--executor-bin', STAGE, ...args.flatMap((arg) => ['--executor-arg', arg])];
}

/** [from_stage, to_stage] of each report transition. */
export function stagePairs(report: any): [string | null, string][] {
  return report.transitions.map((t: any) => [t.from_stage, t.to_stage]);
}

export const ALL_FIVE: [string | null, string][] = [
  [null, 'planning'],
  ['planning', 'policy_ingestion'],
  ['policy_ingestion', 'execution'],
  ['execution', 'validation'],
  ['validation', 'closure'],
];

export function readLock(dir: string): { pid: number; stage_groups: { pgid: number }[] } {
  return readJson(join(dir, LOCK));
}

/** Every regular file under `dir`, recursively. */
export function filesUnder(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true, recursive: true })
    .filter((entry) => entry.isFile())
    .map((entry) => join(entry.parentPath, entry.name));
}

/** Pids of live (non-zombie) processes whose process group is `pgid`. */
export function groupMembers(pgid: number): number[] {
  const members: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    let stat: string;
    try {
      stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
    } catch {
      continue;
    }
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    if (Number(fields[2]) === pgid && fields[0] !== 'Z' && fields[0] !== 'X') members.push(Number(entry));
  }
  return members;
}

/** "<leader pid> <grandchild pid>" written by stage.sh's `tree` mode. */
export function treePids(path: string): { leader: number; grandchild: number } | null {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch {
    return null;
  }
  const match = /^(\d+) (\d+)\n$/.exec(text);
  return match ? { leader: Number(match[1]), grandchild: Number(match[2]) } : null;
}

/** `env` output as a map (first '=' splits). */
export function envFile(path: string): Map<string, string> {
  const env = new Map<string, string>();
  for (const line of readFileSync(path, 'utf8').split('\n')) {
    const at = line.indexOf('=');
    if (at > 0) env.set(line.slice(0, at), line.slice(at + 1));
  }
  return env;
}

/** A message the user can act on: no stack frames. */
export const STACK_FRAME = /^\s+at /m;
