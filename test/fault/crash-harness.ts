/**
 * The crash harness: runs a multi-stage, multi-step plan through the CLI, SIGKILLs the
 * orchestrator at seeded random moments, then `--resume`s again and again until the run is done.
 *
 * Moments: a pause point (src/fault/pause-point.ts: in the middle of or just before the rename of a
 * checkpoint or report write, in the middle of a line of the checkpoint's journal, just before a
 * step's program starts, just after it ends), or a plain
 * delay after the start (which lands during steps, between them, or in a write).
 *
 * After each kill it reads what the killed run left (checkpoint with its journal, as a resume
 * reads it; report) with the library's own parsers; once a run is done it scans /proc for processes of the run.
 */
import { readFileSync, readdirSync, rmSync, writeFileSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import { FileCheckpointStore } from '../../src/checkpoint/file-store.js';
import type { CheckpointV3 } from '../../src/checkpoint/schema.js';
import { reportSchemas } from '../../src/report/schema.js';
import { ROOT, startCli, tempDir } from '../support/cli.js';
import { idsOf } from '../support/id-set.js';

const STEP = join(ROOT, 'test', 'fixtures', 'fault-step.sh');
const CHECKPOINT = 'orchestrator_checkpoint.json';
const REPORT = 'orchestrator_run_report.json';
/** The report's companion: every execution record, appended as it is made (the report lags it). */
const RECORDS = 'orchestrator_run_report.executions.jsonl';

export interface CrashCounts {
  seed: number;
  kills: number;
  killsAt: Record<string, number>;
  invocations: number;
  runsFinished: number;
  /** Starts of a step, as a new attempt, after a checkpoint recorded it as succeeded. Must be 0. */
  completedStepsRunAgain: number;
  /** Steps a checkpoint recorded as succeeded and a later checkpoint did not. Must be 0. */
  progressLost: number;
  unreadableCheckpoints: number;
  invalidReports: number;
  /** A finished run's report lacks a success record (this or an earlier invocation) for a step. */
  finishedReportsMissingASuccess: number;
  /** After a kill, the checkpoint records a step as succeeded that neither the report nor its records log holds a success of. */
  checkpointAheadOfReport: number;
  /** Processes of the run alive once it was done. Must be 0. */
  processesLeft: number;
  /** Runs that did not finish within the invocation cap. Must be 0. */
  stuckRuns: number;
  /** Informational: step attempts started again because a kill cut them (or their record) short. */
  attemptsRepeated: number;
  problems: string[];
}

/** mulberry32: small, seeded, good enough to pick moments. */
export function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

type Plan = { concurrency: number; stages: Record<string, { id: string; bin: string; args: string[]; retries?: unknown; needs?: string[] }[]> };

function faultPlan(trace: string, random: () => number): Plan {
  const secs = () => (random() < 0.3 ? '0' : (0.01 + random() * 0.06).toFixed(3));
  const step = (id: string, extra: Record<string, unknown> = {}, failFirst = false) => ({
    id,
    bin: STEP,
    args: [trace, secs(), ...(failFirst ? ['fail-first'] : [])],
    ...extra,
  });
  return {
    concurrency: 2,
    stages: {
      planning: [step('p1'), step('p2'), step('p3', { needs: ['p1'] })],
      execution: [
        step('e1'),
        step('e2'),
        step('e3', { needs: ['e1', 'e2'] }),
        step('flaky', { retries: { max: 2, backoffMs: 40, factor: 1 } }, true),
        step('e5'),
        step('e6', { needs: ['e3'] }),
      ],
      validation: [step('v1')],
      closure: [step('c1'), step('c2', { needs: ['c1'] })],
    },
  };
}

const POINTS = [
  `mid-write:${CHECKPOINT}`,
  `before-rename:${CHECKPOINT}`,
  `mid-append:${CHECKPOINT}.journal`,
  `mid-write:${REPORT}`,
  `before-rename:${REPORT}`,
  'step-start',
  'spawned',
  'step-end',
  'lock-written',
  'lock-linked',
];

type Moment = { kind: 'pause'; point: string; nth: number } | { kind: 'delay'; ms: number } | { kind: 'none' };

function pickMoment(random: () => number): Moment {
  const r = random();
  if (r < 0.05) return { kind: 'none' };
  if (r < 0.4) return { kind: 'delay', ms: Math.floor(random() * 900) };
  const point = POINTS[Math.floor(random() * POINTS.length)]!;
  // The lock is taken once per invocation; a step's points come once per step; writes more often.
  const spread = point.startsWith('lock') ? 1 : point.startsWith('step') || point === 'spawned' ? 6 : 16;
  return { kind: 'pause', point, nth: 1 + Math.floor(random() * spread) };
}

export async function crashHarness(options: { seed: number; kills: number; log?: (line: string) => void }): Promise<CrashCounts> {
  const random = rng(options.seed);
  const counts: CrashCounts = {
    seed: options.seed,
    kills: 0,
    killsAt: {},
    invocations: 0,
    runsFinished: 0,
    completedStepsRunAgain: 0,
    progressLost: 0,
    unreadableCheckpoints: 0,
    invalidReports: 0,
    finishedReportsMissingASuccess: 0,
    checkpointAheadOfReport: 0,
    processesLeft: 0,
    stuckRuns: 0,
    attemptsRepeated: 0,
    problems: [],
  };
  const problem = (text: string) => {
    counts.problems.push(text);
    options.log?.(`PROBLEM ${text}`);
  };
  let scenario = 0;
  while (counts.kills < options.kills) {
    scenario++;
    await runScenario(`s${options.seed}-${scenario}`, random, counts, problem);
  }
  return counts;
}

async function runScenario(marker: string, random: () => number, counts: CrashCounts, problem: (text: string) => void): Promise<void> {
  const dir = tempDir('ao-fault-');
  const out = join(dir, 'out');
  const trace = join(dir, 'trace.txt');
  const pauseFile = join(dir, 'paused');
  const plan = faultPlan(trace, random);
  const planPath = join(dir, 'plan.json');
  writeFileSync(planPath, JSON.stringify(plan));
  const allSteps = Object.entries(plan.stages).flatMap(([stage, steps]) => steps.map((s) => `${stage}/${s.id}`));

  /** Step -> the attempt a checkpoint recorded it as succeeded with. */
  const succeeded = new Map<string, number>();
  let traceSeen = 0;
  const checkTrace = () => {
    const lines = readLines(trace);
    for (const line of lines.slice(traceSeen)) {
      const [event, step, attempt] = line.split(' ');
      if (event !== 'start') continue;
      const n = Number(attempt);
      if (n > 1) counts.attemptsRepeated++;
      const recorded = succeeded.get(step!);
      if (recorded !== undefined && n > recorded) {
        counts.completedStepsRunAgain++;
        problem(`${marker}: ${step} ran again as attempt ${n} after a checkpoint recorded attempt ${recorded} as succeeded`);
      }
    }
    traceSeen = lines.length;
  };

  for (let invocation = 0; ; invocation++) {
    if (invocation >= 60) {
      counts.stuckRuns++;
      problem(`${marker}: not done after 60 invocations`);
      break;
    }
    const moment = pickMoment(random);
    rmSync(pauseFile, { force: true });
    const resume = existsSync(join(out, CHECKPOINT));
    const env: Record<string, string> = { FAULT_MARKER: marker, ORCHESTRATOR_TEST_PAUSE_FILE: pauseFile };
    if (moment.kind === 'pause') env.ORCHESTRATOR_TEST_PAUSE_AT = `${moment.point}@${moment.nth}`;
    const cli = startCli([out, '--plan', planPath, '--kill-grace-ms', '200', ...(resume ? ['--resume'] : [])], { env });
    counts.invocations++;
    let killedAt: string | null = null;
    const kill = (at: string) => {
      if (cli.child.exitCode !== null || cli.child.signalCode !== null) return;
      killedAt = at;
      cli.child.kill('SIGKILL');
    };
    let poll: NodeJS.Timeout | null = null;
    let timer: NodeJS.Timeout | null = null;
    if (moment.kind === 'pause') {
      poll = setInterval(() => {
        if (existsSync(pauseFile)) kill(moment.point);
      }, 5);
    } else if (moment.kind === 'delay') {
      timer = setTimeout(() => kill('delay'), moment.ms);
    }
    const outcome = await cli.done;
    if (poll) clearInterval(poll);
    if (timer) clearTimeout(timer);

    if (killedAt !== null && outcome.signal === 'SIGKILL') {
      counts.kills++;
      counts.killsAt[killedAt] = (counts.killsAt[killedAt] ?? 0) + 1;
      checkTrace();
      const checkpoint = await readCheckpoint(join(out, CHECKPOINT), counts, problem, marker);
      const report = readReportChecked(join(out, REPORT), counts, problem, marker);
      if (checkpoint) {
        const recorded = successesIn(report, readLines(join(out, RECORDS)));
        const now = succeededIn(checkpoint, plan, recorded);
        const unrecorded = [...now.keys()].filter((step) => !recorded.has(step));
        if (unrecorded.length > 0) {
          counts.checkpointAheadOfReport++;
          problem(`${marker}: killed at ${killedAt}: the checkpoint records ${unrecorded.join(', ')} as succeeded, neither the report nor its records log has a success of it`);
        }
        for (const step of succeeded.keys()) {
          if (!now.has(step)) {
            counts.progressLost++;
            problem(`${marker}: ${step} was recorded as succeeded, then no longer`);
          }
        }
        for (const [step, attempt] of now) if (!succeeded.has(step)) succeeded.set(step, attempt);
      }
      continue;
    }
    checkTrace();
    if (outcome.exitCode !== 0) {
      problem(`${marker}: invocation ended ${outcome.exitCode ?? outcome.signal}: ${outcome.stderr.trim().split('\n')[0]}`);
      counts.stuckRuns++;
      break;
    }
    counts.runsFinished++;
    const report = readReportChecked(join(out, REPORT), counts, problem, marker);
    if (report) {
      const ok = successesIn(report, []);
      const missing = allSteps.filter((s) => !ok.has(s));
      if (missing.length > 0) {
        counts.finishedReportsMissingASuccess++;
        problem(`${marker}: the finished report has no success record of ${missing.join(', ')}`);
      }
    }
    const left = processesMarked(marker);
    if (left.length > 0) {
      counts.processesLeft += left.length;
      problem(`${marker}: processes left: ${left.map((p) => `${p.pid} ${p.cmdline}`).join('; ')}`);
      for (const p of left) tryKill(p.pid);
    }
    break;
  }
  rmSync(dir, { recursive: true, force: true });
}

function readLines(path: string): string[] {
  try {
    return readFileSync(path, 'utf8').split('\n').filter(Boolean);
  } catch {
    return [];
  }
}

/** What a resume would start from: the checkpoint file, or its journal's newest whole line when that is newer. */
async function readCheckpoint(path: string, counts: CrashCounts, problem: (t: string) => void, marker: string): Promise<CheckpointV3 | null> {
  try {
    const checkpoint = await new FileCheckpointStore(path).load();
    if (checkpoint === null) return null; // killed before the first write: nothing to read, nothing lost
    if (!('schema_version' in checkpoint)) throw new Error('a V0 checkpoint');
    return checkpoint;
  } catch (error) {
    counts.unreadableCheckpoints++;
    problem(`${marker}: unreadable checkpoint: ${(error as Error).message}`);
    return null;
  }
}

function readReportChecked(path: string, counts: CrashCounts, problem: (t: string) => void, marker: string) {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch {
    return null;
  }
  try {
    const parsed = reportSchemas().runReportSchema.safeParse(JSON.parse(text));
    if (parsed.success) return parsed.data;
    throw new Error(`${parsed.error.issues[0]?.path.join('.')}: ${parsed.error.issues[0]?.message}`);
  } catch (error) {
    counts.invalidReports++;
    problem(`${marker}: invalid report: ${(error as Error).message}`);
    return null;
  }
}

/** Step → the attempt of its success record, from the report and the records log beside it. */
function successesIn(report: ReturnType<typeof readReportChecked>, recordLines: string[]): Map<string, number> {
  const records: { stage: string; step: string; status: string; attempt: number }[] = report ? [...report.earlier_stage_executions, ...report.stage_executions] : [];
  for (const line of recordLines) {
    try {
      records.push(JSON.parse(line).record);
    } catch {
      // a line torn by the kill: its record was not made
    }
  }
  const found = new Map<string, number>();
  for (const e of records) if (e.status === 'success') found.set(`${e.stage}/${e.step}`, e.attempt);
  return found;
}

/**
 * Steps the checkpoint records as succeeded, with the attempt that succeeded: its record's (the
 * checkpoint counts attempts of steps not done only), else the checkpoint's count.
 */
export function succeededIn(checkpoint: CheckpointV3, plan: Plan, recorded: Map<string, number>): Map<string, number> {
  const done = new Map<string, number>();
  const add = (key: string) => done.set(key, recorded.get(key) ?? checkpoint.attempts[key] ?? 0);
  const context = checkpoint.snapshot.context as { completedStages: string[]; completedSteps?: Record<string, unknown> };
  const stagesDone = checkpoint.terminal_state === 'done' ? Object.keys(plan.stages) : context.completedStages;
  for (const stage of stagesDone) for (const step of plan.stages[stage] ?? []) add(`${stage}/${step.id}`);
  for (const [stage, ids] of Object.entries(context.completedSteps ?? {})) for (const id of idsOf(ids)) add(`${stage}/${id}`);
  const child = (checkpoint.snapshot.children as Record<string, any>).stageWork?.snapshot;
  if (child?.scheduler) for (const id of idsOf(child.scheduler.done)) add(`${child.input.stage}/${id}`);
  return done;
}

/** Live processes that carry FAULT_MARKER=<marker> in their environment (inherited from the CLI). */
export function processesMarked(marker: string): { pid: number; cmdline: string }[] {
  const found: { pid: number; cmdline: string }[] = [];
  const needle = `FAULT_MARKER=${marker}\0`;
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry) || Number(entry) === process.pid) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      const state = stat.slice(stat.lastIndexOf(')') + 2)[0];
      if (state === 'Z' || state === 'X') continue;
      if (!readFileSync(`/proc/${entry}/environ`, 'latin1').includes(needle)) continue;
      found.push({ pid: Number(entry), cmdline: readFileSync(`/proc/${entry}/cmdline`, 'latin1').replaceAll('\0', ' ').trim() });
    } catch {
      // gone meanwhile, or not ours to read
    }
  }
  return found;
}

function tryKill(pid: number): void {
  try {
    process.kill(pid, 'SIGKILL');
  } catch {
    // already gone
  }
}

export function formatCounts(c: CrashCounts): string {
  const at = Object.entries(c.killsAt)
    .sort()
    .map(([k, v]) => `${k} ${v}`)
    .join(', ');
  return [
    `crash harness, seed ${c.seed}: ${c.kills} kills (${at}) over ${c.invocations} invocations`,
    `  runs finished ${c.runsFinished}, completed steps run again ${c.completedStepsRunAgain}, progress lost ${c.progressLost},`,
    `  unreadable checkpoints ${c.unreadableCheckpoints}, invalid reports ${c.invalidReports}, checkpoint ahead of report ${c.checkpointAheadOfReport},`,
    `  finished reports missing a success ${c.finishedReportsMissingASuccess},`,
    `  processes left ${c.processesLeft}, stuck runs ${c.stuckRuns}; attempts repeated after a kill (allowed) ${c.attemptsRepeated}`,
  ].join('\n');
}
