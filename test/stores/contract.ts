/**
 * The CheckpointStore contract, written once and run against every store (file, Postgres, Redis)
 * with real servers. A store passes when a user could not tell which one holds their runs.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeEach, expect, it } from 'vitest';
import { parseCheckpoint } from '../../src/checkpoint/parse.js';
import type { Checkpoint } from '../../src/checkpoint/schema.js';
import type { CheckpointStore } from '../../src/checkpoint/store.js';
import { CheckpointConflictError, LeaseLostError } from '../../src/checkpoint/store-errors.js';
import { ROOT } from '../support/cli.js';

export interface StoreUnderTest {
  store: CheckpointStore;
  /** The stored document's bytes, as the store keeps them. */
  raw(runId: string): Promise<string | null>;
  /** Replaces the stored document's bytes behind the store's back. */
  tamper(runId: string, text: string): Promise<void>;
  cleanup(): Promise<void>;
}

const SAMPLE = join(ROOT, 'snapshots', 'checkpoints', 'v2-interrupted-in-execution.json');

export function checkpointFor(runId: string, updatedAt = 1_700_000_000): Checkpoint {
  const sample = parseCheckpoint(JSON.parse(readFileSync(SAMPLE, 'utf8')), SAMPLE);
  return { ...sample, run_id: runId, updated_at_unix_secs: updatedAt };
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

export function storeContract(make: () => Promise<StoreUnderTest>): void {
  let subject: StoreUnderTest;
  let store: CheckpointStore;
  beforeEach(async () => {
    subject = await make();
    store = subject.store;
  });
  afterEach(async () => {
    await store.close();
    await subject.cleanup();
  });

  it('reads null and lists nothing before any write', async () => {
    expect(await store.read('run_a')).toBeNull();
    expect(await store.list()).toEqual([]);
  });

  it('writes at revision 0, reads back the same checkpoint at revision 1, then 2', async () => {
    const checkpoint = checkpointFor('run_a');
    expect(await store.write('run_a', checkpoint, { revision: 0 })).toBe(1);
    const stored = await store.read('run_a');
    expect(stored?.revision).toBe(1);
    // The content comes back as written; the seal stays in the store, beside it.
    expect(stored!.checkpoint).toEqual(checkpoint);
    const { integrity } = JSON.parse((await subject.raw('run_a'))!) as { integrity?: unknown };
    expect(integrity).toMatchObject({ sha256: expect.stringMatching(/^[0-9a-f]{64}$/), revision: 1 });
    expect(await store.write('run_a', { ...checkpoint, updated_at_unix_secs: 2 }, { revision: 1 })).toBe(2);
    expect((await store.read('run_a'))?.checkpoint.updated_at_unix_secs).toBe(2);
  });

  it('compare-and-swap: a write at a stale revision is refused and changes nothing', async () => {
    await store.write('run_a', checkpointFor('run_a', 1), { revision: 0 });
    await store.write('run_a', checkpointFor('run_a', 2), { revision: 1 });
    const before = await subject.raw('run_a');
    const stale = store.write('run_a', checkpointFor('run_a', 3), { revision: 1 });
    await expect(stale).rejects.toBeInstanceOf(CheckpointConflictError);
    await expect(stale).rejects.toMatchObject({ reason: 'revision', message: expect.stringMatching(/revision 2, not 1/) });
    await expect(store.write('run_a', checkpointFor('run_a', 3), { revision: 0 })).rejects.toMatchObject({ reason: 'revision' });
    expect(await subject.raw('run_a')).toBe(before);
  });

  it('compare-and-swap: of eight writers racing from one revision, exactly one wins', async () => {
    await store.write('run_a', checkpointFor('run_a', 1), { revision: 0 });
    const results = await Promise.allSettled(
      Array.from({ length: 8 }, (_, i) => store.write('run_a', checkpointFor('run_a', 100 + i), { revision: 1 })),
    );
    const won = results.filter((r) => r.status === 'fulfilled');
    expect(won).toHaveLength(1);
    const stored = await store.read('run_a');
    expect(stored?.revision).toBe(2);
    expect(results[results.indexOf(won[0]!)]).toMatchObject({ value: 2 });
    expect(stored?.checkpoint.updated_at_unix_secs).toBe(100 + results.indexOf(won[0]!));
  });

  it('lists runs with revision and terminal state; deletes (only at the given revision)', async () => {
    await store.write('run_b', { ...checkpointFor('run_b'), terminal_state: 'done' }, { revision: 0 });
    await store.write('run_a', checkpointFor('run_a'), { revision: 0 });
    await store.write('run_a', checkpointFor('run_a', 5), { revision: 1 });
    expect(await store.list()).toEqual([
      { runId: 'run_a', revision: 2, terminalState: null, updatedAtUnixSecs: 5 },
      { runId: 'run_b', revision: 1, terminalState: 'done', updatedAtUnixSecs: 1_700_000_000 },
    ]);
    expect(await store.delete('run_a', { revision: 1 })).toBe(false);
    expect(await store.delete('run_a', { revision: 2 })).toBe(true);
    expect(await store.delete('run_a')).toBe(false);
    expect(await store.read('run_a')).toBeNull();
    expect((await store.list()).map((e) => e.runId)).toEqual(['run_b']);
  });

  it('leases: one holder at a time; renewed while live; tokens only grow', async () => {
    const first = await store.acquireLease('run_a', 'worker-1', 5_000);
    expect(first).toMatchObject({ runId: 'run_a', owner: 'worker-1', token: expect.any(Number) });
    expect(await store.acquireLease('run_a', 'worker-2', 5_000)).toBeNull();
    const renewed = await store.renewLease(first!, 5_000);
    expect(renewed.token).toBe(first!.token);
    await store.releaseLease(renewed);
    const second = await store.acquireLease('run_a', 'worker-2', 5_000);
    expect(second!.token).toBeGreaterThan(first!.token);
    await expect(store.renewLease(first!, 5_000)).rejects.toBeInstanceOf(LeaseLostError);
    await store.releaseLease(first!); // not the live one: nothing happens
    expect(await store.acquireLease('run_a', 'worker-3', 5_000)).toBeNull();
  });

  it('leases: an expired lease can be taken over, and its holder can neither renew nor write (fencing)', async () => {
    await store.write('run_a', checkpointFor('run_a', 1), { revision: 0 });
    const old = await store.acquireLease('run_a', 'worker-1', 200);
    expect(await store.write('run_a', checkpointFor('run_a', 2), { revision: 1, leaseToken: old!.token })).toBe(2);
    await sleep(350);
    const taken = await store.acquireLease('run_a', 'worker-2', 5_000);
    expect(taken!.token).toBeGreaterThan(old!.token);
    await expect(store.renewLease(old!, 5_000)).rejects.toBeInstanceOf(LeaseLostError);
    const before = await subject.raw('run_a');
    // The stale holder even knows the current revision: its token still stops it.
    await expect(store.write('run_a', checkpointFor('run_a', 3), { revision: 2, leaseToken: old!.token })).rejects.toMatchObject({
      reason: 'fenced',
      message: expect.stringMatching(/lease token \d+ is no longer the live lease/),
    });
    expect(await subject.raw('run_a')).toBe(before);
    expect(await store.write('run_a', checkpointFor('run_a', 4), { revision: 2, leaseToken: taken!.token })).toBe(3);
  });

  it('leases: taken over from a live holder (takeOver), the token still grows and fences the holder; leaseHolder names who holds it and for how long', async () => {
    expect(await store.leaseHolder('run_a')).toBeNull();
    const live = await store.acquireLease('run_a', 'host-a:1:aa', 5_000);
    expect(await store.acquireLease('run_a', 'host-b:2:bb', 5_000)).toBeNull();
    const holder = await store.leaseHolder('run_a');
    expect(holder).toMatchObject({ owner: 'host-a:1:aa', token: live!.token });
    expect(holder!.expiresInMs).toBeGreaterThan(0);
    expect(holder!.expiresInMs).toBeLessThanOrEqual(5_000);
    const taken = await store.acquireLease('run_a', 'host-b:2:bb', 5_000, { takeOver: true });
    expect(taken!.token).toBeGreaterThan(live!.token);
    expect((await store.leaseHolder('run_a'))!.owner).toBe('host-b:2:bb');
    await expect(store.renewLease(live!, 5_000)).rejects.toBeInstanceOf(LeaseLostError);
    await expect(store.write('run_a', checkpointFor('run_a'), { revision: 0, leaseToken: live!.token })).rejects.toMatchObject({ reason: 'fenced' });
    expect(await store.write('run_a', checkpointFor('run_a'), { revision: 0, leaseToken: taken!.token })).toBe(1);
  });

  it('leases: an unfenced write is refused while a live lease is held, and allowed once it is released', async () => {
    const lease = await store.acquireLease('run_a', 'worker-1', 5_000);
    await expect(store.write('run_a', checkpointFor('run_a'), { revision: 0 })).rejects.toMatchObject({ reason: 'fenced' });
    await store.releaseLease(lease!);
    await expect(store.write('run_a', checkpointFor('run_a'), { revision: 0, leaseToken: lease!.token })).rejects.toMatchObject({ reason: 'fenced' });
    expect(await store.write('run_a', checkpointFor('run_a'), { revision: 0 })).toBe(1);
  });

  it('integrity: a tampered checkpoint is refused with a clear error and left as it is', async () => {
    await store.write('run_a', checkpointFor('run_a'), { revision: 0 });
    const text = (await subject.raw('run_a'))!;
    const tampered = text.replace('"completed_stages":[', '"completed_stages":["closure",').replace('"completed_stages": [', '"completed_stages": [\n    "closure",');
    expect(tampered).not.toBe(text);
    await subject.tamper('run_a', tampered);
    await expect(store.read('run_a')).rejects.toThrow(/cannot read checkpoint .*run_a.*: its sha256 \w+… does not match integrity\.sha256 .*; it was left as it is/);
    expect(await subject.raw('run_a')).toBe(tampered);
    expect(await store.list()).toEqual([]);
  });

  it('integrity: a torn checkpoint (cut short) is refused and left as it is', async () => {
    await store.write('run_a', checkpointFor('run_a'), { revision: 0 });
    const torn = (await subject.raw('run_a'))!.slice(0, 200);
    await subject.tamper('run_a', torn);
    await expect(store.read('run_a')).rejects.toThrow(/cannot read checkpoint .*run_a.*: it is not valid JSON \(torn or edited\); it was left as it is/);
    expect(await subject.raw('run_a')).toBe(torn);
  });

  it('refuses run ids that are not one safe name', async () => {
    await expect(store.read('../etc')).rejects.toThrow(/run id "..\/etc": expected/);
  });
}
