/**
 * A suite that needs something this machine may lack (a server, root for a small tmpfs): without
 * it, a loud line naming the skipped suite on a developer's machine, a failing test under CI=true.
 */
import { describe, it } from 'vitest';

export function describeIf(name: string, available: boolean, missing: string, remedy: string, suite: () => void): void {
  if (available) {
    describe(name, suite);
    return;
  }
  const message = `${name}: ${missing}`;
  if (process.env.CI === 'true') {
    describe(name, () => {
      it('has what it needs (CI must not skip)', () => {
        throw new Error(`${message}; CI=true, so this is a failure, not a skip (${remedy})`);
      });
    });
    return;
  }
  process.stderr.write(`\n${'!'.repeat(78)}\n!!! SKIPPED ${message}\n!!! ${remedy}; CI=true fails instead of skipping\n${'!'.repeat(78)}\n\n`);
  describe.skip(name, suite);
}
