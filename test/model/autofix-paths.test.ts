/**
 * Model-based test of the auto-fix loop: every path of the machine when each validation may pass
 * or fail and each fix may apply or fail to start, with 0, 1 and 2 attempts; a real run takes each
 * path (test/fixtures/autofix-loop.sh plays each run's outcome), and a run resumed from every
 * checkpoint its uninterrupted run wrote inside the loop ends the same way without running a
 * finished program again.
 */
import { chmodSync, copyFileSync, existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { type TestContext, describe, it } from 'vitest';
import type { EventObject } from 'xstate';
import { getSimplePaths } from 'xstate/graph';
import { baseSettings } from './loop-model.js';
import type { LoopSettings } from '../../machines/loops.js';
import { CHECKPOINT_FILE, type OrchestrationConfigInput, REPORT_FILE, orchestrationMachine, runOrchestration } from '../../src/index.js';
import { ROOT, reportOf } from '../support/cli.js';
import { EXIT_CODE_OF, RecordingStore, plantSaved, runDirs } from './model-paths.js';

const FIXTURE = join(ROOT, 'test', 'fixtures', 'autofix-loop.sh');

interface AutofixPath {
  name: string;
  max: number;
  /** In order: each validation's outcome, and each fix's. */
  runs: ({ kind: 'validation'; ok: boolean } | { kind: 'fix'; ok: boolean })[];
  final: string;
}

function settingsOf(max: number): LoopSettings {
  return baseSettings({
    autofix: { bin: 'fixer', args: [], maxAttempts: max },
  });
}

/** Validation passes or fails; a fix applies or cannot start; every other stage passes. */
function events(snapshot: { value: unknown; status: string }): EventObject[] {
  if (snapshot.status !== 'active') return [];
  const stage = String(snapshot.value);
  const done = (status: string) => ({ type: 'xstate.done.actor.stageWork', output: { stage, status, error: status === 'failed' ? 'Command exited with code 7' : null, completedSteps: [], spentCost: 0 } });
  if (stage === 'autofix') {
    const attempt = (status: string) => ({ type: 'xstate.done.actor.autofixWork', output: { attempt: { attempt_number: 0, autofix_bin: 'fixer', exit_code: 0, status, started_at_unix_secs: 0, duration_ms: 0, reason_code: 'AUTOFIX_ATTEMPT_APPLIED' }, error: null } });
    return [attempt('applied'), attempt('spawn_failed')];
  }
  return stage === 'validation' ? [done('success'), done('failed')] : [done('success')];
}

function autofixPaths(max: number): AutofixPath[] {
  return getSimplePaths(orchestrationMachine, { input: { runId: 'model', simulateBlocked: false, loops: settingsOf(max) }, events: events as never })
    .filter((path) => path.state.status === 'done')
    .map((path) => {
      const runs: AutofixPath['runs'] = [];
      for (const step of path.steps) {
        const event = step.event as unknown as { type: string; output?: { stage?: string; status?: string; attempt?: { status: string } } };
        if (event.type === 'xstate.done.actor.stageWork' && event.output?.stage === 'validation') runs.push({ kind: 'validation', ok: event.output.status === 'success' });
        if (event.type === 'xstate.done.actor.autofixWork') runs.push({ kind: 'fix', ok: event.output!.attempt!.status === 'applied' });
      }
      const final = String(path.state.value);
      const name = `[max ${max}] ${runs.map((r) => `${r.kind === 'fix' ? 'fix' : 'validate'}:${r.ok ? 'ok' : 'fail'}`).join(' ')} => ${final}`;
      return { name, max, runs, final };
    });
}

/**
 * Counted by hand. With r attempts left a validation passes (1 path) or fails: with r = 0 the run
 * fails (1), else the fix cannot start (1) or applies and validation runs with r - 1 left.
 * V(0) = 2, V(r) = 1 + 1 + V(r - 1): 2, 4, 6.
 */
const MODELS = [
  { max: 0, paths: 2 },
  { max: 1, paths: 4 },
  { max: 2, paths: 6 },
];

/** The fixture's arguments for the path: validation n fails (removing the fixer when the next fix must not start). */
function validationArgs(path: AutofixPath): string[] {
  const args: string[] = [];
  let n = 0;
  path.runs.forEach((run, i) => {
    if (run.kind !== 'validation') return;
    n += 1;
    if (run.ok) return;
    const next = path.runs[i + 1];
    args.push(`${n}=${next?.kind === 'fix' && !next.ok ? 'fail-unfix' : 'fail'}`);
  });
  return args;
}

function expectedEffects(path: AutofixPath): string[] {
  let validations = 0;
  let fixes = 0;
  const effects: string[] = [];
  for (const run of path.runs) {
    if (run.kind === 'validation') effects.push(`validation ${++validations}`);
    else if (run.ok) effects.push(`fix ${++fixes}`);
    else fixes += 1; // could not start: nothing ran
  }
  return effects;
}

function configOf(path: AutofixPath, dir: string, outputDir: string, resume = false): OrchestrationConfigInput {
  return {
    outputDir,
    resume,
    later: { autofixEnabled: true, autofixBin: join(dir, 'fixer.sh'), autofixArgs: ['fix', dir], autofixMaxAttempts: path.max },
    plan: {
      stages: {
        validation: [{ id: 'validation-1', idempotencyKey: 'stage:Validation:command:1', bin: FIXTURE, args: ['validate', dir, ...validationArgs(path)], env: {} }],
      },
    },
  };
}

/** The fixture's world (its counters, the fixer) in a fresh directory. */
function world(context: TestContext) {
  const dirs = runDirs('ao-autofix-model-', context);
  mkdirSync(dirs.workDir, { recursive: true });
  const fixer = join(dirs.workDir, 'fixer.sh');
  copyFileSync(FIXTURE, fixer);
  chmodSync(fixer, 0o755);
  const effects = () => (existsSync(join(dirs.workDir, 'effects')) ? readFileSync(join(dirs.workDir, 'effects'), 'utf8').trim().split('\n') : []);
  return { dirs, dir: dirs.workDir, fixer, effects };
}

describe('the auto-fix model', () => {
  for (const { max, paths } of MODELS) {
    it(`has ${paths} paths with ${max} attempt(s)`, ({ expect }) => {
      const found = autofixPaths(max);
      expect(found).toHaveLength(paths);
      for (const path of found) expect(path.runs.filter((r) => r.kind === 'fix').length).toBeLessThanOrEqual(max);
    });
  }
});

for (const { max } of MODELS) {
  describe.concurrent(`a real run takes each auto-fix path (${max} attempt(s))`, () => {
    for (const path of autofixPaths(max)) {
      it(path.name, async (context) => {
        const { expect } = context;
        const w = world(context);
        const store = new RecordingStore(join(w.dirs.outputDir, CHECKPOINT_FILE), join(w.dirs.outputDir, REPORT_FILE));
        mkdirSync(w.dirs.outputDir, { recursive: true });
        const result = await runOrchestration(configOf(path, w.dir, w.dirs.outputDir), { store });
        const report = reportOf(w.dirs.outputDir);
        expect(result.exitCode).toBe(EXIT_CODE_OF[path.final]);
        expect(report.terminal_state).toBe(path.final);
        expect(w.effects()).toEqual(expectedEffects(path));
        const fixes = path.runs.filter((r) => r.kind === 'fix');
        expect(report.auto_fix_attempts.map((a: any) => [a.attempt_number, a.status])).toEqual(fixes.map((f, i) => [i + 1, f.ok ? 'applied' : 'spawn_failed']));
        const exhausted = path.final === 'failed' && path.runs.at(-1)?.kind === 'validation' && max > 0 ? ['AUTOFIX_MAX_ATTEMPTS_EXHAUSTED'] : [];
        expect(report.blocked_reason_codes).toEqual(path.final === 'failed' && max === 0 ? ['AUTOFIX_MAX_ATTEMPTS_EXHAUSTED'] : exhausted);
        expect(report.decision_rationale_codes).toEqual(path.final === 'done' && fixes.length > 0 ? ['AUTOFIX_CONVERGENCE_REACHED'] : []);

        // Resume from every checkpoint written inside the loop, in the world as it was then.
        const inside = store.saved.filter((s) => ((s.checkpoint as any).snapshot?.context?.loops?.autofixAttempt ?? 0) > 0 && s.checkpoint.terminal_state === null);
        for (const saved of inside) {
          const r = world(context);
          mkdirSync(r.dirs.outputDir, { recursive: true });
          const loops = (saved.checkpoint as any).snapshot.context.loops;
          const k: number = loops.autofixAttempt;
          const snapshot = (saved.checkpoint as any).snapshot;
          const inAutofix = snapshot.value === 'autofix';
          // k validations had run; the fixes before k had finished, and fix k too unless it was under way (it runs again).
          const underWay = inAutofix && snapshot.children.autofixWork.snapshot.status === 'active';
          const prefix = takeUntil(expectedEffects(path), k, underWay ? k - 1 : k);
          writeFileSync(join(r.dir, 'validations'), `${k}\n`);
          writeFileSync(join(r.dir, 'effects'), prefix.map((e) => `${e}\n`).join(''));
          // The validation before a fix that cannot start removed the fixer: if it had run, it is gone.
          if (validationArgs(path).includes(`${k}=fail-unfix`)) rmSync(r.fixer, { force: true });
          plantSaved(saved, r.dirs.outputDir);
          const resumed = await runOrchestration(configOf(path, r.dir, r.dirs.outputDir, true));
          expect(resumed.exitCode, `resumed at fix ${k} (${underWay ? 'under way' : inAutofix ? 'finished' : 'in validation'})`).toBe(EXIT_CODE_OF[path.final]);
          expect(r.effects()).toEqual(expectedEffects(path));
        }
      });
    }
  });
}

/** The effects that had happened once `validations` validations ran and `fixes` fixes finished. */
function takeUntil(effects: string[], validations: number, fixes: number): string[] {
  const out: string[] = [];
  let v = 0;
  let f = 0;
  for (const e of effects) {
    if (e.startsWith('validation')) {
      if (v >= validations) break;
      v += 1;
    } else {
      if (f >= fixes) break;
      f += 1;
    }
    out.push(e);
  }
  return out;
}
