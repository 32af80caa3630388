/**
 * The model for model-based tests: every path the orchestration machine can take when each stage
 * that runs a program (planning: the manager; execution: the executor) may end in any of its six
 * outcomes and the pass-through stages only pass, and a real configuration that makes a real run
 * take that path, with the fixture program test/fixtures/stage.sh.
 */
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import type { TestContext } from 'vitest';
import type { EventObject } from 'xstate';
import { getSimplePaths } from 'xstate/graph';
import {
  CHECKPOINT_FILE,
  RECORDS_FILE,
  REPORT_FILE,
  type Checkpoint,
  type CheckpointLock,
  type RunCheckpointStore,
  FileCheckpointStore,
  type OrchestrationConfigInput,
  type RunOptions,
  type RunResult,
  orchestrationMachine,
  runOrchestration,
} from '../../src/index.js';
import { STAGE, tempDir } from '../support/cli.js';

/** Short enough to keep the suite fast; the timing-out program sleeps far longer. */
export const TIMEOUT_MS = 400;

export const OUTCOMES = {
  success: { status: 'success', error: null },
  failed: { status: 'failed', error: 'Command exited with code 7' },
  timeout: { status: 'timeout', error: `Command timed out after ${TIMEOUT_MS} ms` },
  artifact_missing_file: { status: 'artifact_missing', error: 'Expected artifacts were not produced' },
  artifact_missing_json: { status: 'artifact_missing', error: 'Expected JSON artifacts are malformed' },
  spawn_failed: { status: 'spawn_failed', error: 'Failed to spawn command' },
} as const;
export type Outcome = keyof typeof OUTCOMES;

export const PROGRAM_STAGES = ['planning', 'execution'] as const;
type ProgramStage = (typeof PROGRAM_STAGES)[number];

/** The exit-code contract, written out (not imported) so a change to it fails here. */
export const EXIT_CODE_OF: Record<string, number> = { done: 0, failed: 1, blocked: 3, timeout: 124 };

export interface ModelStep {
  stage: string;
  outcome: Outcome;
}

export interface ModelPath {
  name: string;
  simulateBlocked: boolean;
  /** One step per stage entered, in order, with how its work ended. */
  steps: ModelStep[];
  final: string;
}

interface StageDoneEvent extends EventObject {
  type: 'xstate.done.actor.stageWork';
  output: { stage: string; status: string; error: string | null; completedSteps: string[]; spentCost: number };
}

function isProgramStage(stage: string): stage is ProgramStage {
  return (PROGRAM_STAGES as readonly string[]).includes(stage);
}

/**
 * The events the traversal may send in a state: the stage actor's done event, one per outcome.
 * The actor's error event (a crash of the stage actor itself, a bug) is not offered: no program
 * can cause it.
 */
function stageOutcomeEvents(snapshot: { value: unknown; status: string }): StageDoneEvent[] {
  if (snapshot.status !== 'active' || typeof snapshot.value !== 'string') return [];
  const stage = snapshot.value;
  const outcomes: Outcome[] = isProgramStage(stage) ? (Object.keys(OUTCOMES) as Outcome[]) : ['success'];
  return outcomes.map((outcome) => ({
    type: 'xstate.done.actor.stageWork',
    output: { stage, ...OUTCOMES[outcome], completedSteps: [], spentCost: 0 },
  }));
}

function outcomeOf(event: StageDoneEvent): Outcome {
  const found = (Object.keys(OUTCOMES) as Outcome[]).find(
    (outcome) => OUTCOMES[outcome].status === event.output.status && OUTCOMES[outcome].error === event.output.error,
  );
  if (!found) throw new Error(`the traversal sent an event the model does not offer: ${JSON.stringify(event)}`);
  return found;
}

/** Every simple path from the start to a terminal state. */
export function modelPaths(simulateBlocked: boolean): ModelPath[] {
  const paths = getSimplePaths(orchestrationMachine, {
    input: { runId: 'model', simulateBlocked },
    events: stageOutcomeEvents as never,
  });
  return paths
    .filter((path) => path.state.status === 'done')
    .map((path) => {
      // steps[0] is xstate.init into planning; each later step is the event that ended the stage before it.
      const stages = path.steps.slice(0, -1).map((step) => String(step.state.value));
      const events = path.steps.slice(1).map((step) => step.event as unknown as StageDoneEvent);
      const steps = stages.map((stage, index) => {
        const event = events[index]!;
        if (event.output.stage !== stage) throw new Error(`event for ${event.output.stage} sent in ${stage}`);
        return { stage, outcome: outcomeOf(event) };
      });
      const final = String(path.state.value);
      const name = `${simulateBlocked ? '[simulateBlocked] ' : ''}${steps.map((s) => `${s.stage}:${s.outcome}`).join(' > ')} => ${final}`;
      return { name, simulateBlocked, steps, final };
    });
}

