/**
 * Where the run queue lives: a Redis address (BullMQ). `--queue redis://…`, else
 * ORCHESTRATOR_QUEUE_URL, else the checkpoint store's address when that is Redis, else
 * ORCHESTRATOR_REDIS_URL. Two parameters of our own are taken off before the driver sees it:
 * `prefix` (BullMQ's key prefix, default `bull`) and `queue` (the queue's name, default
 * `orchestrator-runs`). Workers, `submit`, `status` and the queue commands agree on a queue by
 * agreeing on this address.
 */
import { EXIT, OrchestratorError } from '../exit-codes.js';
import type { StoreChoice } from '../checkpoint/open-store.js';
import { redactUrl, takeParam } from '../checkpoint/store-url.js';

export interface QueueAddress {
  /** For the driver: no password shown anywhere else. */
  url: string;
  prefix: string;
  name: string;
  /** What messages show: the address without its password. */
  location: string;
  /** The checkpoint store at the same Redis (its `prefix` kept), for commands given no store. */
  storeAddress: string;
}

export const DEFAULT_QUEUE_NAME = 'orchestrator-runs';

export function chooseQueue(flag: string | undefined, store: StoreChoice | null, env: NodeJS.ProcessEnv, command: string): QueueAddress {
  const fromStore = store?.kind === 'redis' ? store.address : undefined;
  const address = flag ?? (env.ORCHESTRATOR_QUEUE_URL || undefined) ?? fromStore ?? (env.ORCHESTRATOR_REDIS_URL || undefined);
  if (address === undefined) {
    throw new OrchestratorError(
      `${command} needs Redis for the run queue: give --queue redis://… (or --store redis://…), or set ORCHESTRATOR_QUEUE_URL or ORCHESTRATOR_REDIS_URL; checkpoints may stay on Postgres (--store postgres://…)`,
      EXIT.usage,
    );
  }
  if (!/^rediss?:\/\//.test(address)) throw new OrchestratorError(`${flag !== undefined ? '--queue' : 'the queue address'}: expected redis://… (got ${redactUrl(address).split(':')[0]}:…)`, EXIT.usage);
  const { address: storeAddress, value: name } = takeParam(address, 'queue', DEFAULT_QUEUE_NAME, /^[A-Za-z0-9_.-]{1,64}$/);
  const { address: url, value: prefix } = takeParam(storeAddress, 'prefix', 'bull', /^[A-Za-z0-9_:.{}-]{1,64}$/);
  const bullPrefix = prefix.replace(/:+$/, '') || 'bull';
  const shown = bullPrefix === 'bull' ? '' : ` (prefix ${bullPrefix})`;
  return { url, prefix: bullPrefix, name, location: `${redactUrl(url)} queue ${name}${shown}`, storeAddress };
}
