/**
 * Which store a command uses: `--store file:DIR | postgres://… | redis://…`, else the environment
 * (seed 003's names: ORCHESTRATOR_PG_DSN, then ORCHESTRATOR_REDIS_URL, then ORCHESTRATOR_STATE_DIR),
 * else the file store in `fallbackDir`. Messages name where the choice came from, never the value
 * of a variable (a DSN may hold a password).
 */
import { EXIT, OrchestratorError } from '../exit-codes.js';
import { FileCheckpointStore } from './file-store.js';
import { PostgresCheckpointStore } from './postgres-store.js';
import { RedisCheckpointStore } from './redis-store.js';
import type { CheckpointStore } from './store.js';

export type StoreKind = 'file' | 'postgres' | 'redis';

export interface StoreChoice {
  kind: StoreKind;
  address: string;
  /** `flag --store`, `environment ORCHESTRATOR_PG_DSN`, `default`. */
  source: string;
}

export function chooseStore(flag: string | undefined, env: NodeJS.ProcessEnv, fallbackDir: string): StoreChoice {
  if (flag !== undefined) return { ...parseAddress(flag, 'flag --store'), source: 'flag --store' };
  for (const name of ['ORCHESTRATOR_PG_DSN', 'ORCHESTRATOR_REDIS_URL', 'ORCHESTRATOR_STATE_DIR'] as const) {
    const value = env[name];
    if (value === undefined || value === '') continue;
    const address = name === 'ORCHESTRATOR_STATE_DIR' ? `file:${value}` : value;
    return { ...parseAddress(address, `environment ${name}`), source: `environment ${name}` };
  }
  return { kind: 'file', address: `file:${fallbackDir}`, source: 'default' };
}

function parseAddress(address: string, source: string): Omit<StoreChoice, 'source'> {
  if (address.startsWith('file:')) {
    if (address.length === 'file:'.length) throw new OrchestratorError(`${source}: file: needs a directory, e.g. file:./state`, EXIT.usage);
    return { kind: 'file', address };
  }
  if (/^postgres(ql)?:\/\//.test(address)) return { kind: 'postgres', address };
  if (/^rediss?:\/\//.test(address)) return { kind: 'redis', address };
  // Not echoed: it may be a DSN with a password in an unexpected form.
  throw new OrchestratorError(`${source}: expected file:DIR, postgres://… or redis://…`, EXIT.usage);
}

export function openStore(choice: StoreChoice, options: { maxConnections?: number } = {}): CheckpointStore {
  if (choice.kind === 'postgres') return new PostgresCheckpointStore(choice.address, options);
  if (choice.kind === 'redis') return new RedisCheckpointStore(choice.address);
  return FileCheckpointStore.inDirectory(choice.address.slice('file:'.length));
}
