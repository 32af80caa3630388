import { randomBytes } from 'node:crypto';
import { Redis } from 'ioredis';
import { RedisCheckpointStore } from '../../src/checkpoint/redis-store.js';
import { storeContract } from './contract.js';
import { REDIS_URL, describeWithServer, reachable } from './servers.js';

const up = await reachable(REDIS_URL, 6379);

describeWithServer('CheckpointStore contract: Redis store', up, new URL(REDIS_URL).host || '127.0.0.1:6379', () => {
  storeContract(async () => {
    // Each test under a key prefix of its own.
    const prefix = `ao-test-${randomBytes(4).toString('hex')}:`;
    const admin = new Redis(REDIS_URL);
    return {
      store: new RedisCheckpointStore(`${REDIS_URL}?prefix=${prefix}`),
      raw: async (runId) => admin.hget(`${prefix}ckpt:${runId}`, 'document'),
      tamper: async (runId, text) => {
        await admin.hset(`${prefix}ckpt:${runId}`, 'document', text);
      },
      cleanup: async () => {
        const keys = await admin.keys(`${prefix}*`);
        if (keys.length > 0) await admin.del(...keys);
        await admin.quit();
      },
    };
  });
});
