// The records log: a run's records, read back for its report. A short run's records come from
// memory, a long run's from the file; either way the report must hold exactly what was appended.
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { RecordsLog, loggedRecords } from '../../src/report/records-log.js';
import type { StageExecution } from '../../src/report/schema.js';

const work = mkdtempSync(join(tmpdir(), 'records-log-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

function record(i: number): StageExecution {
  return {
    stage: 'execution',
    idempotency_key: `stage:execution/step:s${i}`,
    command: '/bin/true',
    args: [`--n=${i}`, 'x'.repeat(200)],
    env_keys: ['API_TOKEN'],
    started_at_unix_secs: 1_700_000_000 + i,
    duration_ms: i,
    exit_code: 0,
    status: 'success',
    error: null,
    missing_artifacts: [],
    malformed_artifacts: [],
    step: `s${i}`,
    attempt: 1,
    started_at_unix_ms: 1_700_000_000_000 + i,
    timeout_ms: 30_000,
    signal: null,
    stdout_log: `logs/s${i}.stdout.log`,
    stderr_log: `logs/s${i}.stderr.log`,
    interrupted: false,
    cost: i / 10,
  };
}

describe('RecordsLog', () => {
  // 600 records of ~650 bytes: well past what is kept in memory, so the file is read back.
  for (const count of [0, 3, 600]) {
    it(`gives back the ${count} records of this invocation as appended, and the file holds them too`, () => {
      const path = join(work, `run-${count}.jsonl`);
      const log = new RecordsLog(path, 'run_a', { fresh: true });
      const appended = Array.from({ length: count }, (_, i) => record(i));
      for (const r of appended) log.append(r);
      expect([...log.current()]).toEqual(appended);
      // Read twice (the report is written more than once): the same again.
      expect([...log.current()]).toEqual(appended);
      expect([...log.earlier()]).toEqual([]);
      log.close();
      expect(loggedRecords(path, 'run_a')).toEqual(appended);
      expect(readFileSync(path, 'utf8').split('\n').filter(Boolean)).toHaveLength(count);
    });
  }

  it("keeps a resumed invocation's records apart from the earlier ones", () => {
    const path = join(work, 'resumed.jsonl');
    const first = new RecordsLog(path, 'run_b', { fresh: true });
    const before = [record(1), record(2)];
    for (const r of before) first.append(r);
    first.close();
    const second = new RecordsLog(path, 'run_b', { fresh: false });
    const after = Array.from({ length: 400 }, (_, i) => record(100 + i));
    after.slice(0, 1).forEach((r) => second.append(r));
    expect([...second.earlier()]).toEqual(before);
    expect([...second.current()]).toEqual(after.slice(0, 1));
    after.slice(1).forEach((r) => second.append(r));
    expect([...second.current()]).toEqual(after);
    second.close();
    expect(loggedRecords(path, 'run_b')).toEqual([...before, ...after]);
  });
});
