/**
 * What the queue commands share: their store (Postgres only, for now) and flag parsing.
 */
import { InvalidArgumentError } from 'commander';
import { chooseStore, openStore } from '../../checkpoint/open-store.js';
import { PostgresCheckpointStore } from '../../checkpoint/postgres-store.js';
import { EXIT, OrchestratorError } from '../../exit-codes.js';

export function queueStore(flag: string | undefined, command: string, maxConnections?: number): PostgresCheckpointStore {
  const choice = chooseStore(flag, process.env, './state');
  if (choice.kind !== 'postgres') {
    throw new OrchestratorError(
      `${command} needs a Postgres store (the queue lives there): give --store postgres://… or set ORCHESTRATOR_PG_DSN (got a ${choice.kind} store from ${choice.source})`,
      EXIT.usage,
    );
  }
  return openStore(choice, maxConnections === undefined ? {} : { maxConnections }) as PostgresCheckpointStore;
}

export function wholeNumber(flag: string, min: number, max: number) {
  return (value: string): number => {
    if (!/^\d+$/.test(value)) throw new InvalidArgumentError(`${flag} takes a whole number`);
    const n = Number(value);
    if (n < min || n > max) throw new InvalidArgumentError(`${flag} must be between ${min} and ${max}`);
    return n;
  };
}
