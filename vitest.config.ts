import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    testTimeout: 30_000,
    hookTimeout: 30_000,
    pool: 'forks',
    // Two cores here and in CI: spawned programs and timeouts need headroom.
    maxWorkers: 2,
    globalSetup: ['test/global-setup.ts'],
  },
});
