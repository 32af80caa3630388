/**
 * The file store's journal (src/checkpoint/durable-journal.ts): within a stage a checkpoint is one
 * line appended to `<checkpoint>.journal`; what a killed run left there is what a resume reads; a
 * torn line is passed over; the file holds the newest checkpoint once the lock is released.
 */
import { appendFileSync, existsSync, readFileSync, rmSync, truncateSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { FileCheckpointStore } from '../../src/checkpoint/file-store.js';
import type { CheckpointV3 } from '../../src/checkpoint/schema.js';
import { tempDir } from '../support/cli.js';
import { checkpointFor } from '../stores/contract.js';

/** A checkpoint in the machine state `value`, told apart by its `attempts_started`. */
function at(value: CheckpointV3['snapshot']['value'], attemptsStarted: number): CheckpointV3 {
  const base = checkpointFor('run_journal') as CheckpointV3;
  return { ...base, attempts_started: attemptsStarted, snapshot: { ...base.snapshot, value } };
}

const fileText = (path: string) => JSON.parse(readFileSync(path, 'utf8')) as CheckpointV3 & { integrity: { revision: number } };
const startedIn = async (path: string) => ((await new FileCheckpointStore(path).load()) as CheckpointV3 | null)?.attempts_started;

function setUp() {
  const path = join(tempDir('ao-journal-'), 'orchestrator_checkpoint.json');
  return { path, journal: `${path}.journal`, store: new FileCheckpointStore(path) };
}

describe('the checkpoint journal', () => {
  it('holds the steps of a stage as lines; a reader (a resume) takes the newest; the lock’s release writes it into the file and removes the journal', async () => {
    const { path, journal, store } = setUp();
    const lock = await store.lock();
    await store.save(at('execution', 1));
    await store.save(at('execution', 2));
    await store.save(at('execution', 3));
    // The file was written whole once; the two later checkpoints are lines of the journal.
    expect(fileText(path).attempts_started).toBe(1);
    expect(readFileSync(journal, 'utf8').trim().split('\n')).toHaveLength(2);
    // A run killed here: what a resume loads is the newest.
    expect(await startedIn(path)).toBe(3);

    await lock.release();
    expect(existsSync(journal)).toBe(false);
    expect(fileText(path).attempts_started).toBe(3);
    expect(fileText(path).integrity.revision).toBe(3);
  });

  it('writes a new machine state whole, and empties the journal then', async () => {
    const { path, journal, store } = setUp();
    const lock = await store.lock();
    await store.save(at('execution', 1));
    await store.save(at('execution', 2));
    await store.save(at('validation', 3));
    expect(fileText(path).attempts_started).toBe(3);
    expect(readFileSync(journal, 'utf8')).toBe('');
    await lock.release();
  });

  it('passes over a torn last line (a kill mid-append): the line before it wins', async () => {
    const { path, journal, store } = setUp();
    await store.lock();
    await store.save(at('execution', 1));
    await store.save(at('execution', 2));
    await store.save(at('execution', 3));
    appendFileSync(journal, '{"run_id":"run_jou');
    expect(await startedIn(path)).toBe(3);
    // The newest whole line cut short: its digest fails, the one before it is taken.
    const text = readFileSync(journal, 'utf8');
    truncateSync(journal, text.indexOf('\n') + 1 + 40);
    expect(await startedIn(path)).toBe(2);
  });

  it('reads a file cut short by a power loss from the journal, and ignores a journal older than the file', async () => {
    const { path, journal, store } = setUp();
    await store.lock();
    await store.save(at('execution', 1));
    await store.save(at('execution', 2));
    const whole = readFileSync(path, 'utf8');
    writeFileSync(path, whole.slice(0, 100));
    expect(await startedIn(path)).toBe(2);

    // Another writer (a fresh store, as an approval is) writes a newer revision whole: the stale line loses.
    writeFileSync(path, whole);
    const next = new FileCheckpointStore(path);
    await next.load();
    await next.save(at('execution', 7));
    expect(fileText(path).integrity.revision).toBe(3);
    expect(existsSync(journal)).toBe(true);
    expect(await startedIn(path)).toBe(7);
  });

  it('brings the file up to date soon after a journal line, without waiting for the release', async () => {
    const { path, store } = setUp();
    const lock = await store.lock();
    await store.save(at('execution', 1));
    await store.save(at('execution', 2));
    const deadline = Date.now() + 10_000;
    while (fileText(path).attempts_started !== 2 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    expect(fileText(path).attempts_started).toBe(2);
    await lock.release();
  });
});

describe('records carried by the journal (one sync a step)', () => {
  /** A file appended to as the records log is, handing its unsynced appends to the store. */
  function appendLog(path: string) {
    let text = '';
    let durable = 0;
    const synced: number[] = [];
    return {
      add(line: string) {
        appendFileSync(path, line);
        text += line;
      },
      carrier: {
        pending: () => (durable === text.length ? null : { path, from: durable, text: text.slice(durable), end: text.length }),
        carried: (end: number) => {
          durable = Math.max(durable, end);
        },
        sync: async () => {
          synced.push(text.length);
          durable = text.length;
        },
      },
      synced,
    };
  }

  /** A run of three journal lines carrying records, killed: the journal as it left it, and the log's text. */
  async function killedRun() {
    const { path, journal, store } = setUp();
    const records = join(path, '..', 'records.jsonl');
    const log = appendLog(records);
    const lock = await store.lock();
    log.add('{"n":1}\n');
    await store.save(at('execution', 1), { carry: log.carrier });
    log.add('{"n":2}\n');
    await store.save(at('execution', 2), { carry: log.carrier });
    log.add('{"n":3}\n');
    log.add('{"n":4}\n');
    await store.save(at('execution', 3), { carry: log.carrier });
    const left = readFileSync(journal, 'utf8');
    // Killed here: the lock is never released (which would write the file whole and remove the
    // journal); its file is removed as a takeover of a dead holder's lock would.
    void lock;
    rmSync(`${path}.lock`);
    return { path, journal, records, log, lines: left.trim().split('\n') };
  }

  /** What a run resuming does: lock, load, then put back what the journal carried for its log. */
  async function resume(path: string, records: string) {
    const store = new FileCheckpointStore(path);
    const lock = await store.lock();
    const checkpoint = (await store.load()) as CheckpointV3;
    const refused = store.restoreAppends(records);
    await lock.release();
    return { started: checkpoint.attempts_started, refused };
  }

  it('a journal line carries the appends made since the last one, with the run and revision of its checkpoint', async () => {
    const { path, records, log, lines } = await killedRun();
    // The first write is whole: the log was synced for it, nothing carried.
    expect(log.synced).toEqual([8]);
    expect(lines).toHaveLength(4);
    expect(JSON.parse(lines[0]!).carried).toMatchObject({ path: records, from: 8, text: '{"n":2}\n', run_id: 'run_journal', revision: 2 });
    expect(JSON.parse(lines[2]!).carried).toMatchObject({ path: records, from: 16, text: '{"n":3}\n{"n":4}\n', revision: 3 });
    // The checkpoint lines are still what a resume reads.
    expect(await startedIn(path)).toBe(3);
  });

  it('after a power loss (the log cut short, a torn half line), a resume puts the carried records back; a reader without the lock changes nothing', async () => {
    const { path, records } = await killedRun();
    writeFileSync(records, '{"n":1}\n{"n"');
    expect(await startedIn(path)).toBe(3);
    expect(readFileSync(records, 'utf8')).toBe('{"n":1}\n{"n"');
    expect(await resume(path, records)).toEqual({ started: 3, refused: null });
    expect(readFileSync(records, 'utf8')).toBe('{"n":1}\n{"n":2}\n{"n":3}\n{"n":4}\n');
  });

  it('zeros where the records were (a power loss) are written over; the tail after the last carried range is cut', async () => {
    const { path, records } = await killedRun();
    writeFileSync(records, `{"n":1}\n${'\0'.repeat(8)}{"n":3}\n\0\0\0\0\0\0\0\0garbage after`);
    expect((await resume(path, records)).refused).toBeNull();
    expect(readFileSync(records, 'utf8')).toBe('{"n":1}\n{"n":2}\n{"n":3}\n{"n":4}\n');
  });

  it('after a kill the log holds every carried byte and more: it is left as it is', async () => {
    const { path, records, log } = await killedRun();
    log.add('{"n":5, a step no checkpoint counts yet}\n');
    const before = readFileSync(records, 'utf8');
    expect(await resume(path, records)).toEqual({ started: 3, refused: null });
    expect(readFileSync(records, 'utf8')).toBe(before);
  });

  it('a log that holds other records where the journal says (not the run’s log) is left as it is, and the resume is told why', async () => {
    const { path, records } = await killedRun();
    const other = '{"other":1}\n{"other":2}\n{"other":3}\n';
    writeFileSync(records, other);
    const { refused } = await resume(path, records);
    expect(refused).toContain(`the records log ${records} holds other records`);
    expect(readFileSync(records, 'utf8')).toBe(other);
  });

  it('ranges carried for another file or by another run are not restored; nor is a missing file created', async () => {
    const { path, journal, records } = await killedRun();
    const elsewhere = join(path, '..', 'elsewhere.jsonl');
    writeFileSync(elsewhere, '');
    expect((await resume(path, elsewhere)).refused).toBeNull();
    expect(readFileSync(elsewhere, 'utf8')).toBe('');

    // Another run's lines: the journal is relabelled as if an earlier run had left it.
    const left = readFileSync(journal, 'utf8');
    writeFileSync(journal, left.replaceAll('"run_id":"run_journal","revision"', '"run_id":"run_other","revision"'));
    writeFileSync(records, '{"n":1}\n');
    await resume(path, records);
    expect(readFileSync(records, 'utf8')).toBe('{"n":1}\n');

    rmSync(records);
    writeFileSync(journal, left.replaceAll('"revision":2', '"revision":9').replaceAll('"revision":3', '"revision":9'));
    expect((await resume(path, records)).refused).toContain('cannot be checked');
    expect(existsSync(records)).toBe(false);
  });

  it('a carried line whose text was altered is passed over', async () => {
    const { path, journal, records } = await killedRun();
    writeFileSync(journal, readFileSync(journal, 'utf8').replace('{\\"n\\":2}', '{\\"n\\":9}'));
    writeFileSync(records, '{"n":1}\n');
    await resume(path, records);
    // Only the untampered later range goes back, at its offset (the gap is zeros, never read as a record).
    expect(readFileSync(records, 'utf8')).toBe(`{"n":1}\n${'\0'.repeat(8)}{"n":3}\n{"n":4}\n`);
  });

  it('empties the journal only after the carrier synced: a new machine state syncs the log first', async () => {
    const { path, store } = setUp();
    const log = appendLog(join(path, '..', 'records.jsonl'));
    const lock = await store.lock();
    await store.save(at('execution', 1), { carry: log.carrier });
    log.add('{"n":1}\n');
    await store.save(at('execution', 2), { carry: log.carrier });
    expect(log.synced).toEqual([0]);
    log.add('{"n":2}\n');
    await store.save(at('validation', 3), { carry: log.carrier });
    expect(log.synced).toEqual([0, 16]);
    await lock.release();
  });
});
