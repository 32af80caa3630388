// Seeded bad input: thousands of command lines, plan files and checkpoint files through the
// library's own parsing layers in-process (what the CLI calls), and a sample of each through the
// CLI. Every case is accepted or refused with a contract exit code and a one-line message, never
// a stack trace, and a refused checkpoint is left byte for byte as it was.
// BAD_INPUT_SEED picks the cases; BAD_INPUT_SCALE multiplies their number.
import { readFileSync, mkdirSync, truncateSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { CommanderError } from 'commander';
import { describe, expect, it } from 'vitest';
import { FileCheckpointStore } from '../../src/checkpoint/file-store.js';
import { parseCommandLine } from '../../src/cli/program.js';
import { OrchestratorError } from '../../src/exit-codes.js';
import { loadPlanFile } from '../../src/plan/load.js';
import { planStart } from '../../src/run/start-plan.js';
import { ROOT, runCli, tempDir } from '../support/cli.js';
import { argvCase, deepJson, documentCase, seeded } from './bad-inputs.js';

const SEED = Number(process.env.BAD_INPUT_SEED ?? 6);
const SCALE = Number(process.env.BAD_INPUT_SCALE ?? 1);
const CONTRACT = [0, 1, 2, 3, 124];
const STACK_FRAME = /^\s+at /m;

interface Verdict {
  exitCode: number;
  message: string | null;
}

/** What the CLI's main() makes of an error thrown by a parsing layer; null for a bug. */
function verdictOf(error: unknown): Verdict | null {
  if (error instanceof CommanderError) {
    const help = ['commander.helpDisplayed', 'commander.version', 'commander.help'].includes(error.code);
    return { exitCode: help ? 0 : 2, message: error.message.replace(/^error: /, '').replace(/\s*\n\s*/g, ' ') };
  }
  if (error instanceof OrchestratorError) return { exitCode: error.exitCode, message: error.message };
  return null;
}

function judge(failures: string[], label: string, error: unknown, allowed: number[]): void {
  const verdict = verdictOf(error);
  if (verdict === null) {
    failures.push(`${label}: not a contract error: ${String(error).split('\n')[0]}`);
    return;
  }
  if (!allowed.includes(verdict.exitCode)) failures.push(`${label}: exit ${verdict.exitCode}, expected one of ${allowed.join('/')}`);
  if (verdict.message !== null && (verdict.message.includes('\n') || verdict.message.trim() === '')) {
    failures.push(`${label}: message is not one line: ${JSON.stringify(verdict.message.slice(0, 200))}`);
  }
}

const GOOD_PLAN = {
  $schema: './plan.schema.json',
  version: 1,
  timeoutMs: 5000,
  concurrency: 2,
  maxWallMs: 60000,
  budget: { cost: 10 },
  requireApproval: ['closure'],
  stages: {
    planning: [{ id: 'plan', bin: '/bin/true', args: ['a'], env: { K: 'v' }, expectedArtifacts: ['x.json', { path: 'y.json', schema: 's.json' }] }],
    execution: [
      { id: 'a', bin: '/bin/true', retries: { max: 2, backoffMs: 10, factor: 2 }, heartbeatMs: 1000 },
      { id: 'b', bin: '/bin/true', needs: ['a'], requiresApproval: true, idempotencyKey: 'k', cwd: '.' },
    ],
  },
};

const CHECKPOINTS = ['v2-interrupted-in-execution', 'v2-failed-at-execution', 'v1-interrupted-in-execution', 'v2-blocked', 'v0-planning-completed'].map(
  (name) => JSON.parse(readFileSync(join(ROOT, 'snapshots', 'checkpoints', `${name}.json`), 'utf8')) as unknown,
);
const VERSIONS = [0, 1, 3, -1, '2', 2.5, null, 1e21, true, [2], { v: 2 }];

/** Silences commander's --help and --version output (it writes to stdout) while `fn` runs. */
function quietly<T>(fn: () => T): T {
  const write = process.stdout.write;
  process.stdout.write = (() => true) as typeof process.stdout.write;
  try {
    return fn();
  } finally {
    process.stdout.write = write;
  }
}

describe(`bad input, seed ${SEED}`, () => {
  it(`${2000 * SCALE} command lines, parsed in-process: a request, or a contract exit code and one line`, () => {
    const random = seeded(SEED);
    const failures: string[] = [];
    let refused = 0;
    for (let i = 0; i < 2000 * SCALE; i++) {
      const argv = argvCase(random, 'out');
      try {
        quietly(() => parseCommandLine(argv));
      } catch (error) {
        refused++;
        judge(failures, `argv ${JSON.stringify(argv).slice(0, 200)}`, error, CONTRACT);
      }
    }
    expect(failures).toEqual([]);
    expect(refused).toBeGreaterThan(500);
  });

  it(`${1500 * SCALE} plan files, loaded in-process: a plan, or exit 2 and one line naming the file`, async () => {
    const random = seeded(SEED + 1);
    const dir = tempDir('ao-bad-plan-');
    const failures: string[] = [];
    const kinds = new Map<string, number>();
    for (let i = 0; i < 1500 * SCALE; i++) {
      const { kind, bytes } = documentCase(random, GOOD_PLAN, { versions: [0, 2, '1', null], hugeBytes: 64 * 1024 });
      const path = join(dir, `plan-${i}.${random() < 0.15 ? 'yaml' : 'json'}`);
      writeFileSync(path, bytes);
      try {
        await loadPlanFile(path);
        kinds.set('(accepted)', (kinds.get('(accepted)') ?? 0) + 1);
      } catch (error) {
        kinds.set(kind, (kinds.get(kind) ?? 0) + 1);
        judge(failures, `plan ${path} (${kind})`, error, [2]);
        if (error instanceof OrchestratorError && !error.message.includes(path)) failures.push(`plan ${path}: message does not name the file`);
      }
    }
    expect(failures).toEqual([]);
    expect(kinds.get('(accepted)') ?? 0).toBeLessThan(1500 * SCALE * 0.6);
  });

  it(`${1000 * SCALE} checkpoint files, read in-process as --resume reads them: resumable, or exit 1, one line, file untouched`, async () => {
    const random = seeded(SEED + 2);
    const dir = tempDir('ao-bad-checkpoint-');
    const failures: string[] = [];
    for (let i = 0; i < 1000 * SCALE; i++) {
      const good = CHECKPOINTS[i % CHECKPOINTS.length];
      const { kind, bytes } = documentCase(random, good, { versions: VERSIONS, hugeBytes: 1024 * 1024 });
      const path = join(dir, `checkpoint-${i}.json`);
      writeFileSync(path, bytes);
      const store = new FileCheckpointStore(path);
      try {
        await planStart(store, true);
      } catch (error) {
        judge(failures, `checkpoint ${i} (${kind})`, error, [1]);
      }
      if (!readFileSync(path).equals(bytes)) failures.push(`checkpoint ${i} (${kind}): the file changed`);
    }
    expect(failures).toEqual([]);
  });
});

describe(`bad input through the CLI, seed ${SEED}`, () => {
  /** The user's view: a contract exit code; on failure one line (plus the usage line on exit 2), no stack. */
  function userView(failures: string[], label: string, outcome: { exitCode: number | null; stdout: string; stderr: string }) {
    // Off a TTY a run also writes one progress line per transition ("a -> b", "b (failed) => failed").
    const progress = /^(run|[a-z_]+ \([a-z_]+\)) (->|=>) [a-z_]+$/;
    const lines = outcome.stderr
      .split('\n')
      .filter((l) => l !== '' && !l.startsWith('autonomy-orchestrator: warning: ') && !progress.test(l));
    if (outcome.exitCode === null || !CONTRACT.includes(outcome.exitCode)) failures.push(`${label}: exit ${outcome.exitCode}`);
    if (STACK_FRAME.test(outcome.stderr)) failures.push(`${label}: stack trace on stderr`);
    if (outcome.exitCode === 0) return;
    const usage = outcome.exitCode === 2 && lines[1]?.startsWith('Usage: ') ? 1 : 0;
    if (lines.length !== 1 + usage || !lines[0]!.startsWith('autonomy-orchestrator: ')) {
      failures.push(`${label}: stderr is not one message line: ${JSON.stringify(outcome.stderr.slice(0, 300))}`);
    }
  }

  async function pool<T>(items: T[], width: number, work: (item: T) => Promise<void>): Promise<void> {
    const queue = [...items];
    await Promise.all(Array.from({ length: width }, async () => {
      for (let item = queue.shift(); item !== undefined; item = queue.shift()) await work(item);
    }));
  }

  it(`a sample of command lines, plan files and checkpoint files (${24 * SCALE} + ${10 * SCALE} + ${24 * SCALE})`, async () => {
    const random = seeded(SEED + 3);
    const failures: string[] = [];
    const root = tempDir('ao-bad-cli-');
    const cwd = join(root, 'a', 'b');
    mkdirSync(cwd, { recursive: true });
    const cases: (() => Promise<void>)[] = [];

    for (let i = 0; i < 24 * SCALE; i++) {
      const argv = argvCase(random, `out-${i}`).filter((arg) => !arg.includes('\u0000'));
      cases.push(async () => userView(failures, `argv ${JSON.stringify(argv).slice(0, 200)}`, await runCli(argv, { cwd })));
    }
    for (let i = 0; i < 10 * SCALE; i++) {
      const { kind, bytes } = documentCase(random, GOOD_PLAN, { versions: [0, 2], hugeBytes: 4 * 1024 * 1024 });
      const path = join(root, `plan-${i}.${i % 4 === 0 ? 'yaml' : 'json'}`);
      writeFileSync(path, bytes);
      cases.push(async () => userView(failures, `plan ${i} (${kind})`, await runCli([join(root, `plan-out-${i}`), '--plan', path], { cwd })));
    }
    for (let i = 0; i < 24 * SCALE; i++) {
      const { kind, bytes } = documentCase(random, CHECKPOINTS[i % CHECKPOINTS.length], { versions: VERSIONS, hugeBytes: 4 * 1024 * 1024 });
      const out = join(root, `resume-${i}`);
      mkdirSync(out);
      const path = join(out, 'orchestrator_checkpoint.json');
      writeFileSync(path, bytes);
      cases.push(async () => {
        const outcome = await runCli([out, '--resume', '--manager-bin', '/bin/true', '--executor-bin', '/bin/true'], { cwd });
        const label = `checkpoint ${i} (${kind})`;
        userView(failures, label, outcome);
        if (outcome.exitCode === 0 && !outcome.stdout.includes('Terminal state: done')) failures.push(`${label}: exit 0 without finishing: ${JSON.stringify(outcome.stdout)}`);
        // Refused, as opposed to resumed into a run that then failed: the file must be as it was.
        const refused = outcome.exitCode !== 0 && !outcome.stdout.includes('Run report:');
        if (refused && !readFileSync(path).equals(bytes)) failures.push(`${label}: refused (${outcome.stderr.trim()}) and the file changed`);
      });
    }
    await pool(cases, 4, (run) => run());
    expect(failures).toEqual([]);
  }, 120_000);
});

describe('a checkpoint saved in a stage whose stage work is missing, foreign or of another stage', () => {
  it('is refused by --resume (exit 1, one line naming the field) and left as it was, not resumed into a run that waits for nothing', async () => {
    const good = CHECKPOINTS[0] as any;
    const work = good.snapshot.children.stageWork;
    const variants = {
      missing: {},
      foreign: { stageWork: { ...work, src: 'somethingElse' } },
      'of another stage': { stageWork: { ...work, snapshot: { ...work.snapshot, input: { ...work.snapshot.input, stage: 'closure' } } } },
      'not a snapshot': { stageWork: { ...work, snapshot: 5 } },
      'not running': { stageWork: { ...work, snapshot: { ...work.snapshot, status: 'done' } } },
    };
    for (const [name, children] of Object.entries(variants)) {
      const out = tempDir('ao-bad-work-');
      const path = join(out, 'orchestrator_checkpoint.json');
      const bytes = Buffer.from(JSON.stringify({ ...good, snapshot: { ...good.snapshot, children } }));
      writeFileSync(path, bytes);
      const outcome = await runCli([out, '--resume', '--manager-bin', '/bin/true', '--executor-bin', '/bin/true']);
      expect(outcome.exitCode, name).toBe(1);
      expect(outcome.stderr, name).toMatch(/^autonomy-orchestrator: cannot read checkpoint .*: field snapshot\.children\.stageWork[^\n]*\n$/);
      expect(readFileSync(path).equals(bytes), name).toBe(true);
    }
  });
});

describe('expected artifacts that are huge, binary or deeply nested JSON', () => {
  it('are judged malformed without reading them whole into memory', async () => {
    const dir = tempDir('ao-bad-artifact-');
    const huge = join(dir, 'huge.json');
    writeFileSync(huge, '');
    truncateSync(huge, (process.env.FAULT_SCALE === 'full' ? 1024 : 256) * 1024 * 1024); // sparse: costs no disk
    const binary = join(dir, 'binary.json');
    writeFileSync(binary, Buffer.from(Array.from({ length: 65536 }, (_, i) => (i * 7919) % 256)));
    const deep = join(dir, 'deep.json');
    writeFileSync(deep, deepJson(200_000));
    const schema = join(dir, 'schema.json');
    writeFileSync(schema, JSON.stringify({ type: 'array', items: { $ref: '#' } }));
    const cases = [
      { path: huge, problem: /larger than/ },
      { path: binary, problem: /not valid JSON/ },
      { path: deep, problem: null },
      { path: deep, schema, problem: /./ },
    ];
    for (const [i, artifact] of cases.entries()) {
      const out = join(dir, `out-${i}`);
      const plan = join(dir, `plan-${i}.json`);
      const expected = 'schema' in artifact ? { path: artifact.path, schema: artifact.schema } : artifact.path;
      writeFileSync(plan, JSON.stringify({ stages: { execution: [{ id: 'make', bin: '/bin/true', expectedArtifacts: [expected] }] } }));
      const outcome = await runCli([out, '--plan', plan]);
      const report = JSON.parse(readFileSync(join(out, 'orchestrator_run_report.json'), 'utf8'));
      const record = report.stage_executions.find((e: any) => e.step === 'make');
      expect(STACK_FRAME.test(outcome.stderr), outcome.stderr).toBe(false);
      if (artifact.problem === null) {
        expect(record.status, JSON.stringify(record)).toBe('success');
      } else {
        expect(outcome.exitCode).toBe(1);
        expect(record.status).toBe('artifact_missing');
        expect(record.malformed_artifacts).toEqual([artifact.path]);
        expect(record.error).toMatch(artifact.problem);
      }
      expect(report.orchestrator_max_rss_kib / 1024, 'orchestrator peak RSS, MiB').toBeLessThan(200);
    }
  }, 60_000);
});
