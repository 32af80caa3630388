/**
 * The file store's journal (src/checkpoint/durable-journal.ts): within a stage a checkpoint is one
 * line appended to `<checkpoint>.journal`; what a killed run left there is what a resume reads; a
 * torn line is passed over; the file holds the newest checkpoint once the lock is released.
 */
import { appendFileSync, existsSync, readFileSync, truncateSync, writeFileSync } from 'node:fs';
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

  it('a journal line carries the appends made since the last one; a locked load after a power loss puts back what the file lost', async () => {
    const { path, journal, store } = setUp();
    const records = join(path, '..', 'records.jsonl');
    const log = appendLog(records);
    const lock = await store.lock();
    log.add('{"n":1}\n');
    await store.save(at('execution', 1), { carry: log.carrier });
    // The first write is whole: the log was synced for it, nothing carried.
    expect(log.synced).toEqual([8]);
    log.add('{"n":2}\n');
    await store.save(at('execution', 2), { carry: log.carrier });
    log.add('{"n":3}\n');
    log.add('{"n":4}\n');
    await store.save(at('execution', 3), { carry: log.carrier });
    expect(log.synced).toEqual([8]);
    const lines = readFileSync(journal, 'utf8').trim().split('\n');
    expect(lines).toHaveLength(4);
    expect(JSON.parse(lines[0]!).carried).toMatchObject({ path: records, from: 8, text: '{"n":2}\n' });
    expect(JSON.parse(lines[2]!).carried).toMatchObject({ path: records, from: 16, text: '{"n":3}\n{"n":4}\n' });
    // The checkpoint lines are still what a resume reads.
    expect(await startedIn(path)).toBe(3);

    // A power loss took the log's unsynced tail (and left a torn half line): a reader that does
    // not hold the lock leaves the file alone; a run that resumes (holding it) gets it back whole.
    writeFileSync(records, '{"n":1}\n{"n"');
    const reader = new FileCheckpointStore(path);
    expect(((await reader.load()) as CheckpointV3).attempts_started).toBe(3);
    expect(readFileSync(records, 'utf8')).toBe('{"n":1}\n{"n"');
    await lock.release();
    const resumed = new FileCheckpointStore(path);
    const second = await resumed.lock();
    expect(readFileSync(records, 'utf8')).toBe('{"n":1}\n{"n"');
    writeFileSync(journal, lines.map((line) => `${line}\n`).join(''));
    expect(((await resumed.load()) as CheckpointV3).attempts_started).toBe(3);
    expect(readFileSync(records, 'utf8')).toBe('{"n":1}\n{"n":2}\n{"n":3}\n{"n":4}\n');
    await second.release();
  });

  it('a file that holds every carried byte is not touched; a carried line whose text was altered is passed over', async () => {
    const { path, journal, store } = setUp();
    const records = join(path, '..', 'records.jsonl');
    const log = appendLog(records);
    const lock = await store.lock();
    await store.save(at('execution', 1), { carry: log.carrier });
    log.add('{"n":1}\n');
    await store.save(at('execution', 2), { carry: log.carrier });
    log.add('{"n":2}\n');
    log.add('{"n":3 the step after the checkpoint}\n');
    // A kill, not a power loss: the file holds all, beyond the last carried range too. (The lock's
    // release removes the journal; a killed run leaves it: it is put back as the kill left it.)
    const before = readFileSync(records, 'utf8');
    const left = readFileSync(journal, 'utf8');
    await lock.release();
    writeFileSync(journal, left);
    const again = new FileCheckpointStore(path);
    const held = await again.lock();
    expect(((await again.load()) as CheckpointV3).attempts_started).toBe(2);
    expect(readFileSync(records, 'utf8')).toBe(before);

    // Altered carried text fails its digest: it is never written into the log.
    const tampered = readFileSync(journal, 'utf8').replace('{\\"n\\":1}', '{\\"n\\":9}');
    writeFileSync(journal, tampered);
    writeFileSync(records, '');
    await again.load();
    expect(readFileSync(records, 'utf8')).toBe('');
    await held.release();
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
