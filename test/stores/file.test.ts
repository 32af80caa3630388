import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe } from 'vitest';
import { FileCheckpointStore } from '../../src/checkpoint/file-store.js';
import { tempDir } from '../support/cli.js';
import { storeContract } from './contract.js';

describe('CheckpointStore contract: file store (lowdb)', () => {
  storeContract(async () => {
    const dir = tempDir('ao-store-');
    const file = (runId: string) => join(dir, runId, 'orchestrator_checkpoint.json');
    return {
      store: FileCheckpointStore.inDirectory(dir),
      raw: async (runId) => {
        try {
          return readFileSync(file(runId), 'utf8');
        } catch {
          return null;
        }
      },
      tamper: async (runId, text) => writeFileSync(file(runId), text),
      cleanup: async () => rmSync(dir, { recursive: true, force: true }),
    };
  });
});