/** What a real run of the path must show. */
export function expectedOf(path: ModelPath) {
  const stages = path.steps.map((step) => step.stage);
  const programSteps = path.steps.filter((step) => isProgramStage(step.stage));
  return {
    terminalState: path.final,
    exitCode: EXIT_CODE_OF[path.final],
    transitions: stages.map((stage, index) => [index === 0 ? null : stages[index - 1], stage]),
    executions: programSteps.map((step) => [step.stage, OUTCOMES[step.outcome].status]),
    /** `<stage> 1` for each program that really started (a spawn failure starts nothing). */
    programRuns: programSteps.filter((step) => step.outcome !== 'spawn_failed').map((step) => `${step.stage} 1`),
  };
}

/** Where one run keeps its files. */
export interface RunDirs {
  outputDir: string;
  /** Artifacts the fixture programs write, and the missing program. */
  workDir: string;
  sideEffects: string;
}

/** Fresh directories for one run; removed when the test passes, kept for a look when it fails. */
export function runDirs(prefix: string, context: TestContext): RunDirs {
  const root = tempDir(prefix);
  context.onTestFinished(({ task }) => {
    if (task.result?.state === 'pass') rmSync(root, { recursive: true, force: true });
  });
  return { outputDir: join(root, 'out'), workDir: root, sideEffects: join(root, 'side-effects.txt') };
}

/** A configured stage that is not on the path (the run ends before it) is given a passing program. */
function invocationFor(stage: ProgramStage, outcome: Outcome, dirs: RunDirs) {
  const env = { SIDE_EFFECTS: dirs.sideEffects };
  const artifact = join(dirs.workDir, `${stage}-artifact.json`);
  switch (outcome) {
    case 'success':
      return { bin: STAGE, args: ['artifact', artifact], env, expectedArtifacts: [artifact] };
    case 'failed':
      return { bin: STAGE, args: ['fail', '7'], env };
    case 'timeout':
      return { bin: STAGE, args: ['sleep', '30'], env, timeoutMs: TIMEOUT_MS };
    case 'artifact_missing_file':
      return { bin: STAGE, args: ['ok'], env, expectedArtifacts: [join(dirs.workDir, `${stage}-never-written.txt`)] };
    case 'artifact_missing_json':
      return { bin: STAGE, args: ['malformed', artifact], env, expectedArtifacts: [artifact] };
    case 'spawn_failed':
      return { bin: join(dirs.workDir, 'no-such-program'), args: [], env };
  }
}

export function configFor(path: ModelPath, dirs: RunDirs, resume = false): OrchestrationConfigInput {
  const outcomeAt = (stage: ProgramStage) => path.steps.find((step) => step.stage === stage)?.outcome ?? 'success';
  return {
    outputDir: dirs.outputDir,
    resume,
    simulateBlocked: path.simulateBlocked,
    // Programs that should pass get ample time even on a loaded machine.
    timeoutMs: 20_000,
    killGraceMs: 200,
    // The V0 shape: one step per program stage, with V0's idempotency keys.
    plan: {
      stages: {
        planning: [{ id: 'manager', idempotencyKey: 'stage:Planning', ...invocationFor('planning', outcomeAt('planning'), dirs) }],
        execution: [{ id: 'executor', idempotencyKey: 'stage:Execution', ...invocationFor('execution', outcomeAt('execution'), dirs) }],
      },
    },
  };
}

export function runPath(path: ModelPath, dirs: RunDirs, options: RunOptions & { resume?: boolean } = {}): Promise<RunResult> {
  const { resume = false, ...runOptions } = options;
  return runOrchestration(configFor(path, dirs, resume), runOptions);
}

export interface SavedCheckpoint {
  checkpoint: Checkpoint;
  /** The report file as it was on disk when the checkpoint was saved, or null. */
  report: string | null;
  /** The records log beside the report, as it was then, or null. */
  records: string | null;
}

/** Puts a saved checkpoint, and the report and records log beside it, in `outputDir`. */
export function plantSaved(saved: SavedCheckpoint, outputDir: string): void {
  writeFileSync(join(outputDir, CHECKPOINT_FILE), `${JSON.stringify(saved.checkpoint, null, 2)}\n`);
  if (saved.report !== null) writeFileSync(join(outputDir, REPORT_FILE), saved.report);
  if (saved.records !== null) writeFileSync(join(outputDir, RECORDS_FILE), saved.records);
}

/** A file store that keeps a copy of every checkpoint it saves, and of the report and records log beside it. */
export class RecordingStore implements RunCheckpointStore {
  readonly saved: SavedCheckpoint[] = [];
  private readonly inner: FileCheckpointStore;

  constructor(
    path: string,
    private readonly reportPath: string,
  ) {
    this.inner = new FileCheckpointStore(path);
  }

  get location(): string {
    return this.inner.location;
  }

  lock(options?: { killGraceMs?: number }): Promise<CheckpointLock> {
    return this.inner.lock(options);
  }

  load(): Promise<Checkpoint | null> {
    return this.inner.load();
  }

  async save(checkpoint: Checkpoint): Promise<void> {
    // Copied before anything else runs: the runner may keep mutating what it handed over.
    const copy = structuredClone(checkpoint);
    await this.inner.save(checkpoint);
    this.saved.push({ checkpoint: copy, report: readOrNull(this.reportPath), records: readOrNull(join(dirname(this.reportPath), RECORDS_FILE)) });
  }
}

function readOrNull(path: string): string | null {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return null;
  }
}
