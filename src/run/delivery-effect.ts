/**
 * A delivery command run again (an attempt after the first: the run was stopped or killed between
 * its start and the checkpoint counting it done) may have taken effect already; run once more, `git
 * switch -c` fails on the branch it made, `git commit` on nothing to commit, `gh pr create` on the
 * pull request it opened. So before such an attempt, what the command leaves is looked for, in the
 * repository, with the run's environment: found, the command is recorded a success without running.
 * - `git switch -c B`: `git rev-parse --abbrev-ref HEAD` is B;
 * - `git commit -m M`: `git status --porcelain` is empty and HEAD's message (`git log -1 --format=%B`) is M;
 * - `gh pr create … --head B`: `gh pr view B` exits 0 (without `--head` nothing tells: it runs again).
 * `git add -A` and `gh pr edit` do the same again: they just run.
 */
import { execa } from 'execa';
import type { DeliveryStep } from '../../machines/delivery.js';

export interface EffectLookup {
  cwd: string;
  env: Readonly<Record<string, string | undefined>>;
  timeoutMs: number;
  signal: AbortSignal;
}

/** What shows that `step` already took effect (the record's `note`), or null: then it runs. */
export async function deliveryEffectFound(step: DeliveryStep, lookup: EffectLookup): Promise<string | null> {
  const run = (bin: string, ...args: string[]) => output(bin, args, lookup);
  switch (step.id) {
    case 'delivery.git.switch_branch': {
      const branch = step.args[2]!;
      return (await run('git', 'rev-parse', '--abbrev-ref', 'HEAD')) === branch ? `not run: HEAD is already on branch ${branch}` : null;
    }
    case 'delivery.git.commit': {
      const message = step.args[2]!;
      if ((await run('git', 'status', '--porcelain')) !== '') return null;
      const head = await run('git', 'log', '-1', '--format=%B');
      return head !== null && sameMessage(head, message) ? "not run: nothing to commit, and HEAD's message is the commit message" : null;
    }
    case 'delivery.gh.pr.create': {
      const head = step.args.indexOf('--head');
      if (head < 0) return null;
      const branch = step.args[head + 1]!;
      return (await run('gh', 'pr', 'view', branch)) !== null ? `not run: gh pr view ${branch} finds its pull request` : null;
    }
    default:
      return null;
  }
}

/** The program's stdout, trimmed, when it exits 0; else null (it failed, could not start, or took too long). */
async function output(bin: string, args: string[], lookup: EffectLookup): Promise<string | null> {
  const result = await execa(bin, args, {
    cwd: lookup.cwd,
    env: lookup.env,
    extendEnv: false,
    reject: false,
    stdin: 'ignore',
    timeout: lookup.timeoutMs,
    cancelSignal: lookup.signal,
  });
  return result.exitCode === 0 && typeof result.stdout === 'string' ? result.stdout.trim() : null;
}

/** git keeps `-m M` with trailing spaces of each line and blank lines at either end removed. */
function sameMessage(recorded: string, given: string): boolean {
  const clean = (text: string) => text.split('\n').map((line) => line.trimEnd()).join('\n').trim();
  return clean(recorded) === clean(given);
}
