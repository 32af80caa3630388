/**
 * What a real delivery refuses before the run starts (nothing run, the checkpoint untouched):
 * - a resume whose delivery flags contradict the commands the run already delivered: the flags
 *   given at resume decide what runs, but a command that ran cannot be taken back, so the commands
 *   done must stay the same ones (by step id), and a delivery that began cannot vanish or become a
 *   dry run;
 * - an output directory or checkpoint inside the repository and not ignored: `git add -A` would
 *   put the run's checkpoint, lock, journal and logs into the commit.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, realpathSync } from 'node:fs';
import { basename, dirname, isAbsolute, join, relative, resolve } from 'node:path';
import { type DeliverySettings, type DeliveryStep, deliverySteps, isDryRun } from '../../machines/delivery.js';
import type { OrchestrationContext } from '../../machines/orchestration.js';
import type { CheckpointV3 } from '../checkpoint/schema.js';
import type { OrchestrationConfig } from '../config/schema.js';
import { EXIT, OrchestratorError } from '../exit-codes.js';
import { deliverySettingsOf, laterOf } from './loop-settings.js';

/** The flag that puts a delivery step in (or, given, changes it). */
const FLAG_OF: Record<string, string> = {
  'delivery.git.switch_branch': '--delivery-branch',
  'delivery.git.add': '--delivery-enabled',
  'delivery.git.commit': '--delivery-commit-message',
  'delivery.gh.pr.create': '--delivery-pr-enabled',
  'delivery.gh.pr.update': '--delivery-pr-number',
};

/** Throws the refusal of a run whose delivery cannot start or go on as given; returns otherwise. */
export function refuseDelivery(config: OrchestrationConfig, checkpoint: CheckpointV3 | null, location: string): void {
  const delivery = deliverySettingsOf(laterOf(config));
  if (checkpoint !== null) {
    const why = resumeRefusal(delivery, checkpoint);
    if (why !== null) throw new OrchestratorError(`cannot resume the run in ${location}: ${why}`, EXIT.failed);
  }
  if (delivery !== null && !isDryRun(delivery)) refuseUnignoredOutput(config);
}

/** Why a resume's delivery flags cannot go on from the checkpoint's delivery, or null. */
export function resumeRefusal(delivery: DeliverySettings | null, checkpoint: CheckpointV3): string | null {
  const context = checkpoint.snapshot.context as unknown as Partial<OrchestrationContext>;
  const delivered = context.loops?.delivered ?? 0;
  const inStep = checkpoint.snapshot.value === 'delivery_step';
  if (!inStep && delivered === 0) return null;
  const again = 'resume with the delivery flags the run started with';
  const count = `${delivered} of its delivery commands succeeded`;
  if (delivery === null) return `--delivery-enabled: the run's real delivery began (${count}); it cannot be left out: ${again}`;
  if (isDryRun(delivery)) return `--delivery-dry-run: the run's real delivery began (${count}); it cannot become a dry run: ${again}`;
  const before = context.loops?.settings.delivery ? deliverySteps(context.loops.settings.delivery) : [];
  const now = deliverySteps(delivery);
  for (let i = 0; i < delivered; i += 1) {
    const done = before[i];
    if (done === undefined || now[i]?.id === done.id) continue;
    const flag = now.some((step) => step.id === done.id) ? flagOf(now[i]) : flagOf(done);
    return `${flag}: the run's delivery command ${i + 1} (${done.id}) already ran, these flags give ${now[i]?.id ?? 'no command'} there: ${again}`;
  }
  if (inStep && now.length <= delivered) {
    return `${flagOf(before[delivered])}: the run's delivery stands at command ${delivered + 1} (${before[delivered]?.id ?? 'unknown'}), these flags give ${now.length} command(s): ${again}`;
  }
  return null;
}

function flagOf(step: DeliveryStep | undefined): string {
  return (step && FLAG_OF[step.id]) ?? '--delivery-enabled';
}

/** The output directory and the checkpoint file, when inside `--repo-root`'s git work tree, must be ignored there. */
function refuseUnignoredOutput(config: OrchestrationConfig): void {
  const given = laterOf(config)?.repoRoot ?? '.';
  const repoRoot = resolve(given);
  const top = workTreeOf(repoRoot);
  if (top === null) return;
  const places: [string, string][] = [[`output directory ${config.outputDir}`, config.outputDir]];
  if (config.checkpointPath !== undefined) places.push([`--checkpoint-path ${config.checkpointPath}`, config.checkpointPath]);
  for (const [what, path] of places) {
    const real = realPathOf(path);
    const inside = relative(top, real);
    if (inside.startsWith('..') || isAbsolute(inside)) continue;
    if (ignored(repoRoot, real)) continue;
    throw new OrchestratorError(
      `--repo-root ${given}: the ${what} is inside its git work tree and not ignored, so the delivery's git add -A would commit the run's files; add it to .gitignore or put it outside the repository`,
      EXIT.usage,
    );
  }
}

/** The work tree's top folder holding `dir`, or null (not a git work tree, or no git: the delivery's own git says so). */
function workTreeOf(dir: string): string | null {
  if (!existsSync(dir)) return null;
  try {
    return realpathSync(execFileSync('git', ['rev-parse', '--show-toplevel'], { cwd: dir, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim());
  } catch {
    return null;
  }
}

/** `path` resolved through symbolic links, as far as it exists (a checkpoint not yet written). */
function realPathOf(path: string): string {
  const absolute = resolve(path);
  if (existsSync(absolute)) return realpathSync(absolute);
  const parent = dirname(absolute);
  return parent === absolute ? absolute : join(realPathOf(parent), basename(absolute));
}

function ignored(repoRoot: string, path: string): boolean {
  try {
    execFileSync('git', ['check-ignore', '-q', path], { cwd: repoRoot, stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}
