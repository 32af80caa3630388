/** `export` writes a queue's runs and executions as CSV or JSON Lines a spreadsheet or jq reads, and never a secret. */
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { csvCell } from '../../src/cli/commands/export.js';
import { fixtureStep, writePlan } from '../plans/plan-runs.js';
import { describeWithServer, REDIS_URL, reachable } from '../stores/servers.js';
import { runCli, tempDir } from '../support/cli.js';
import { WORKER_TEST_MS, type Queue, freshQueue, startWorker, submit, until } from './queue-support.js';

const up = await reachable(REDIS_URL, 6379);

/** RFC 4180, one record per line (the export never breaks a record over lines). */
function parseCsvLine(line: string): string[] {
  const cells: string[] = [];
  let i = 0;
  while (i <= line.length) {
    if (line[i] === '"') {
      let cell = '';
      i += 1;
      for (;;) {
        const quote = line.indexOf('"', i);
        if (quote < 0) throw new Error(`unterminated quote in ${line}`);
        cell += line.slice(i, quote);
        if (line[quote + 1] === '"') {
          cell += '"';
          i = quote + 2;
          continue;
        }
        i = quote + 1;
        break;
      }
      cells.push(cell);
      if (i < line.length && line[i] !== ',') throw new Error(`text after a quoted cell in ${line}`);
      i += 1;
    } else {
      const comma = line.indexOf(',', i);
      const end = comma < 0 ? line.length : comma;
      cells.push(line.slice(i, end));
      i = end + 1;
    }
  }
  return cells;
}

describeWithServer('export: runs and executions as CSV and JSON Lines', up, new URL(REDIS_URL).host || '127.0.0.1:6379', () => {
  let queue: Queue;
  const awkward = 'note=a,b "quoted"\nsecond line';
  beforeAll(async () => {
    queue = await freshQueue();
    const dir = tempDir('ao-export-');
    const trace = join(dir, 'trace');
    const plan = writePlan(dir, { stages: { planning: [fixtureStep('s1', trace, {}, { args: [join(import.meta.dirname, '..', 'fixtures', 'step.mjs'), trace, awkward] })], execution: [fixtureStep('s2', trace, { 'fail-attempts': 1 })] } });
    await submit(queue, plan, 'run_export_a');
    const worker = startWorker(queue, join(dir, 'w'));
    await until(queue, (rows) => rows[0]?.state === 'failed', 'the run to end failed');
    worker.child.kill('SIGTERM');
    await worker.done;
    await submit(queue, plan, 'run_export_b');
  }, WORKER_TEST_MS);
  afterAll(async () => {
    await queue?.drop();
  });

  const env = () => ({ ORCHESTRATOR_REDIS_URL: queue.address.replace('redis://', 'redis://:hunter2@'), EXPORT_SECRET: 'do-not-leak-me' });

  it('--what executions --format csv: a header, then one properly quoted line per execution', async () => {
    const out = await runCli(['export', '--format', 'csv', '--what', 'executions'], { env: env() });
    expect(out.exitCode).toBe(0);
    const lines = out.stdout.trimEnd().split('\n');
    expect(lines).toHaveLength(3);
    const [header, ...records] = lines.map(parseCsvLine);
    expect(header!.slice(0, 6)).toEqual(['run_id', 'worker', 'stage', 'step', 'attempt', 'status']);
    const rows = records.map((cells) => Object.fromEntries(header!.map((name, i) => [name, cells[i]])));
    expect(rows).toMatchObject([
      { run_id: 'run_export_a', stage: 'planning', step: 's1', attempt: '1', status: 'success', exit_code: '0', env_keys: '[]' },
      { run_id: 'run_export_a', stage: 'execution', step: 's2', attempt: '1', status: 'failed', exit_code: '1' },
    ]);
    expect(JSON.parse(rows[0]!.args!)).toContain(awkward);
    expect(out.stdout + out.stderr).not.toMatch(/hunter2|do-not-leak-me/);
  });

  it('--format jsonl (runs by default): one JSON object per run, queued ones included', async () => {
    const out = await runCli(['export', '--format', 'jsonl'], { env: env() });
    expect(out.exitCode).toBe(0);
    const rows = out.stdout.trim().split('\n').map((line) => JSON.parse(line));
    expect(rows).toMatchObject([
      { run_id: 'run_export_a', state: 'failed', steps: { 'planning/s1': { success: 1, failure: 0 }, 'execution/s2': { success: 0, failure: 1 } } },
      { run_id: 'run_export_b', state: 'queued', steps: {} },
    ]);
    const csv = await runCli(['export', '--format', 'csv'], { env: env() });
    expect(csv.stdout.split('\n')[0]).toBe('run_id,state,stage,started,duration_s,attempts,worker');
    expect(csv.stdout + out.stdout + csv.stderr).not.toMatch(/hunter2|do-not-leak-me/);
  });

  it('a cell: quoted when it holds a comma, quote or edge space; a line break kept on the line as \\n', () => {
    expect(csvCell('plain')).toBe('plain');
    expect(csvCell('exit 1,\n"boom"\r\n')).toBe('"exit 1,\\n""boom""\\n"');
    expect(csvCell(' x')).toBe('" x"');
    expect(csvCell(null)).toBe('');
    expect(csvCell(['a', 'b,c'])).toBe('"[""a"",""b,c""]"');
  });

  it('a bad --format is a one-line usage error, exit 2', async () => {
    const out = await runCli(['export', '--format', 'xml']);
    expect(out.exitCode).toBe(2);
    expect(out.stderr.trim().split('\n')[0]).toMatch(/--format/);
  });
});
