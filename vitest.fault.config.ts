// `npm run test:fault`: the fault suites at full size (200+ kills, a 1 GiB writer) and the tests
// of known bugs that are kept out of `npm test` until they are fixed (test/fault/**/*.fault.ts).
import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/fault/**/*.test.ts', 'test/fault/**/*.fault.ts'],
    testTimeout: 600_000,
    hookTimeout: 60_000,
    pool: 'forks',
    maxWorkers: 2,
    globalSetup: ['test/global-setup.ts'],
    env: { FAULT_KILLS: '200', FAULT_SCALE: 'full', BAD_INPUT_SCALE: '3' },
  },
});
