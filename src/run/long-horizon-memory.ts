/**
 * V0's long-horizon memory (`--memory-path`), as JSON rather than upstream's binary container: one
 * entry per run (its end, its codes, the reliability updates of its decision). Contributors'
 * averaged scores within the decay window become reliability inputs of the next run's decision;
 * entries past the window decay, the oldest past `--memory-max-entries` are evicted.
 */
import { existsSync, readFileSync } from 'node:fs';
import * as z from 'zod/mini';
import type { ReliabilityInput, ReliabilityUpdate } from '../../machines/decisions.js';
import { writeFileDurably } from '../checkpoint/durable-write.js';
import { EXIT, OrchestratorError } from '../exit-codes.js';

const entrySchema = z.object({
  run_id: z.string(),
  run_index: z.int().check(z.gte(0)),
  failure_signature: z.nullable(z.string()),
  terminal_state_code: z.string(),
  blocked_reason_codes: z.array(z.string()),
  reliability_updates: z.array(
    z.object({ contributor_id: z.string(), capability: z.string(), previous_score: z.int(), new_score: z.int(), reason_code: z.string() }),
  ),
  recorded_at_unix_secs: z.int(),
});

export const memoryStoreSchema = z.object({
  entries: z.array(entrySchema),
  next_run_index: z.int().check(z.gte(0)),
  updated_at_unix_secs: z.int(),
});

export type MemoryStore = z.infer<typeof memoryStoreSchema>;
export type MemoryEntry = z.infer<typeof entrySchema>;

export interface MemoryPolicy {
  maxEntries: number;
  decayWindowRuns: number;
}

export const DEFAULT_MEMORY_MAX_ENTRIES = 500;
export const DEFAULT_MEMORY_DECAY_WINDOW_RUNS = 100;

/** No file yet: an empty memory. A file that does not parse is refused (and never overwritten). */
export function loadMemory(path: string): MemoryStore {
  if (!existsSync(path)) return { entries: [], next_run_index: 0, updated_at_unix_secs: 0 };
  try {
    return memoryStoreSchema.parse(JSON.parse(readFileSync(path, 'utf8')));
  } catch (error) {
    // Not the parser's own words: they differ between Node versions.
    const code = (error as NodeJS.ErrnoException).code;
    const why =
      error instanceof SyntaxError
        ? 'it is not valid JSON'
        : typeof code === 'string'
          ? `cannot read it (${code})`
          : 'not a long-horizon memory ({entries, next_run_index, updated_at_unix_secs})';
    throw new OrchestratorError(`cannot read --memory-path ${path}: ${why}; the file was left as it is`, EXIT.failed);
  }
}

export function saveMemory(path: string, store: MemoryStore): void {
  writeFileDurably(path, `${JSON.stringify(store, null, 2)}\n`);
}

/** The averaged new score per (contributor, capability) within the decay window, sorted. */
export function memoryReliability(store: MemoryStore, policy: MemoryPolicy): ReliabilityInput[] {
  const windowStart = Math.max(0, store.next_run_index - policy.decayWindowRuns);
  const sums = new Map<string, { contributor_id: string; capability: string; sum: number; count: number }>();
  for (const entry of store.entries) {
    if (entry.run_index < windowStart) continue;
    for (const update of entry.reliability_updates) {
      const key = JSON.stringify([update.contributor_id, update.capability]);
      const found = sums.get(key) ?? { contributor_id: update.contributor_id, capability: update.capability, sum: 0, count: 0 };
      found.sum += update.new_score;
      found.count += 1;
      sums.set(key, found);
    }
  }
  return [...sums.values()]
    .sort((a, b) => (a.contributor_id === b.contributor_id ? cmp(a.capability, b.capability) : cmp(a.contributor_id, b.contributor_id)))
    .map(({ contributor_id, capability, sum, count }) => ({ contributor_id, capability, score: Math.min(100, Math.max(0, Math.trunc(sum / count))) }));
}

function cmp(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

export interface RunOutcome {
  run_id: string;
  /** V0's Debug spelling: Done, Blocked, Failed, Timeout, or Unknown. */
  terminal_state: string | null;
  blocked_reason_codes: string[];
  reliability_updates: ReliabilityUpdate[];
  /** Commands of this invocation's failed, spawn_failed or artifact_missing records. */
  failed_commands: string[];
}

/** Appends the run's entry, then applies the policy; returns V0's policy codes (MEMORY_ENTRY_DECAYED, MEMORY_ENTRY_EVICTED). */
export function recordRun(store: MemoryStore, run: RunOutcome, policy: MemoryPolicy, nowSecs: number): { store: MemoryStore; codes: string[] } {
  const parts = [...run.blocked_reason_codes, ...run.failed_commands];
  const entry: MemoryEntry = {
    run_id: run.run_id,
    run_index: store.next_run_index,
    failure_signature: run.terminal_state === 'done' ? null : parts.length > 0 ? parts.join('|') : 'unknown_failure',
    terminal_state_code: run.terminal_state === null ? 'Unknown' : run.terminal_state.charAt(0).toUpperCase() + run.terminal_state.slice(1),
    blocked_reason_codes: run.blocked_reason_codes,
    reliability_updates: run.reliability_updates,
    recorded_at_unix_secs: nowSecs,
  };
  const next = store.next_run_index + 1;
  const codes: string[] = [];
  const windowStart = Math.max(0, next - policy.decayWindowRuns);
  let entries = [...store.entries, entry];
  const kept = entries.filter((e) => e.run_index >= windowStart);
  if (kept.length < entries.length) codes.push('MEMORY_ENTRY_DECAYED');
  entries = kept;
  if (entries.length > policy.maxEntries) {
    entries = entries.slice(entries.length - policy.maxEntries);
    codes.push('MEMORY_ENTRY_EVICTED');
  }
  return { store: { entries, next_run_index: next, updated_at_unix_secs: nowSecs }, codes };
}
