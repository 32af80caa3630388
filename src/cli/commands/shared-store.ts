/**
 * What the queue commands share: where the queue is (Redis, src/queue/queue-address.ts), where the
 * checkpoints are (`--store`, else the environment, else the queue's Redis), and flag parsing.
 */
import { InvalidArgumentError, Option } from 'commander';
import { type StoreChoice, chooseStore } from '../../checkpoint/open-store.js';
import { type QueueAddress, chooseQueue } from '../../queue/queue-address.js';

export const QUEUE_FLAG = '--queue <address>';
export const QUEUE_HELP = 'redis://…[?prefix=P&queue=NAME] (default: ORCHESTRATOR_QUEUE_URL, the --store when it is Redis, ORCHESTRATOR_REDIS_URL)';
export const STORE_HELP = 'checkpoints: file:DIR | postgres://… | redis://… (default: ORCHESTRATOR_PG_DSN, ORCHESTRATOR_REDIS_URL, ORCHESTRATOR_STATE_DIR, else the queue\'s Redis)';

const STORE_ENV = ['ORCHESTRATOR_PG_DSN', 'ORCHESTRATOR_REDIS_URL', 'ORCHESTRATOR_STATE_DIR'] as const;

export interface QueueSetup {
  queue: QueueAddress;
  store: StoreChoice;
}

export function queueSetup(flags: { queue?: string | undefined; store?: string | undefined }, command: string, env: NodeJS.ProcessEnv = process.env): QueueSetup {
  const named = flags.store !== undefined || STORE_ENV.some((name) => env[name]) ? chooseStore(flags.store, env, './state') : null;
  const queue = chooseQueue(flags.queue, named, env, command);
  return { queue, store: named ?? { kind: 'redis', address: queue.storeAddress, source: 'the queue' } };
}

/**
 * For commands that read (status, export): the queue when one is named (flag, environment, a
 * Redis store), else none; the store as for the queue commands, else the file store in ./state.
 */
export function boardSetup(flags: { queue?: string | undefined; store?: string | undefined }, env: NodeJS.ProcessEnv = process.env): { queue: QueueAddress | null; store: StoreChoice } {
  try {
    return queueSetup(flags, '', env);
  } catch (error) {
    if (flags.queue !== undefined) throw error;
    return { queue: null, store: chooseStore(flags.store, env, './state') };
  }
}

export function wholeNumber(flag: string, min: number, max: number) {
  return (value: string): number => {
    if (!/^\d+$/.test(value)) throw new InvalidArgumentError(`${flag} takes a whole number`);
    const n = Number(value);
    if (n < min || n > max) throw new InvalidArgumentError(`${flag} must be between ${min} and ${max}`);
    return n;
  };
}

export function queueOption(): Option {
  return new Option(QUEUE_FLAG, QUEUE_HELP);
}
