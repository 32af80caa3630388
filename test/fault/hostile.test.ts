// Hostile programs as plan steps (test/fixtures/hostile/): each run ends with a clean execution
// record, and no process of the step survives the run. The writer writes 64 MiB here and 1 GiB
// under `npm run test:fault` (FAULT_SCALE=full).
import { readFileSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { executionRecordSchema } from '../../src/report/schema.js';
import { ROOT, runCli, tempDir } from '../support/cli.js';
import { processesMarked } from './crash-harness.js';

const HOSTILE = join(ROOT, 'test', 'fixtures', 'hostile');
const BYTES = (process.env.FAULT_SCALE === 'full' ? 1024 : 64) * 1024 * 1024;

interface Hostile {
  name: string;
  extraArgs?: string[];
  step?: Record<string, unknown>;
  exitCode: number;
  status: string;
  error: RegExp | null;
  signal?: string | null;
}

const CASES: Hostile[] = [
  { name: 'ignore-term', step: { timeoutMs: 300 }, exitCode: 124, status: 'timeout', error: /timed out after 300 ms/ },
  { name: 'fork-grandchildren', exitCode: 0, status: 'success', error: null },
  { name: 'close-stdout', exitCode: 0, status: 'success', error: null },
  { name: 'write-bytes', extraArgs: [String(BYTES)], exitCode: 0, status: 'success', error: null },
  { name: 'die-by-signal', exitCode: 1, status: 'failed', error: /killed by signal SIGUSR1/, signal: 'SIGUSR1' },
  { name: 'silent-forever', step: { heartbeatMs: 300 }, exitCode: 124, status: 'timeout', error: /Stalled: no output and no heartbeat for 300 ms/ },
];

/** Live members of a process group (zombies excluded), from /proc. */
function groupMembers(pgid: number): number[] {
  const members: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      if (Number(fields[2]) === pgid && fields[0] !== 'Z' && fields[0] !== 'X') members.push(Number(entry));
    } catch {
      // gone meanwhile
    }
  }
  return members;
}

describe('hostile programs', () => {
  it.each(CASES)('$name: a clean record, exit $exitCode, and no process of it left', async (hostile) => {
    const dir = tempDir('ao-hostile-');
    const out = join(dir, 'out');
    const pidFile = join(dir, 'pid');
    const marker = `hostile-${hostile.name}-${process.pid}-${Date.now()}`;
    const plan = join(dir, 'plan.json');
    const step = { id: hostile.name, bin: join(HOSTILE, `${hostile.name}.sh`), args: [pidFile, ...(hostile.extraArgs ?? [])], ...hostile.step };
    writeFileSync(plan, JSON.stringify({ stages: { execution: [step] } }));

    const outcome = await runCli([out, '--plan', plan, '--kill-grace-ms', '200'], { env: { FAULT_MARKER: marker } });
    expect(outcome.exitCode, outcome.stderr).toBe(hostile.exitCode);
    expect(outcome.stderr).not.toMatch(/^\s+at /m);

    const report = JSON.parse(readFileSync(join(out, 'orchestrator_run_report.json'), 'utf8'));
    const records = report.stage_executions.filter((e: any) => e.step === hostile.name);
    expect(records).toHaveLength(1);
    const record = records[0];
    expect(executionRecordSchema().safeParse(record).success).toBe(true);
    expect(record.status).toBe(hostile.status);
    if (hostile.error) expect(record.error).toMatch(hostile.error);
    else expect(record.error).toBeNull();
    if (hostile.signal !== undefined) expect(record.signal).toBe(hostile.signal);
    if (hostile.name === 'write-bytes') {
      expect(statSync(record.stdout_log).size).toBe(BYTES);
      expect(report.orchestrator_max_rss_kib / 1024, 'orchestrator peak RSS, MiB').toBeLessThan(100);
    }

    const pgid = Number(readFileSync(pidFile, 'utf8').trim());
    expect(groupMembers(pgid), `processes of group ${pgid}`).toEqual([]);
    const left = processesMarked(marker);
    for (const p of left) process.kill(p.pid, 'SIGKILL');
    expect(left).toEqual([]);
  }, 60_000);
});
